package local

import (
	"encoding/json"
	"strings"
	"sync"

	"github.com/drplan/drplan/internal/redact"
	"github.com/drplan/drplan/steps"
)

// Env is what local steps may know of the run. The runner makes one per
// run (NewEnv), records in it what the run learns (SetAddress), and hands
// it to every local step; it is safe for concurrent use.
type Env struct {
	RunID string
	// Placeholder is what "{run}" in step arguments stands for (the run
	// id, or for a cleanup the id of the drill it cleans up).
	Placeholder string
	Mode        string
	Program     *steps.Program

	mu      sync.Mutex
	vms     map[string]string                         // recovered VM -> address
	outputs map[steps.Addr]map[string]json.RawMessage // step address -> outputs
}

// NewEnv returns the environment of a run of prog.
func NewEnv(runID, placeholder string, prog *steps.Program) *Env {
	return &Env{RunID: runID, Placeholder: placeholder, Mode: prog.Mode, Program: prog,
		vms: map[string]string{}, outputs: map[steps.Addr]map[string]json.RawMessage{}}
}

// SetAddress records the address a recovered VM reported ("" for none).
func (e *Env) SetAddress(vm, ip string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.vms[vm] = ip
}

// SetOutputs records the outputs of a step (a Terraform step's outputs)
// for the steps after it.
func (e *Env) SetOutputs(step steps.Addr, out map[string]json.RawMessage) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.outputs[step] = out
}

// Context is the JSON document a command step finds in the file that
// DRPLAN_CONTEXT names:
//
//	{"run_id": "…", "mode": "test", "sites": ["west"],
//	 "vms":  {"db-01": {"ip": "10.2.1.10"}},
//	 "step": {"dns": {"outputs": {"records": {…}}}}}
//
// vms holds every VM recovered so far with the address it reported (""
// when it reports none); step holds the outputs of the Terraform steps
// that finished.
func (e *Env) Context() ([]byte, error) {
	type vm struct {
		IP string `json:"ip"`
	}
	type step struct {
		Outputs map[string]json.RawMessage `json:"outputs"`
	}
	doc := struct {
		RunID string          `json:"run_id"`
		Mode  string          `json:"mode"`
		Sites []string        `json:"sites"`
		VMs   map[string]vm   `json:"vms"`
		Step  map[string]step `json:"step"`
	}{RunID: e.RunID, Mode: e.Mode, Sites: []string{}, VMs: map[string]vm{}, Step: map[string]step{}}
	if s := recoverySites(e.Program); s != "" {
		doc.Sites = strings.Split(s, ",")
	}
	e.mu.Lock()
	for name, ip := range e.vms {
		doc.VMs[name] = vm{IP: ip}
	}
	for addr, out := range e.outputs {
		doc.Step[addr.Name] = step{Outputs: out}
	}
	e.mu.Unlock()
	return json.MarshalIndent(doc, "", "  ")
}

// secrets is the sensitive values of the run's program (nil: none).
func (e *Env) secrets() *redact.Set {
	if e == nil || e.Program == nil {
		return nil
	}
	return e.Program.Secrets()
}
