package command

import (
	"context"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/drplan/drplan/compiler"
	"github.com/drplan/drplan/plans"
	"github.com/drplan/drplan/simulate"
)

// A simulated run's http and tcp checks are answered by the simulation,
// never by the network: with --sim by the world in process
// (simulate.World.DialCheck); with --live against drplan sim serve by the
// world's service gateway on loopback, which sim serve prints as
// DRPLAN_SIM_SERVICES=127.0.0.1:PORT. Either way the compiler refuses a
// check aimed at any other address than loopback or a simulated VM's.

// openServedTarget opens the target of a verb (openTarget) with its
// checks' connection attached (attachServices).
func (c *cli) openServedTarget(ctx context.Context, p *plans.Plan, sim bool, seed int64) (*target, error) {
	t, err := openTarget(ctx, p, sim, seed)
	if err != nil {
		return nil, err
	}
	if err := c.attachServices(t); err != nil {
		t.close()
		return nil, err
	}
	return t, nil
}

// attachServices sets how the target's checks connect: the world's
// services for --sim, the gateway that DRPLAN_SIM_SERVICES names for a
// live target, else the network.
func (c *cli) attachServices(t *target) error {
	if t.world != nil {
		t.dial = t.world.DialCheck
		return nil
	}
	gw := c.getenv(simulate.ServicesEnv)
	if gw == "" {
		return nil
	}
	dial, err := simulate.GatewayDial(gw)
	if err != nil {
		return err
	}
	t.dial, t.gateway = dial, gw
	// The run keeps the served world's plan time.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if clk, err := simulate.GatewayClock(ctx, gw); err == nil {
		t.clk = clk
		for name, cfg := range t.cfgs {
			cfg.Clock = clk
			t.cfgs[name] = cfg
		}
	}
	return nil
}

// getenv reads a variable of the cli's environment.
func (c *cli) getenv(name string) string {
	for _, kv := range c.environ {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	return ""
}

// checkOptions makes the compiler refuse checks aimed off the machine
// when the target is simulated (in process or behind a gateway).
func (t *target) checkOptions(opts *compiler.Options) hcl.Diagnostics {
	switch {
	case t.world != nil:
		opts.Simulated, opts.SimHosts = true, t.world.Hosts()
	case t.gateway != "":
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		hosts, err := simulate.GatewayHosts(ctx, t.gateway)
		if err != nil {
			return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Simulation's services unreachable",
				Detail: err.Error() + ". Start drplan sim serve and set " + simulate.ServicesEnv + " as it prints, or unset it for a run against real vCenters."}}
		}
		opts.Simulated, opts.SimHosts = true, hosts
	}
	return nil
}
