package command

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/drplan/drplan/operations"
	"github.com/drplan/drplan/plans"
	"github.com/drplan/drplan/simulate"
)

func runSim(c *cli, args []string) int {
	if len(args) == 0 || args[0] != "serve" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			fmt.Fprintln(c.stdout, "Usage: drplan sim serve [-state FILE] [-var NAME=VALUE] [DIR]\n\nRun 'drplan sim serve --help' for its flags.")
			return ExitOK
		}
		fmt.Fprintln(c.stderr, "Usage: drplan sim serve [-state FILE] [DIR]\n\ndrplan sim has one subcommand, serve.")
		return ExitError
	}
	f := c.newFlags("sim serve", "[-state FILE] [-var NAME=VALUE] [-var-file FILE] [DIR]",
		"Starts the simulated sites of the plan in DIR as vSphere API endpoints on\nloopback and prints one GOVC_URL per site, so that govc and any other\nvSphere client can look at and change the simulated world, and the\nservice gateway as DRPLAN_SIM_SERVICES=127.0.0.1:PORT: set it for\ndrplan … --live and the run's http and tcp checks are answered by the\nsimulated VMs' services. Runs until interrupted (SIGINT or SIGTERM),\nthen shuts down cleanly.")
	f.planFlags()
	state := f.String("state", "", "also write the endpoints as JSON to `FILE`")
	pos, code, ok := c.parse(f, args[1:], 1)
	if !ok {
		return code
	}
	dir := planDir(pos)
	plan, diags := plans.Load(dir, plans.LoadOptions{Vars: f.vars, Environ: c.environ})
	if diags.HasErrors() {
		return c.validateView(f).Validated(plan, diags)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sv, err := operations.Serve(ctx, plan)
	if err != nil {
		fmt.Fprintf(c.stderr, "drplan sim serve: %v\n", err)
		return ExitError
	}
	defer sv.Close()
	w, st := sv.World, sv.State
	for _, s := range w.Sites {
		fmt.Fprintf(c.stdout, "site %s GOVC_URL=%s GOVC_INSECURE=1 GOVC_DATACENTER=%s\n", s.Name, s.URL, s.Datacenter)
	}
	fmt.Fprintf(c.stdout, "services %s=%s (for drplan … --live: checks answered by the simulated VMs)\n", simulate.ServicesEnv, st.Services)
	if *state != "" {
		b, _ := json.MarshalIndent(st, "", "  ")
		if err := c.writeOutput(*state, append(b, '\n'), 0o600); err != nil {
			fmt.Fprintf(c.stderr, "drplan sim serve: %v\n", err)
			return ExitError
		}
	}
	fmt.Fprintf(c.stdout, "Serving %d simulated sites of plan %q (time scale %g). Press Ctrl-C to stop.\n", len(w.Sites), plan.Name, w.TimeScale)
	<-ctx.Done()
	fmt.Fprintln(c.stdout, "Stopping the simulated sites.")
	return ExitOK
}
