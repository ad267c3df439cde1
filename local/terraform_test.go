package local_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drplan/drplan/local"
	"github.com/drplan/drplan/steps"
)

// dnsConfig is a Terraform configuration that needs no provider download:
// terraform_data with a local-exec provisioner that writes a file named
// after the workspace.
const dnsConfig = `
variable "site" {
  type = string
}

resource "terraform_data" "dns" {
  input = var.site
  provisioner "local-exec" {
    command = "echo ${var.site} > applied-${terraform.workspace}.txt"
  }
}

output "fqdn" {
  value = "erp.${terraform_data.dns.output}.example.com"
}

output "records" {
  value = { erp = "10.2.0.10" }
}

output "key" {
  value     = "not for the journal"
  sensitive = true
}
`

// TestTerraformApply runs real Terraform in a failover: init and apply
// with the step's vars in the default workspace; the outputs go to the
// journal (sensitive ones hidden) and to a later command's context file
// as step.NAME.outputs.
func TestTerraformApply(t *testing.T) {
	if _, err := exec.LookPath("terraform"); err != nil {
		t.Skip("no terraform binary on PATH, so the Terraform step cannot run here")
	}
	t.Setenv("CHECKPOINT_DISABLE", "1")
	planDir := t.TempDir()
	writeFile(t, filepath.Join(planDir, "dns", "main.tf"), dnsConfig, 0o644)
	prog := program(
		custom("dns", steps.Args{Terraform: &steps.Terraform{Dir: "dns", Binary: "terraform", Vars: map[string]string{"site": "west"}}}),
		custom("use", sh(`cp "$DRPLAN_CONTEXT" context.json`), func(s *steps.Step) { s.After = []steps.Addr{steps.MustParseAddr("step.dns")} }),
	)
	res, events := runCustom(t, &local.Executor{PlanDir: planDir}, prog)
	if !res.Passed {
		t.Fatalf("dns: %v; use: %v", res.Steps[steps.MustParseAddr("step.dns")].Err, res.Steps[steps.MustParseAddr("step.use")].Err)
	}
	if b, err := os.ReadFile(filepath.Join(planDir, "dns", "applied-default.txt")); err != nil || strings.TrimSpace(string(b)) != "west" {
		t.Errorf("the apply in the default workspace wrote %q, %v", b, err)
	}
	d := finished(t, events, "step.dns").Detail
	if d["output.fqdn"] != "erp.west.example.com" || d["output.records"] != `{"erp":"10.2.0.10"}` || d["output.key"] != "(sensitive)" || d["workspace"] != "" {
		t.Errorf("journal detail: %v", d)
	}
	if strings.Contains(d["output"], "not for the journal") {
		t.Errorf("the sensitive output is in the journal")
	}
	b, err := os.ReadFile(filepath.Join(planDir, "context.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Step map[string]struct{ Outputs map[string]any } `json:"step"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	out := doc.Step["dns"].Outputs
	if out["fqdn"] != "erp.west.example.com" || out["records"].(map[string]any)["erp"] != "10.2.0.10" || out["key"] != "(sensitive)" {
		t.Errorf("the later step's context file: %s", b)
	}
}
