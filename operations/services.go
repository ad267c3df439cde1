package operations

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
// never by the network: with a sim target by the world in process
// (simulate.World.DialCheck); with a live target against drplan sim serve
// by the world's service gateway on loopback, which sim serve prints as
// DRPLAN_SIM_SERVICES=127.0.0.1:PORT. Either way the compiler refuses a
// check aimed at any other address than loopback or a simulated VM's.

// OpenTarget opens the target of plan p: its simulated world when sim is
// set (seed 0 draws one at random), else its live sites. Checks connect
// as environ (KEY=VALUE, as os.Environ) says: through the service gateway
// that DRPLAN_SIM_SERVICES names, else the network. Sites are connected
// to on first use; the caller closes the target.
func OpenTarget(ctx context.Context, p *plans.Plan, sim bool, seed int64, environ []string) (*Target, error) {
	t, err := openTarget(ctx, p, sim, seed)
	if err != nil {
		return nil, err
	}
	if err := t.attachServices(Getenv(environ, simulate.ServicesEnv)); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// attachServices sets how the target's checks connect: the world's
// services for a sim target, the gateway gw for a live one, else (gw
// "") the network.
func (t *Target) attachServices(gw string) error {
	if t.World != nil {
		t.Dial = t.World.DialCheck
		return nil
	}
	if gw == "" {
		return nil
	}
	dial, err := simulate.GatewayDial(gw)
	if err != nil {
		return err
	}
	t.Dial, t.gateway = dial, gw
	// The run keeps the served world's plan time.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if clk, err := simulate.GatewayClock(ctx, gw); err == nil {
		t.Clock = clk
		for name, cfg := range t.cfgs {
			cfg.Clock = clk
			t.cfgs[name] = cfg
		}
	}
	return nil
}

// Getenv reads a variable of environ (KEY=VALUE, as os.Environ).
func Getenv(environ []string, name string) string {
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	return ""
}

// checkOptions makes the compiler refuse checks aimed off the machine
// when the target is simulated (in process or behind a gateway).
func (t *Target) checkOptions(opts *compiler.Options) hcl.Diagnostics {
	switch {
	case t.World != nil:
		opts.Simulated, opts.SimHosts = true, t.World.Hosts()
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
