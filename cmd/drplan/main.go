package main

import (
	"os"
	"runtime/debug"

	"github.com/drplan/drplan/internal/command"
)

func main() {
	// drplan's verbs are short-lived and allocate in bursts while they
	// decode a plan; collecting less often buys speed for little memory
	// (a 10,000-VM plan stays well under 100 MB). GOGC still overrides it.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	os.Exit(command.Run(os.Args[1:], os.Stdout, os.Stderr))
}
