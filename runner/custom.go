package runner

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/terraform-exec/tfexec"

	"github.com/drplan/drplan/steps"
)

// retryableCustom marks custom-step errors worth another attempt (a
// failed health check may pass once the service is up).
type retryableCustom struct{ error }

func (e retryableCustom) Unwrap() error { return e.error }

// Retry marks err as worth retrying.
func Retry(err error) error { return retryableCustom{err} }

func isRetryableCustom(err error) bool {
	var rc retryableCustom
	return errors.As(err, &rc)
}

// Executor runs custom steps on this machine.
type Executor struct {
	// PlanDir is where relative paths (command dir, terraform dir) start.
	PlanDir string
	// RunDir is the run's directory, for the context file.
	RunDir string
	// AutoApprove answers every prompt with yes.
	AutoApprove bool
	// Terminal is set when prompts can be asked: In and Out are an
	// operator's terminal.
	Terminal bool
	In       io.Reader
	Out      io.Writer
	// TimeScale shrinks wait steps in a simulated world.
	TimeScale float64
	// OutputLimit caps the command output kept (bytes); 0 means 16 KiB.
	OutputLimit int

	promptMu sync.Mutex
}

// RunStep runs one custom step.
func (e *Executor) RunStep(ctx context.Context, s *steps.Step, env *Env) (map[string]string, error) {
	a := s.Args
	switch {
	case a.Command != nil:
		return e.command(ctx, s, env)
	case a.HTTP != nil:
		return e.http(ctx, a.HTTP)
	case a.TCP != nil:
		return e.tcp(ctx, a.TCP)
	case a.Wait != nil:
		d := time.Duration(a.Wait.Duration)
		if e.TimeScale > 0 {
			d = time.Duration(float64(d) * e.TimeScale)
		}
		return nil, sleep(ctx, d)
	case a.Prompt != nil:
		return e.prompt(ctx, s)
	case a.Terraform != nil:
		return e.terraform(ctx, s, env)
	case a.Guest != nil:
		return nil, fmt.Errorf("guest command in VM %s: %w", a.Guest.VM, errNotAvailable)
	}
	return nil, fmt.Errorf("step %s has no action", s.Addr)
}

// contextFile writes the run's facts for a command: recovered VMs and
// their addresses, and earlier steps' outputs.
func (e *Executor) contextFile(env *Env) (string, error) {
	doc := map[string]any{"run_id": env.RunID, "mode": env.Mode, "vms": env.VMs, "steps": env.Outputs}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return "", err
	}
	dir := e.RunDir
	if dir == "" {
		dir = os.TempDir()
	}
	f, err := os.CreateTemp(dir, "context-*.json")
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		return "", err
	}
	return f.Name(), nil
}

func recoverySites(p *steps.Program) string {
	var out []string
	for _, s := range p.Sites {
		if s.Role == "recovery" {
			out = append(out, s.Name)
		}
	}
	return strings.Join(out, ",")
}

// command runs a local process: argv as given (no shell), in its own
// process group so that a timeout ends it and everything it started.
func (e *Executor) command(ctx context.Context, s *steps.Step, env *Env) (map[string]string, error) {
	c := s.Args.Command
	if len(c.Run) == 0 {
		return nil, errors.New("command has no program")
	}
	dir := e.PlanDir
	if c.Dir != "" && c.Dir != "." {
		dir = filepath.Join(e.PlanDir, c.Dir)
		if filepath.IsAbs(c.Dir) {
			dir = c.Dir
		}
	}
	prog := c.Run[0]
	if !strings.Contains(prog, "/") {
		if p, err := exec.LookPath(prog); err == nil {
			prog = p
		}
	} else if !filepath.IsAbs(prog) {
		prog = filepath.Join(dir, prog)
	}
	ctxFile, err := e.contextFile(env)
	if err != nil {
		return nil, err
	}
	defer os.Remove(ctxFile)
	cmd := exec.CommandContext(ctx, prog, c.Run[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DRPLAN_RUN_ID="+env.RunID, "DRPLAN_MODE="+env.Mode,
		"DRPLAN_SITE="+recoverySites(env.Program), "DRPLAN_CONTEXT="+ctxFile)
	keys := make([]string, 0, len(c.Env))
	for k := range c.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cmd.Env = append(cmd.Env, k+"="+c.Env[k])
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	out := &tailBuffer{limit: e.OutputLimit}
	if out.limit == 0 {
		out.limit = 16 << 10
	}
	cmd.Stdout, cmd.Stderr = out, out
	err = cmd.Run()
	detail := map[string]string{"output": out.String()}
	if err != nil {
		if ctx.Err() != nil {
			return detail, Retry(fmt.Errorf("%s: stopped (%v); output: %s", c.Run[0], ctx.Err(), lastLines(out.String(), 5)))
		}
		return detail, Retry(fmt.Errorf("%s: %v; output: %s", c.Run[0], err, lastLines(out.String(), 5)))
	}
	return detail, nil
}

// tailBuffer keeps the last limit bytes written to it.
type tailBuffer struct {
	mu    sync.Mutex
	buf   []byte
	limit int
	cut   bool
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.limit; over > 0 {
		t.buf = append([]byte(nil), t.buf[over:]...)
		t.cut = true
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cut {
		return "…" + string(t.buf)
	}
	return string(t.buf)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// pollEvery is how often http and tcp checks try again within their
// timeout.
const pollEvery = 500 * time.Millisecond

// http requests a URL until it answers as expected or the step's time is
// up.
func (e *Executor) http(ctx context.Context, h *steps.HTTP) (map[string]string, error) {
	var body *regexp.Regexp
	if h.ExpectBody != "" {
		var err error
		if body, err = regexp.Compile(h.ExpectBody); err != nil {
			return nil, err
		}
	}
	client := &http.Client{Timeout: 10 * time.Second}
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, h.Method, h.URL, nil)
		if err != nil {
			return nil, err
		}
		for k, v := range h.Headers {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err == nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			switch {
			case resp.StatusCode != h.ExpectStatus:
				err = fmt.Errorf("%s %s answered %d, want %d", h.Method, h.URL, resp.StatusCode, h.ExpectStatus)
			case body != nil && !body.Match(b):
				err = fmt.Errorf("%s %s: the body does not match %q", h.Method, h.URL, h.ExpectBody)
			default:
				return map[string]string{"status": fmt.Sprint(resp.StatusCode)}, nil
			}
		}
		last = err
		if sleep(ctx, pollEvery) != nil {
			return nil, Retry(fmt.Errorf("%v (still failing when the step's time ran out)", last))
		}
	}
}

// tcp connects to an address until it accepts or the step's time is up.
func (e *Executor) tcp(ctx context.Context, t *steps.TCP) (map[string]string, error) {
	var d net.Dialer
	for {
		conn, err := d.DialContext(ctx, "tcp", t.Address)
		if err == nil {
			conn.Close()
			return map[string]string{"address": t.Address}, nil
		}
		if sleep(ctx, pollEvery) != nil {
			return nil, Retry(fmt.Errorf("connecting to %s: %v (still failing when the step's time ran out)", t.Address, err))
		}
	}
}

// prompt asks the operator; the answer and who gave it go to the journal.
func (e *Executor) prompt(ctx context.Context, s *steps.Step) (map[string]string, error) {
	who := "unknown"
	if u, err := user.Current(); err == nil {
		who = u.Username
	}
	if e.AutoApprove {
		return map[string]string{"answer": "yes (--auto-approve)", "by": who}, nil
	}
	if !e.Terminal || e.In == nil {
		return nil, fmt.Errorf("step %s asks %q, but this run has no terminal to ask on; run it interactively, or answer every prompt yes with --auto-approve", s.Addr, s.Args.Prompt.Message)
	}
	e.promptMu.Lock()
	defer e.promptMu.Unlock()
	fmt.Fprintf(e.Out, "\n%s\n  %s\n  Type yes to go on: ", s.Addr, s.Args.Prompt.Message)
	answer := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(e.In).ReadString('\n')
		answer <- strings.TrimSpace(line)
	}()
	select {
	case a := <-answer:
		if strings.EqualFold(a, "yes") || strings.EqualFold(a, "y") {
			return map[string]string{"answer": a, "by": who}, nil
		}
		return map[string]string{"answer": a, "by": who}, fmt.Errorf("%s answered %q to %q", who, a, s.Args.Prompt.Message)
	case <-ctx.Done():
		return nil, fmt.Errorf("no answer to %q: %v", s.Args.Prompt.Message, ctx.Err())
	}
}

// terraform applies (or, in a drill's cleanup, destroys) a Terraform
// configuration. A drill works in a workspace of its own, so production
// state is never touched; its cleanup destroys that workspace's resources
// and deletes it.
func (e *Executor) terraform(ctx context.Context, s *steps.Step, env *Env) (map[string]string, error) {
	t := s.Args.Terraform
	bin, err := exec.LookPath(t.Binary)
	if err != nil {
		return nil, fmt.Errorf("terraform binary %q not found on PATH; install Terraform or set binary in the step's terraform block", t.Binary)
	}
	dir := t.Dir
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(e.PlanDir, dir)
	}
	tf, err := tfexec.NewTerraform(dir, bin)
	if err != nil {
		return nil, err
	}
	out := &tailBuffer{limit: 16 << 10}
	tf.SetStdout(out)
	tf.SetStderr(out)
	fail := func(what string, err error) (map[string]string, error) {
		return map[string]string{"output": out.String()}, Retry(fmt.Errorf("terraform %s in %s: %v", what, t.Dir, err))
	}
	if err := tf.Init(ctx); err != nil {
		return fail("init", err)
	}
	ws := strings.ReplaceAll(t.Workspace, "{run}", env.RunID)
	if ws != "" {
		current, err := tf.WorkspaceShow(ctx)
		if err != nil {
			return fail("workspace show", err)
		}
		if err := tf.WorkspaceSelect(ctx, ws); err != nil {
			if t.Destroy {
				return map[string]string{"workspace": ws, "note": "workspace already gone"}, nil
			}
			if err := tf.WorkspaceNew(ctx, ws); err != nil {
				return fail("workspace new", err)
			}
		}
		defer func() {
			// Leave the directory on the workspace it had.
			tf.WorkspaceSelect(context.Background(), current)
			if t.Destroy && current != ws {
				tf.WorkspaceDelete(context.Background(), ws)
			}
		}()
	}
	var vars []string
	for k, v := range t.Vars {
		vars = append(vars, k+"="+v)
	}
	sort.Strings(vars)
	if t.Destroy {
		var opts []tfexec.DestroyOption
		for _, v := range vars {
			opts = append(opts, tfexec.Var(v))
		}
		if err := tf.Destroy(ctx, opts...); err != nil {
			return fail("destroy", err)
		}
		return map[string]string{"workspace": ws, "destroyed": "true"}, nil
	}
	var opts []tfexec.ApplyOption
	for _, v := range vars {
		opts = append(opts, tfexec.Var(v))
	}
	if err := tf.Apply(ctx, opts...); err != nil {
		return fail("apply", err)
	}
	outputs, err := tf.Output(ctx)
	if err != nil {
		return fail("output", err)
	}
	detail := map[string]string{"workspace": ws}
	for k, o := range outputs {
		if o.Sensitive {
			detail["output."+k] = "(sensitive)"
			continue
		}
		var v any
		if json.Unmarshal(o.Value, &v) == nil {
			if s, ok := v.(string); ok {
				detail["output."+k] = s
				continue
			}
		}
		detail["output."+k] = string(bytes.TrimSpace(o.Value))
	}
	return detail, nil
}
