// Command drplan runs disaster-recovery plans written as code: it
// validates and formats *.drplan.hcl plans. See internal/command for the
// verbs and README.md for a tour.
package main

import (
	"os"

	"github.com/drplan/drplan/internal/command"
)

func main() {
	os.Exit(command.Run(os.Args[1:], os.Stdout, os.Stderr))
}
