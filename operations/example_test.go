package operations_test

import (
	"context"
	"fmt"
	"os"

	"github.com/drplan/drplan/operations"
)

// Drill the webshop example against its simulated sites, built in
// process, from Go: what drplan drill does, without the command line.
func ExampleRunDrill() {
	state, err := os.MkdirTemp("", "drplan-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(state)
	rep, err := operations.RunDrill(context.Background(), "../examples/webshop", operations.DrillOptions{
		Options:  operations.Options{Sim: true, Seed: 1},
		StateDir: state,
	})
	if err != nil {
		fmt.Println("drill failed to run:", err)
		return
	}
	fmt.Println("drill", rep.Result)
	for _, ch := range rep.Checks {
		fmt.Printf("%s: %v\n", ch.Name, ch.Passed)
	}
	// Output:
	// drill passed
	// protected site unchanged: true
	// cleanup: true
	// every VM ready: true
	// every custom step passed: true
	// RTO: true
	// RPO: true
}
