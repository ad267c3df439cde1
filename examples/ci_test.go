package examples

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

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

// pinnedVersion checks that DRPLAN_VERSION in vars pins a drplan that can
// exist: a release tag, or the pseudo-version of a commit while there are no
// releases; never latest, a branch, or the v0.1.0 that was never tagged.
func pinnedVersion(t *testing.T, file string, vars map[string]any) string {
	t.Helper()
	v, _ := vars["DRPLAN_VERSION"].(string)
	switch {
	case v == "v0.1.0":
		t.Errorf("%s: DRPLAN_VERSION is %s, a tag that does not exist", file, v)
	case pseudoVersion.MatchString(v):
		if _, err := time.Parse("20060102150405", pseudoVersion.FindStringSubmatch(v)[1]); err != nil {
			t.Errorf("%s: DRPLAN_VERSION %s: bad commit time: %v", file, v, err)
		}
	case releaseTag.MatchString(v):
	default:
		t.Errorf("%s: DRPLAN_VERSION is %q; want a release tag or the pseudo-version of a commit (v0.0.0-YYYYMMDDhhmmss-COMMIT12)", file, v)
	}
	return v
}

var (
	pseudoVersion = regexp.MustCompile(`^v0\.0\.0-(\d{14})-[0-9a-f]{12}$`)
	releaseTag    = regexp.MustCompile(`^v\d+\.\d+\.\d+$`)
)

// installedOnce checks that exactly one of jobs runs go install, and that it
// installs DRPLAN_VERSION. It returns that job's name.
func installedOnce(t *testing.T, file string, jobs map[string]any) string {
	t.Helper()
	var installers []string
	for name, job := range jobs {
		if strings.Contains(script(job), "go install") {
			installers = append(installers, name)
		}
	}
	if len(installers) != 1 {
		t.Errorf("%s: go install runs in %v; want one job that installs drplan for the others", file, installers)
		return ""
	}
	s := script(jobs[installers[0]])
	if !strings.Contains(s, "github.com/drplan/drplan/cmd/drplan@${DRPLAN_VERSION}") && !strings.Contains(s, "github.com/drplan/drplan/cmd/drplan@$DRPLAN_VERSION") {
		t.Errorf("%s: the install job does not install DRPLAN_VERSION:\n%s", file, s)
	}
	return installers[0]
}

// TestCIVersionsAgree: both pipelines drill with the same drplan.
func TestCIVersionsAgree(t *testing.T) {
	gh := mapAt(t, ciFile(t, "drplan.yml"), "env")["DRPLAN_VERSION"]
	gl := mapAt(t, ciFile(t, ".gitlab-ci.yml"), "variables")["DRPLAN_VERSION"]
	if gh != gl {
		t.Errorf("DRPLAN_VERSION is %v on GitHub, %v on GitLab", gh, gl)
	}
}

// TestCIVersionExists: the pinned DRPLAN_VERSION is one this repository
// provides: a tag, or a Go pseudo-version whose commit is in main's
// history and whose time is that commit's (go install refuses a
// pseudo-version whose time is not its commit's).
func TestCIVersionExists(t *testing.T) {
	v, _ := mapAt(t, ciFile(t, "drplan.yml"), "env")["DRPLAN_VERSION"].(string)
	git, err := exec.LookPath("git")
	if err != nil {
		t.Fatalf("git is needed to check DRPLAN_VERSION %q against this repository's history: %v", v, err)
	}
	// The check needs the history: a source tree without one, or a
	// shallow clone, cannot tell.
	out, err := exec.Command(git, "rev-parse", "--is-shallow-repository").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "false" {
		t.Skipf("no whole git history here (%s %v): DRPLAN_VERSION %q cannot be checked against it", strings.TrimSpace(string(out)), err, v)
	}
	m := regexp.MustCompile(`^v0\.0\.0-(\d{14})-([0-9a-f]{12})$`).FindStringSubmatch(v)
	if m == nil {
		if out, err := exec.Command(git, "rev-parse", "--verify", "refs/tags/"+v).CombinedOutput(); err != nil {
			t.Fatalf("DRPLAN_VERSION %q is neither a tag of this repository nor a pseudo-version of a commit: %v\n%s", v, err, out)
		}
		return
	}
	cmd := exec.Command(git, "log", "-1", "--format=%cd", "--date=format-local:%Y%m%d%H%M%S", m[2])
	cmd.Env = append(os.Environ(), "TZ=UTC")
	out, err = cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("DRPLAN_VERSION %q names commit %s, which this repository does not have: %v\n%s", v, m[2], err, out)
	}
	if got := strings.TrimSpace(string(out)); got != m[1] {
		t.Errorf("DRPLAN_VERSION %q: commit %s was made at %s (UTC), not %s: go install would refuse it", v, m[2], got, m[1])
	}
	if out, err := exec.Command(git, "merge-base", "--is-ancestor", m[2], "HEAD").CombinedOutput(); err != nil {
		t.Errorf("DRPLAN_VERSION %q: commit %s is not in this branch's history: %v\n%s", v, m[2], err, out)
	}
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
	pinnedVersion(t, "drplan.yml", mapAt(t, doc, "env"))
	jobs := mapAt(t, doc, "jobs")
	if name := installedOnce(t, "drplan.yml", jobs); name != "" {
		// The Go caches: setup-go's, or actions/cache on the build and
		// module caches keyed on the version.
		cached := false
		steps, _ := mapAt(t, jobs, name)["steps"].([]any)
		for _, st := range steps {
			st, _ := st.(map[string]any)
			uses, _ := st["uses"].(string)
			with, _ := st["with"].(map[string]any)
			switch {
			case strings.HasPrefix(uses, "actions/setup-go@") && with["cache"] == true:
				cached = true
			case strings.HasPrefix(uses, "actions/cache@"):
				path, _ := with["path"].(string)
				key, _ := with["key"].(string)
				if strings.Contains(path, "go-build") && strings.Contains(path, "pkg/mod") && strings.Contains(key, "DRPLAN_VERSION") {
					cached = true
				}
			}
		}
		if !cached {
			t.Errorf("the %s job keeps no Go cache keyed on DRPLAN_VERSION", name)
		}
		for _, other := range []string{"validate", "drill"} {
			if s := script(mapAt(t, jobs, other)); !strings.Contains(s, "actions/download-artifact") || !strings.Contains(script(mapAt(t, jobs, other)["needs"]), name) {
				t.Errorf("the %s job does not take drplan from the %s job", other, name)
			}
		}
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
	if !slices.Equal(stages, []any{"install", "validate", "drill"}) {
		t.Errorf("stages %v", stages)
	}
	vars := mapAt(t, doc, "variables")
	pinnedVersion(t, ".gitlab-ci.yml", vars)

	// One pipeline per change: a merge request's, and a branch's only
	// while it has none; schedules too.
	rules := script(mapAt(t, doc, "workflow")["rules"])
	for _, want := range []string{`$CI_PIPELINE_SOURCE == "merge_request_event"`, "$CI_OPEN_MERGE_REQUESTS", `"schedule"`, "$CI_DEFAULT_BRANCH", "never"} {
		if !strings.Contains(rules, want) {
			t.Errorf("workflow:rules lack %s:\n%s", want, rules)
		}
	}

	jobs := map[string]any{}
	for name, v := range doc {
		if m, ok := v.(map[string]any); ok && m["stage"] != nil {
			jobs[name] = m
		}
	}
	if d, ok := doc["default"].(map[string]any); ok {
		jobs["default"] = d
	}
	if name := installedOnce(t, ".gitlab-ci.yml", jobs); name != "" {
		install := mapAt(t, jobs, name)
		iv := map[string]any{}
		for k, v := range vars {
			iv[k] = v
		}
		if m, ok := install["variables"].(map[string]any); ok {
			for k, v := range m {
				iv[k] = v
			}
		}
		for _, v := range []string{"GOPATH", "GOCACHE"} {
			if p, _ := iv[v].(string); !strings.HasPrefix(p, "$CI_PROJECT_DIR/") {
				t.Errorf("%s is %q; GitLab caches only paths inside $CI_PROJECT_DIR", v, p)
			}
		}
		cache := mapAt(t, install, "cache")
		if key, _ := cache["key"].(string); !strings.Contains(key, "DRPLAN_VERSION") {
			t.Errorf("the Go cache's key %q is not the version", key)
		}
		paths := script(cache["paths"])
		for _, v := range []string{"GOPATH", "GOCACHE"} {
			p := strings.TrimPrefix(iv[v].(string), "$CI_PROJECT_DIR/")
			if v == "GOPATH" {
				p += "/pkg/mod"
			}
			if !strings.Contains(paths, p) {
				t.Errorf("the Go cache's paths %q lack %s (%s)", paths, p, v)
			}
		}
		for _, other := range []string{"validate", "drill"} {
			if !strings.Contains(script(mapAt(t, doc, other)["dependencies"]), name) {
				t.Errorf("the %s job does not take drplan from the %s job", other, name)
			}
		}
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
