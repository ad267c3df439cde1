package examples

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// ciFile parses one of the CI examples.
func ciFile(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("ci", name))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s is not valid YAML: %v", name, err)
	}
	return doc
}

// script joins every command string found under v, for searching.
func script(v any) string {
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			out = append(out, x)
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return strings.Join(out, "\n")
}

func mapAt(t *testing.T, v any, path ...string) map[string]any {
	t.Helper()
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s: not a mapping", strings.Join(path, "."))
		}
		v = m[p]
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s is missing or not a mapping", strings.Join(path, "."))
	}
	return m
}

// TestGitHubWorkflow: validate on push and pull request with annotations
// from validate -json; a nightly drill on the simulator that publishes the
// HTML and JUnit reports.
func TestGitHubWorkflow(t *testing.T) {
	doc := ciFile(t, "drplan.yml")
	on := mapAt(t, doc, "on")
	for _, ev := range []string{"push", "pull_request", "schedule", "workflow_dispatch"} {
		if _, ok := on[ev]; !ok {
			t.Errorf("the workflow does not run on %s", ev)
		}
	}
	if sched, _ := on["schedule"].([]any); len(sched) == 0 || mapAt(t, sched[0])["cron"] == nil {
		t.Errorf("the schedule %v has no cron", on["schedule"])
	}
	validate := mapAt(t, doc, "jobs", "validate")
	if s := script(validate); !strings.Contains(s, "drplan validate -json") || !strings.Contains(s, "::") || !strings.Contains(s, ".range.start.line") {
		t.Errorf("validate does not annotate the diff from validate -json:\n%s", s)
	}
	drill := mapAt(t, doc, "jobs", "drill")
	s := script(drill)
	for _, want := range []string{"drplan drill --sim", "actions/upload-artifact", "report.html", "report.junit.xml", "GITHUB_STEP_SUMMARY", "report.md"} {
		if !strings.Contains(s, want) {
			t.Errorf("the drill job lacks %q", want)
		}
	}
	if cond, _ := drill["if"].(string); !strings.Contains(cond, "schedule") {
		t.Errorf("the drill runs on %q; want the schedule", cond)
	}
}

// TestGitLabPipeline: the same jobs for GitLab CI, the JUnit report as the
// pipeline's tests and the validate diagnostics as Code Quality.
func TestGitLabPipeline(t *testing.T) {
	doc := ciFile(t, ".gitlab-ci.yml")
	stages, _ := doc["stages"].([]any)
	if !slices.Equal(stages, []any{"validate", "drill"}) {
		t.Errorf("stages %v", stages)
	}
	validate := mapAt(t, doc, "validate")
	if s := script(validate["script"]); !strings.Contains(s, "drplan validate -json") || !strings.Contains(s, "gl-code-quality-report.json") {
		t.Errorf("validate does not turn validate -json into a Code Quality report:\n%s", s)
	}
	if cq := mapAt(t, validate, "artifacts", "reports")["codequality"]; cq != "gl-code-quality-report.json" {
		t.Errorf("codequality report %v", cq)
	}
	drill := mapAt(t, doc, "drill")
	if s := script(drill["script"]); !strings.Contains(s, "drplan drill --sim") {
		t.Errorf("drill script:\n%s", s)
	}
	if !strings.Contains(script(drill["rules"]), `$CI_PIPELINE_SOURCE == "schedule"`) {
		t.Error("the drill does not run on a pipeline schedule")
	}
	if j := mapAt(t, drill, "artifacts", "reports")["junit"]; j != "drill-report/report.junit.xml" {
		t.Errorf("junit report %v", j)
	}
	if s := script(drill["after_script"]); !strings.Contains(s, "report.*") {
		t.Errorf("the reports are not collected:\n%s", s)
	}
}
