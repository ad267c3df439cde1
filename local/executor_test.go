package local_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/drplan/drplan/internal/clock"
	"github.com/drplan/drplan/local"
	"github.com/drplan/drplan/plans"
	"github.com/drplan/drplan/rundir"
	"github.com/drplan/drplan/runner"
	"github.com/drplan/drplan/steps"
)

// program is a failover program of custom steps only, recovering to
// site west.
func program(ss ...*steps.Step) *steps.Program {
	return &steps.Program{FormatVersion: steps.FormatVersion, Plan: "t", RecoveryPlan: "t", Mode: "failover", MaxParallel: 4,
		Sites: []steps.Site{{Name: "east", Role: "protected"}, {Name: "west", Role: "recovery"}}, Steps: ss}
}

// custom is a custom step with a 30 s timeout that halts on failure.
func custom(name string, args steps.Args, edit ...func(*steps.Step)) *steps.Step {
	s := &steps.Step{Addr: steps.PlanStep(name), Kind: steps.Custom, Phase: steps.PhaseCustom, Args: args,
		Timeout: steps.Duration(30 * time.Second), OnFailure: "halt"}
	for _, e := range edit {
		e(s)
	}
	return s
}

func sh(script string) steps.Args {
	return steps.Args{Command: &steps.Command{Run: []string{"sh", "-c", script}}}
}

// runCustom runs a program with an executor, journaling into a folder of
// its own, and returns the result and the journal; edit changes the
// run's options.
func runCustom(t *testing.T, ex *local.Executor, prog *steps.Program, edit ...func(*runner.Options)) (*runner.Result, []rundir.Event) {
	t.Helper()
	jdir := t.TempDir()
	j, err := rundir.OpenJournal(jdir, prog.Redact)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if ex.RunDir == "" {
		ex.RunDir = jdir
	}
	opts := runner.Options{RunID: "run-1", Journal: j, Custom: ex, Backoff: 10 * time.Millisecond}
	for _, e := range edit {
		e(&opts)
	}
	res, err := runner.Run(context.Background(), prog, opts)
	if err != nil {
		t.Fatal(err)
	}
	events, err := rundir.ReadJournal(jdir)
	if err != nil {
		t.Fatal(err)
	}
	return res, events
}

// observer sets the run's observer.
func observer(f func(rundir.Event)) func(*runner.Options) {
	return func(o *runner.Options) { o.Observer = f }
}

// finished returns the step_finished event of a step.
func finished(t *testing.T, events []rundir.Event, step string) rundir.Event {
	t.Helper()
	for _, e := range events {
		if e.Type == rundir.EventStepFinished && e.Step.String() == step {
			return e
		}
	}
	t.Fatalf("the journal has no step_finished for %s", step)
	return rundir.Event{}
}

func writeFile(t *testing.T, name, text string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
}

// TestCommandEnvironment runs real processes: a script given by a path
// relative to the plan directory runs there by default and in dir when
// set, with its env, the run's facts as environment variables, and the
// context file, which holds the outputs of earlier steps.
func TestCommandEnvironment(t *testing.T) {
	planDir := t.TempDir()
	writeFile(t, filepath.Join(planDir, "scripts", "facts.sh"), `#!/bin/sh
{
  echo "pwd=$(pwd)"
  echo "run=$DRPLAN_RUN_ID mode=$DRPLAN_MODE site=$DRPLAN_SITE array=$ARRAY"
  echo "context=$DRPLAN_CONTEXT"
} > "$1"
cp "$DRPLAN_CONTEXT" "$1.context"
`, 0o755)
	out := t.TempDir()
	prog := program(
		custom("here", steps.Args{Command: &steps.Command{Run: []string{"./scripts/facts.sh", filepath.Join(out, "here")}, Env: map[string]string{"ARRAY": "array-a"}}}),
		custom("there", steps.Args{Command: &steps.Command{Run: []string{"./facts.sh", filepath.Join(out, "there")}, Dir: "scripts"}},
			func(s *steps.Step) { s.After = []steps.Addr{steps.MustParseAddr("step.here")} }),
	)
	// A step before them left outputs, as a Terraform step does.
	prog.Steps = append([]*steps.Step{custom("dns", steps.Args{Wait: &steps.Wait{}})}, prog.Steps...)
	prog.Steps[1].After = []steps.Addr{steps.MustParseAddr("step.dns")}
	ex := &local.Executor{PlanDir: planDir}
	res, _ := runCustom(t, ex, prog, func(o *runner.Options) {
		o.Custom = &withOutputs{Executor: ex, of: map[string]string{"step.dns": `{"fqdn": "erp.example.com", "ttl": 60}`}, t: t}
	})
	if !res.Passed {
		t.Fatalf("run failed: %+v", res.Steps)
	}
	here, err := os.ReadFile(filepath.Join(out, "here"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"pwd=" + planDir + "\n", "run=run-1 mode=failover site=west array=array-a"} {
		if !strings.Contains(string(here), want) {
			t.Errorf("the command saw\n%s\nwant %q in it", here, want)
		}
	}
	there, _ := os.ReadFile(filepath.Join(out, "there"))
	if !strings.Contains(string(there), "pwd="+filepath.Join(planDir, "scripts")+"\n") {
		t.Errorf("with dir = \"scripts\" the command saw\n%s", there)
	}
	var doc struct {
		RunID string                                      `json:"run_id"`
		Mode  string                                      `json:"mode"`
		Sites []string                                    `json:"sites"`
		Step  map[string]struct{ Outputs map[string]any } `json:"step"`
		VMs   map[string]struct{ IP string }              `json:"vms"`
	}
	b, err := os.ReadFile(filepath.Join(out, "here.context"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("context file: %v\n%s", err, b)
	}
	if doc.RunID != "run-1" || doc.Mode != "failover" || len(doc.Sites) != 1 || doc.Sites[0] != "west" ||
		doc.Step["dns"].Outputs["fqdn"] != "erp.example.com" || doc.Step["dns"].Outputs["ttl"] != 60.0 || doc.VMs == nil {
		t.Errorf("context file:\n%s", b)
	}
	// The context file is the step's own: gone once the step is.
	ctxName := strings.TrimPrefix(strings.Split(string(here), "\n")[2], "context=")
	if _, err := os.Stat(ctxName); !os.IsNotExist(err) {
		t.Errorf("the context file %s is still there after the step: %v", ctxName, err)
	}
}

// withOutputs wraps an executor so that the named steps leave outputs,
// as a Terraform step does, without running Terraform.
type withOutputs struct {
	*local.Executor
	of map[string]string // step -> JSON object of outputs
	t  *testing.T
}

func (o *withOutputs) RunStep(ctx context.Context, s *steps.Step, env *local.Env) (map[string]string, error) {
	if text, ok := o.of[s.Addr.String()]; ok {
		var out map[string]json.RawMessage
		if err := json.Unmarshal([]byte(text), &out); err != nil {
			o.t.Fatal(err)
		}
		env.SetOutputs(s.Addr, out)
	}
	return o.Executor.RunStep(ctx, s, env)
}

// TestCommandTimeoutKillsGroup: a command that overruns its timeout is
// killed with every process it started (here a grandchild of drplan that
// would otherwise outlive it), and the step fails saying so.
func TestCommandTimeoutKillsGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	prog := program(custom("slow", sh("sleep 300 & echo $! > "+pidFile+"; wait"), func(s *steps.Step) {
		s.Timeout = steps.Duration(time.Second)
	}))
	res, events := runCustom(t, &local.Executor{PlanDir: dir}, prog)
	sr := res.Steps[steps.MustParseAddr("step.slow")]
	if sr.Status != rundir.StatusFailed || !strings.Contains(sr.Err.Error(), "timed out after 1s") || !strings.Contains(sr.Err.Error(), "process group") {
		t.Fatalf("slow step: %s, %v; want failed, timed out", sr.Status, sr.Err)
	}
	if e := finished(t, events, "step.slow"); e.Result != rundir.StatusFailed {
		t.Errorf("journal: %+v", e)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	// SIGKILL is delivered at once; the process may take a moment to go.
	deadline := time.Now().Add(30 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("the command's child %d outlived the step's timeout", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// alive reports whether a process exists and is not a zombie.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) STATE …
	s := string(stat)
	i := strings.LastIndex(s, ")")
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// secretPlan is a plan with a sensitive variable, for its redaction.
func secretPlan(t *testing.T, secret string) *plans.Plan {
	t.Helper()
	dir := t.TempDir()
	src := fmt.Sprintf(`
variable "token" {
  type      = string
  sensitive = true
  default   = %q
}
`, secret)
	p, diags := plans.LoadSources(dir, map[string][]byte{filepath.Join(dir, "main.drplan.hcl"): []byte(src)}, plans.LoadOptions{Environ: []string{}})
	if p == nil {
		t.Fatal(diags)
	}
	return p
}

// TestCommandOutput: a command's output goes to the journal cut to its
// last bytes, and a sensitive value it prints is scrubbed there, in its
// error and in what the observer (the CLI's progress) sees, even where
// the cut falls inside it.
func TestCommandOutput(t *testing.T) {
	const secret = "s3cr3t-value-XYZ"
	p := secretPlan(t, secret)
	t.Run("bounded", func(t *testing.T) {
		prog := program(custom("loud", sh(`i=0; while [ $i -lt 5000 ]; do echo "line $i of noise"; i=$((i+1)); done; echo last line`)))
		res, events := runCustom(t, &local.Executor{PlanDir: t.TempDir(), OutputLimit: 4096}, prog)
		if !res.Passed {
			t.Fatal(res.Steps[steps.MustParseAddr("step.loud")].Err)
		}
		out := finished(t, events, "step.loud").Detail["output"]
		if len(out) > 4096+100 || !strings.HasSuffix(out, "line 4999 of noise\nlast line\n") || !strings.Contains(out, "cut") || strings.Contains(out, "line 0 of") {
			t.Errorf("output kept: %d bytes, ending %q; want at most about 4 KiB, the end of the output, marked as cut", len(out), out[max(0, len(out)-60):])
		}
	})
	t.Run("redacted", func(t *testing.T) {
		var seen []string
		var mu sync.Mutex
		observe := func(e rundir.Event) {
			mu.Lock()
			defer mu.Unlock()
			b, _ := json.Marshal(e)
			seen = append(seen, string(b))
		}
		prog := program(
			custom("echo", steps.Args{Command: &steps.Command{Run: []string{"sh", "-c", `echo "token is $TOKEN"; exit 2`}, Env: map[string]string{"TOKEN": secret}}},
				func(s *steps.Step) { s.OnFailure = "continue" }),
			// The cut (the last 105 bytes) falls inside the secret: its
			// tail must not be left behind.
			custom("cut", steps.Args{Command: &steps.Command{Run: []string{"sh", "-c", `printf 'AAAAAAAAAA%s' "$TOKEN"; head -c 100 /dev/zero | tr '\0' B`}, Env: map[string]string{"TOKEN": secret}}},
				func(s *steps.Step) { s.OnFailure = "continue" }),
		)
		prog.SetSecrets(p.Secrets())
		dir := t.TempDir()
		res, events := runCustom(t, &local.Executor{PlanDir: dir, OutputLimit: 105}, prog, observer(observe))
		if res.Steps[steps.MustParseAddr("step.echo")].Status != rundir.StatusFailed {
			t.Fatalf("echo: %s", res.Steps[steps.MustParseAddr("step.echo")].Status)
		}
		echo := finished(t, events, "step.echo")
		if !strings.Contains(echo.Detail["output"], "token is (sensitive)") || !strings.Contains(echo.Error, "token is (sensitive)") {
			t.Errorf("echo: output %q, error %q; want the token shown as (sensitive)", echo.Detail["output"], echo.Error)
		}
		cut := finished(t, events, "step.cut").Detail["output"]
		if !strings.HasSuffix(cut, strings.Repeat("B", 100)) {
			t.Errorf("cut output %q", cut)
		}
		all := strings.Join(seen, "\n")
		for _, e := range events {
			b, _ := json.Marshal(e)
			all += "\n" + string(b)
		}
		for _, piece := range []string{secret, "-XYZ", "value-"} {
			if strings.Contains(all, piece) {
				t.Errorf("%q (part of the secret) is in the journal or the observed events:\n%s", piece, all)
			}
		}
		if res.Steps[steps.MustParseAddr("step.echo")].Err != nil && strings.Contains(res.Steps[steps.MustParseAddr("step.echo")].Detail["output"], secret) {
			t.Errorf("the step result keeps the secret")
		}
	})
}

// TestHTTPCheck checks a real HTTP server: the method and headers sent,
// the status and body regexp expected, retried within the step's timeout
// until the server turns healthy, and clear failures.
func TestHTTPCheck(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := requests.Add(1)
		switch {
		case r.URL.Path == "/down":
			w.WriteHeader(http.StatusServiceUnavailable)
		case r.URL.Path == "/wrong":
			io.WriteString(w, `{"status": "degraded"}`)
		case r.Method != http.MethodPost || r.Header.Get("Authorization") != "Bearer t0k" || r.Host != "shop.example.com":
			w.WriteHeader(http.StatusBadRequest)
		case n < 3: // healthy from the third request on
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			w.WriteHeader(http.StatusAccepted)
			io.WriteString(w, `{"status": "ok"}`)
		}
	}))
	defer srv.Close()
	check := func(name, path string, status int, timeout time.Duration) *steps.Step {
		return custom(name, steps.Args{HTTP: &steps.HTTP{URL: srv.URL + path, Method: http.MethodPost, Headers: map[string]string{"Authorization": "Bearer t0k", "Host": "shop.example.com"},
			ExpectStatus: status, ExpectBody: `"status":\s*"ok"`}}, func(s *steps.Step) { s.Timeout, s.OnFailure = steps.Duration(timeout), "continue" })
	}
	res, events := runCustom(t, &local.Executor{}, program(check("healthy", "/health", 202, time.Minute)))
	if sr := res.Steps[steps.MustParseAddr("step.healthy")]; sr.Status != rundir.StatusOK || sr.Attempts != 1 {
		t.Fatalf("healthy: %s after %d attempts: %v", sr.Status, sr.Attempts, sr.Err)
	}
	if d := finished(t, events, "step.healthy").Detail; d["status"] != "202" || d["tries"] != "3" {
		t.Errorf("healthy: detail %v; want status 202 after 3 tries", d)
	}
	res, _ = runCustom(t, &local.Executor{}, program(
		check("down", "/down", 200, 1200*time.Millisecond),
		check("wrong", "/wrong", 200, 1200*time.Millisecond),
	))
	for step, want := range map[string]string{"step.down": "answered 503, want 200", "step.wrong": "answered 200, but the body does not match"} {
		sr := res.Steps[steps.MustParseAddr(step)]
		if sr.Status != rundir.StatusFailed || !strings.Contains(sr.Err.Error(), want) || !strings.Contains(sr.Err.Error(), "timed out after") {
			t.Errorf("%s: %s, %v; want failed: %s, timed out", step, sr.Status, sr.Err, want)
		}
	}
}

// TestTCPCheck connects to a real listener that comes up only after the
// first attempt has failed: the retry finds it.
func TestTCPCheck(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	var late net.Listener
	var once sync.Once
	observe := func(e rundir.Event) {
		if e.Type == rundir.EventStepFailed && e.Step.String() == "step.port" {
			once.Do(func() {
				var err error
				if late, err = net.Listen("tcp", addr); err != nil {
					t.Error(err)
				}
			})
		}
	}
	prog := program(custom("port", steps.Args{TCP: &steps.TCP{Address: addr}}, func(s *steps.Step) {
		s.Timeout, s.Retries = steps.Duration(time.Second), 2
	}))
	res, events := runCustom(t, &local.Executor{}, prog, observer(observe))
	if late != nil {
		defer late.Close()
	}
	sr := res.Steps[steps.MustParseAddr("step.port")]
	if sr.Status != rundir.StatusOK || sr.Attempts != 2 {
		t.Fatalf("port: %s after %d attempts, %v; want ok on the second", sr.Status, sr.Attempts, sr.Err)
	}
	for _, e := range events {
		if e.Type == rundir.EventStepFailed && (!e.Retryable || !strings.Contains(e.Error, "connecting to "+addr)) {
			t.Errorf("first attempt: %+v", e)
		}
	}
}

// TestRetriesAndFailurePolicy: a step is tried 1 + retries times; a
// failure that halts starts nothing new, one that continues skips only
// what depends on the failed step.
func TestRetriesAndFailurePolicy(t *testing.T) {
	dir := t.TempDir()
	// flaky fails until it has been run three times.
	flaky := func(name string, retries int) *steps.Step {
		count := filepath.Join(dir, name+".count")
		return custom(name, sh(fmt.Sprintf(`n=$(cat %[1]s 2>/dev/null || echo 0); n=$((n+1)); echo $n > %[1]s; echo "attempt $n"; [ $n -ge 3 ]`, count)),
			func(s *steps.Step) { s.Retries, s.OnFailure = retries, "continue" })
	}
	after := func(name, dep string) *steps.Step {
		return custom(name, sh("true"), func(s *steps.Step) { s.After = []steps.Addr{steps.MustParseAddr(dep)} })
	}
	res, _ := runCustom(t, &local.Executor{PlanDir: dir}, program(flaky("enough", 2), after("then", "step.enough")))
	if sr := res.Steps[steps.MustParseAddr("step.enough")]; sr.Status != rundir.StatusOK || sr.Attempts != 3 || res.Steps[steps.MustParseAddr("step.then")].Status != rundir.StatusOK || !res.Passed {
		t.Errorf("retries = 2: %s after %d attempts (%v); the step after it %s", sr.Status, sr.Attempts, sr.Err, res.Steps[steps.MustParseAddr("step.then")].Status)
	}

	res, events := runCustom(t, &local.Executor{PlanDir: dir}, program(flaky("short", 1), after("skipped", "step.short"), custom("other", sh("true"))))
	sr := res.Steps[steps.MustParseAddr("step.short")]
	if sr.Status != rundir.StatusFailed || sr.Attempts != 2 || !strings.Contains(sr.Err.Error(), "attempt 2") {
		t.Errorf("retries = 1: %s after %d attempts: %v", sr.Status, sr.Attempts, sr.Err)
	}
	if res.Steps[steps.MustParseAddr("step.skipped")].Status != rundir.StatusSkipped || res.Steps[steps.MustParseAddr("step.other")].Status != rundir.StatusOK || res.Passed || res.Halted != "" {
		t.Errorf("on_failure = continue: dependent %s, independent %s, passed %v, halted %q",
			res.Steps[steps.MustParseAddr("step.skipped")].Status, res.Steps[steps.MustParseAddr("step.other")].Status, res.Passed, res.Halted)
	}
	if d := finished(t, events, "step.short").Detail; !strings.Contains(d["output"], "attempt 2") {
		t.Errorf("the failed step's output is not in the journal: %v", d)
	}

	halt := custom("halt", sh("exit 1"))
	res, _ = runCustom(t, &local.Executor{PlanDir: dir}, program(halt, after("never", "step.halt")))
	if res.Halted != "step.halt" || res.Steps[steps.MustParseAddr("step.never")].Status != rundir.StatusNotRun || res.Steps[steps.MustParseAddr("step.halt")].Attempts != 1 {
		t.Errorf("on_failure = halt: halted by %q, dependent %s, %d attempts", res.Halted, res.Steps[steps.MustParseAddr("step.never")].Status, res.Steps[steps.MustParseAddr("step.halt")].Attempts)
	}
}

// TestWaitStep: a wait takes its duration of plan time (on a virtual
// clock: at once) and fails when its timeout is shorter.
func TestWaitStep(t *testing.T) {
	prog := program(
		custom("short", steps.Args{Wait: &steps.Wait{Duration: steps.Duration(10 * time.Second)}}),
		custom("long", steps.Args{Wait: &steps.Wait{Duration: steps.Duration(time.Hour)}}, func(s *steps.Step) {
			s.Timeout, s.OnFailure = steps.Duration(20*time.Second), "continue"
		}),
	)
	v := clock.NewVirtual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	defer v.Close()
	res, _ := runCustom(t, &local.Executor{Clock: v}, prog, func(o *runner.Options) { o.Clock = v })
	if sr := res.Steps[steps.MustParseAddr("step.short")]; sr.Status != rundir.StatusOK || sr.End.Sub(sr.Start) != 10*time.Second {
		t.Errorf("a 10 s wait: %s after %s of plan time", sr.Status, sr.End.Sub(sr.Start))
	}
	if sr := res.Steps[steps.MustParseAddr("step.long")]; sr.Status != rundir.StatusFailed || !strings.Contains(sr.Err.Error(), "timed out after 20s") || sr.End.Sub(sr.Start) != 20*time.Second {
		t.Errorf("an hour's wait with a 20 s timeout: %s after %s, %v", sr.Status, sr.End.Sub(sr.Start), sr.Err)
	}
}

// TestPrompt: a prompt holds only its own branch (a step that does not
// depend on it finishes while it waits); an approving answer goes on,
// any other fails the step; the question (scrubbed), the answer and the
// OS user go to the journal; without a UI it fails.
func TestPrompt(t *testing.T) {
	ask := func(name string) *steps.Step {
		return custom(name, steps.Args{Prompt: &steps.Prompt{Message: "Is the database consistent?"}}, func(s *steps.Step) { s.OnFailure = "continue" })
	}
	ui := &scriptedUI{answers: make(chan string, 2)}
	observe := func(e rundir.Event) {
		// Answer once the other branch is done: the prompt did not stop it.
		if e.Type == rundir.EventStepFinished && e.Step.String() == "step.other" {
			ui.answers <- "yes"
			ui.answers <- "no"
		}
	}
	first := ask("first")
	second := ask("second")
	second.After = []steps.Addr{steps.MustParseAddr("step.first")}
	res, events := runCustom(t, &local.Executor{UI: ui}, program(first, second, custom("other", sh("true"))), observer(observe))
	if res.Steps[steps.MustParseAddr("step.first")].Status != rundir.StatusOK || res.Steps[steps.MustParseAddr("step.other")].Status != rundir.StatusOK {
		t.Errorf("first %s (%v), other %s", res.Steps[steps.MustParseAddr("step.first")].Status, res.Steps[steps.MustParseAddr("step.first")].Err, res.Steps[steps.MustParseAddr("step.other")].Status)
	}
	if sr := res.Steps[steps.MustParseAddr("step.second")]; sr.Status != rundir.StatusFailed || !strings.Contains(sr.Err.Error(), `answered "no"`) {
		t.Errorf("second (answered no): %s, %v", sr.Status, sr.Err)
	}
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	me := u.Username
	for step, answer := range map[string]string{"step.first": "yes", "step.second": "no"} {
		d := finished(t, events, step).Detail
		if d["answer"] != answer || !strings.HasPrefix(d["by"], me) || d["message"] != "Is the database consistent?" {
			t.Errorf("%s in the journal: %v; want answer %q by %q", step, d, answer, me)
		}
	}
	if got := ui.asked(); len(got) != 2 || got[0] != "step.first: Is the database consistent?" {
		t.Errorf("the UI was asked %q", got)
	}

	res, _ = runCustom(t, &local.Executor{}, program(ask("alone")))
	if sr := res.Steps[steps.MustParseAddr("step.alone")]; sr.Status != rundir.StatusFailed || !strings.Contains(sr.Err.Error(), "no one to ask") {
		t.Errorf("without a UI: %s, %v", sr.Status, sr.Err)
	}
}

// scriptedUI answers prompts from a channel, approving "yes".
type scriptedUI struct {
	answers chan string
	mu      sync.Mutex
	log     []string
}

func (u *scriptedUI) Confirm(ctx context.Context, step, msg string) (string, bool, error) {
	u.mu.Lock()
	u.log = append(u.log, step+": "+msg)
	u.mu.Unlock()
	select {
	case a := <-u.answers:
		return a, a == "yes", nil
	case <-ctx.Done():
		return "", false, ctx.Err()
	}
}

func (u *scriptedUI) asked() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.log...)
}

// TestCommandMissingDir: a command whose dir is missing fails saying so,
// not with exec's "fork/exec /usr/bin/true: no such file or directory".
func TestCommandMissingDir(t *testing.T) {
	prog := program(custom("cmd", steps.Args{Command: &steps.Command{Run: []string{"true"}, Dir: "no-such-dir"}}))
	res, _ := runCustom(t, &local.Executor{PlanDir: t.TempDir()}, prog)
	sr := res.Steps[steps.MustParseAddr("step.cmd")]
	if sr.Status != rundir.StatusFailed || sr.Err == nil || !strings.Contains(sr.Err.Error(), "no-such-dir, does not exist") || strings.Contains(sr.Err.Error(), "fork/exec") {
		t.Errorf("a command in a missing directory: %s, %v", sr.Status, sr.Err)
	}
}
