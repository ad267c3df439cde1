package local

import (
	"context"
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
	"unicode/utf8"

	"github.com/drplan/drplan/internal/clock"
	"github.com/drplan/drplan/internal/errs"
	"github.com/drplan/drplan/internal/redact"
	"github.com/drplan/drplan/steps"
)

// transient marks a local step's failure as worth another attempt (a
// failed health check may pass once the service is up), for the
// runner's retry policy; its message stays as it is.
func transient(err error) error { return errs.Mark(err, errs.Transient) }

// UI is how a prompt step reaches the operator. The CLI supplies it
// (internal/command asks on the terminal, or answers yes for
// --auto-approve); this package never touches a terminal.
type UI interface {
	// Confirm shows the question a step asks (message, already scrubbed
	// of secrets) and waits for the answer or for ctx to end. It returns
	// the answer as given and whether it approves going on; an error when
	// it cannot ask or no answer came.
	Confirm(ctx context.Context, step, message string) (answer string, approved bool, err error)
}

// Executor runs the custom steps that act from this machine: command,
// http, tcp, wait, prompt and terraform. (Guest steps are VM operations:
// the runner sends them to the VM's site.) It implements the runner's
// CustomRunner. What it keeps of a step's output, and what it shows of a
// prompt, is scrubbed of the sensitive values the step's program carries
// (steps.Program.Secrets).
type Executor struct {
	// PlanDir is where relative paths (command dir, terraform dir and
	// binary) start, and a command's default working directory.
	PlanDir string
	// RunDir is the run's directory, for the context file.
	RunDir string
	// UI asks prompts; nil means there is no one to ask (prompts fail).
	UI UI
	// Clock is the run's time (nil: the wall clock). Wait steps, and the
	// polling of http and tcp checks that a simulated world answers, are
	// on it.
	Clock clock.Clock
	// Dial, when set, connects http and tcp checks in place of the
	// network: a simulated world's guest services (simulate.World's
	// DialCheck, or the sim serve gateway's). It is given the recovery
	// plan and mode of the step's program.
	Dial func(ctx context.Context, recoveryPlan, mode, address string) (net.Conn, error)
	// OutputLimit caps the output kept of a command or a Terraform run
	// (bytes, the last ones); 0 means 16 KiB.
	OutputLimit int

	promptMu sync.Mutex // prompts are asked one at a time
}

// RunStep runs one custom step.
func (e *Executor) RunStep(ctx context.Context, s *steps.Step, env *Env) (map[string]string, error) {
	a := s.Args
	switch {
	case a.Command != nil:
		return e.command(ctx, s, env)
	case a.HTTP != nil:
		return e.http(ctx, a.HTTP, e.dialer(env))
	case a.TCP != nil:
		return e.tcp(ctx, a.TCP, e.dialer(env))
	case a.Wait != nil:
		return nil, clock.Of(e.Clock).Sleep(ctx, time.Duration(a.Wait.Duration))
	case a.Prompt != nil:
		return e.prompt(ctx, s, env)
	case a.Terraform != nil:
		return e.terraform(ctx, s, env)
	}
	return nil, fmt.Errorf("step %s has no action this executor runs", s.Addr)
}

// command runs a local process: argv as given (no shell), in its own
// process group so that a timeout ends it and everything it started.
func (e *Executor) command(ctx context.Context, s *steps.Step, env *Env) (map[string]string, error) {
	c := s.Args.Command
	if len(c.Run) == 0 {
		return nil, errors.New("command has no program")
	}
	dir := e.path(c.Dir)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		// exec would blame the program: "fork/exec /usr/bin/true: no such file or directory".
		return nil, fmt.Errorf("the directory to run %s in, %s, does not exist or is not a directory (dir is relative to the plan directory)", c.Run[0], dir)
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
		return nil, fmt.Errorf("writing the context file: %v", err)
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
	out := e.output(env.secrets())
	cmd.Stdout, cmd.Stderr = out, out
	err = cmd.Run()
	text := out.String()
	detail := map[string]string{"output": text}
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("stopped (%v), with its process group", ctx.Err())
		}
		return detail, transient(fmt.Errorf("%s: %v; last output: %s", c.Run[0], err, lastLines(text, 5)))
	}
	return detail, nil
}

// path resolves a path of the plan to an absolute one: relative ones
// start at the plan directory, "" is the plan directory.
func (e *Executor) path(p string) string {
	if !filepath.IsAbs(p) {
		p = filepath.Join(e.PlanDir, p)
	}
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

// contextFile writes the run's facts (Env.Context) for a command, readable
// by its owner only, and returns its name.
func (e *Executor) contextFile(env *Env) (string, error) {
	b, err := env.Context()
	if err != nil {
		return "", err
	}
	dir := e.RunDir
	if dir == "" {
		dir = os.TempDir()
	}
	// The command runs elsewhere: it needs the absolute name.
	if dir, err = filepath.Abs(dir); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(dir, "context-*.json")
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

func recoverySites(p *steps.Program) string {
	if p == nil {
		return ""
	}
	var out []string
	for _, s := range p.Sites {
		if s.Role == "recovery" {
			out = append(out, s.Name)
		}
	}
	return strings.Join(out, ",")
}

// output returns a buffer for a process's output, scrubbed of secrets.
func (e *Executor) output(secrets *redact.Set) *outputBuffer {
	o := &outputBuffer{limit: e.OutputLimit, redact: secrets.Redact, hold: max(secrets.LongestSecret()-1, 0)}
	if o.limit <= 0 {
		o.limit = 16 << 10
	}
	return o
}

// outputBuffer keeps the last limit bytes written to it, scrubbed of
// secrets. It keeps hold bytes more than it shows, so that a secret the
// cut falls into is still whole when it is scrubbed and its remains are
// then cut off with the rest.
type outputBuffer struct {
	mu     sync.Mutex
	buf    []byte
	limit  int
	hold   int
	cut    bool
	redact func(string) string
}

func (o *outputBuffer) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf = append(o.buf, p...)
	if over := len(o.buf) - o.limit - o.hold; over > 0 {
		o.buf = append(o.buf[:0:0], o.buf[over:]...)
		o.cut = true
	}
	return len(p), nil
}

// String is the output kept, scrubbed, with a mark where it was cut.
func (o *outputBuffer) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	text := o.redact(string(o.buf))
	if !o.cut {
		return text
	}
	drop := min(len(text), max(o.hold, len(text)-o.limit))
	for drop < len(text) && !utf8.RuneStart(text[drop]) {
		drop++
	}
	return "[output cut to its last bytes]\n…" + text[drop:]
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

// dialFunc connects a check.
type dialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// dialer is how checks of env's program connect: through Dial when it is
// set, else over the network.
func (e *Executor) dialer(env *Env) dialFunc {
	if e.Dial == nil {
		var d net.Dialer
		return d.DialContext
	}
	rp, mode := "", ""
	if env != nil {
		mode = env.Mode
		if env.Program != nil {
			rp = env.Program.RecoveryPlan
		}
	}
	return func(ctx context.Context, _, address string) (net.Conn, error) {
		return e.Dial(ctx, rp, mode, address)
	}
}

// VirtualCheckPoll is how often, in plan time, an http or tcp check tries
// again on a virtual clock (a simulated world's checks).
const VirtualCheckPoll = 5 * time.Second

// pause waits before a check tries again: pollEvery, or VirtualCheckPoll
// of plan time on a virtual clock.
func (e *Executor) pause(ctx context.Context) error {
	c := clock.Of(e.Clock)
	if c.Virtual() {
		return c.Sleep(ctx, VirtualCheckPoll)
	}
	return c.Sleep(ctx, pollEvery)
}

// http requests a URL until it answers as expected or the step's time is
// up. It never goes through a proxy of the environment: a check asks the
// host it names.
func (e *Executor) http(ctx context.Context, h *steps.HTTP, dial dialFunc) (map[string]string, error) {
	var body *regexp.Regexp
	if h.ExpectBody != "" {
		var err error
		if body, err = regexp.Compile(h.ExpectBody); err != nil {
			return nil, err
		}
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true}}
	tries := 0
	for {
		tries++
		req, err := http.NewRequestWithContext(ctx, h.Method, h.URL, nil)
		if err != nil {
			return nil, err
		}
		for k, v := range h.Headers {
			if strings.EqualFold(k, "Host") {
				req.Host = v // a virtual host behind an address
				continue
			}
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
				err = fmt.Errorf("%s %s answered %d, but the body does not match %q", h.Method, h.URL, resp.StatusCode, h.ExpectBody)
			default:
				return map[string]string{"status": fmt.Sprint(resp.StatusCode), "tries": fmt.Sprint(tries)}, nil
			}
		}
		if e.pause(ctx) != nil {
			return nil, transient(fmt.Errorf("%v (still failing after %d tries when the step's time ran out)", err, tries))
		}
	}
}

// tcp connects to an address until it accepts or the step's time is up.
func (e *Executor) tcp(ctx context.Context, t *steps.TCP, dial dialFunc) (map[string]string, error) {
	tries := 0
	for {
		tries++
		conn, err := dial(ctx, "tcp", t.Address)
		if err == nil {
			conn.Close()
			return map[string]string{"address": t.Address, "tries": fmt.Sprint(tries)}, nil
		}
		if e.pause(ctx) != nil {
			return nil, transient(fmt.Errorf("connecting to %s: %v (still failing after %d tries when the step's time ran out)", t.Address, err, tries))
		}
	}
}

// prompt asks the operator through the UI and waits for the answer; the
// steps that do not depend on it go on meanwhile. Prompts are asked one
// at a time. The question, the answer and who gave it (the OS user
// running drplan) go to the journal.
func (e *Executor) prompt(ctx context.Context, s *steps.Step, env *Env) (map[string]string, error) {
	// The message may interpolate a sensitive value: it is redacted
	// like every other output, on the terminal as in errors.
	msg := env.secrets().Redact(s.Args.Prompt.Message)
	detail := map[string]string{"message": msg, "by": osUser()}
	if e.UI == nil {
		return detail, fmt.Errorf("step %s asks %q, but this run has no one to ask", s.Addr, msg)
	}
	e.promptMu.Lock()
	defer e.promptMu.Unlock()
	answer, approved, err := e.UI.Confirm(ctx, s.Addr.String(), msg)
	if answer != "" {
		detail["answer"] = answer
	}
	switch {
	case err != nil:
		return detail, err
	case !approved:
		return detail, fmt.Errorf("%s answered %q to %q; only yes goes on", detail["by"], answer, msg)
	}
	return detail, nil
}

// osUser names the OS user running drplan, and who they are through sudo.
func osUser() string {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	if su := os.Getenv("SUDO_USER"); su != "" && su != name {
		name += " (sudo from " + su + ")"
	}
	return name
}
