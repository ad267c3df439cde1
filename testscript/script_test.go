package testscript

import (
	"os"
	"path/filepath"
	"testing"

	ts "github.com/rogpeppe/go-internal/testscript"

	"github.com/drplan/drplan/internal/command"
)

func TestMain(m *testing.M) {
	ts.Main(m, map[string]func(){
		"drplan": func() { os.Exit(command.Run(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

func TestScripts(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	conformance := filepath.Join(root, "..", "shared", "spec", "conformance", "full")
	if _, err := os.Stat(conformance); err != nil {
		t.Fatalf("the shared conformance plan must sit beside the repository: %v", err)
	}
	ts.Run(t, ts.Params{
		Dir: "testdata",
		Setup: func(env *ts.Env) error {
			env.Setenv("CONFORMANCE", conformance)
			env.Setenv("EXAMPLES", filepath.Join(root, "examples"))
			env.Setenv("NO_COLOR", "1")
			return nil
		},
		RequireExplicitExec: true,
	})
}
