package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Targets that drplan validate is held to.
const (
	minSpeedup  = 5.0   // times faster than terraform validate
	maxOverRaw  = 3.0   // times the raw parse
	maxRSSBytes = 150e6 // peak resident memory
)

// cmdTimeout bounds any one subprocess.
const cmdTimeout = 10 * time.Minute

// result is one row of the table.
type result struct {
	name        string
	unavailable string        // why there are no figures, or ""
	runs        int           // measured runs
	wall        time.Duration // median wall time
	rss         int64         // peak resident bytes over the runs, 0 if not measured
	alloc       uint64        // median bytes allocated, 0 if not measured
	note        string        // anything else worth saying
}

func main() {
	vms := flag.Int("vms", 10000, "number of VMs in the generated plan")
	runs := flag.Int("runs", 5, "measured runs of each command (terraform: at most 3 when one run takes over 5s)")
	keep := flag.Bool("keep", false, "keep the generated directories and print where they are")
	validate := flag.String("validate", "", "only time `drplan validate` and its peak RSS on generated plans of these comma-separated VM counts (make bench-validate)")
	flag.Parse()
	var err error
	if *validate != "" {
		err = runValidate(os.Stdout, *validate, *runs, *keep)
	} else {
		err = run(os.Stdout, *vms, *runs, *keep)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// run generates both configurations, measures the three rows and prints the
// table and the targets to w.
func run(w io.Writer, vms, runs int, keep bool) error {
	if runs < 1 {
		return errors.New("-runs must be at least 1")
	}
	root, err := os.MkdirTemp("", "drplan-bench-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(root)
	}
	planDir, tfDir := filepath.Join(root, "plan"), filepath.Join(root, "terraform")
	if err := Generate(planDir, vms); err != nil {
		return fmt.Errorf("generate plan: %w", err)
	}
	if err := GenerateTerraform(tfDir, vms); err != nil {
		return fmt.Errorf("generate terraform: %w", err)
	}
	planFiles, planSize := dirStats(planDir, ".drplan.hcl")
	tfFiles, tfSize := dirStats(tfDir, ".tf")
	fmt.Fprintf(w, "drplan bench: %d VMs, %d protection groups, %d tiers, %d steps\n", vms, numGroups, numTiers, numSteps)
	fmt.Fprintf(w, "plan: %d files, %s; terraform: %d files, %s; %d runs each, median wall time\n\n",
		planFiles, mb(planSize), tfFiles, mb(tfSize), runs)

	drplan := benchDrplan(root, planDir, runs)
	raw := benchParse(planDir, runs)
	tf := benchTerraform(root, tfDir, runs)
	printTable(w, drplan, raw, tf)
	fmt.Fprintln(w)
	printTargets(w, drplan, raw, tf)
	fmt.Fprintln(w)
	benchCompile(w, planDir, runs)
	if keep {
		fmt.Fprintf(w, "\nkept: plan %s\n      terraform %s\n", planDir, tfDir)
	}
	return nil
}

// benchDrplan builds ./cmd/drplan into root/bin and times `drplan validate`.
func benchDrplan(root, planDir string, runs int) result {
	r := result{name: "drplan validate"}
	mod, err := moduleRoot()
	if err != nil {
		r.unavailable = err.Error()
		return r
	}
	bin := filepath.Join(root, "bin", "drplan")
	build := exec.Command("go", "build", "-o", bin, "./cmd/drplan")
	build.Dir = mod
	if out, err := build.CombinedOutput(); err != nil {
		r.unavailable = "go build ./cmd/drplan: " + firstLine(out, err)
		return r
	}
	return measure(r, runs, runs, func(ctx context.Context) *exec.Cmd {
		return exec.CommandContext(ctx, bin, "validate", planDir)
	})
}

// benchTerraform runs `terraform init` once in tfDir and times
// `terraform validate`, with an empty CLI configuration and no checkpoint.
func benchTerraform(root, tfDir string, runs int) result {
	r := result{name: "terraform validate"}
	tf, err := exec.LookPath("terraform")
	if err != nil {
		r.unavailable = "terraform not on PATH"
		return r
	}
	rc := filepath.Join(root, "terraformrc")
	if err := os.WriteFile(rc, nil, 0o644); err != nil {
		r.unavailable = err.Error()
		return r
	}
	env := append(os.Environ(), "TF_CLI_CONFIG_FILE="+rc, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1")
	tfCmd := func(ctx context.Context, args ...string) *exec.Cmd {
		c := exec.CommandContext(ctx, tf, args...)
		c.Dir, c.Env = tfDir, env
		return c
	}
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	if out, err := tfCmd(ctx, "init", "-backend=false", "-input=false", "-no-color").CombinedOutput(); err != nil {
		r.unavailable = "terraform init: " + firstLine(out, err)
		return r
	}
	return measure(r, runs, 3, func(ctx context.Context) *exec.Cmd {
		return tfCmd(ctx, "validate", "-no-color")
	})
}

// measure runs the command once to warm up, then runs times (slowRuns when
// the warm-up took over 5s), and fills r with the median wall time and the
// peak RSS. A failing command still gets figures, with its error as a note.
func measure(r result, runs, slowRuns int, mk func(context.Context) *exec.Cmd) result {
	wall, _, out, err := timeCmd(mk)
	if errors.Is(err, context.DeadlineExceeded) {
		r.unavailable = "timed out after " + cmdTimeout.String()
		return r
	}
	if err != nil {
		r.note = fmt.Sprintf("%v: %s", err, firstLine(out, err))
	}
	if wall > 5*time.Second {
		runs = min(runs, slowRuns)
	}
	var walls []time.Duration
	for range runs {
		wall, rss, out, err := timeCmd(mk)
		if err != nil && r.note == "" {
			r.note = fmt.Sprintf("%v: %s", err, firstLine(out, err))
		}
		if errors.Is(err, context.DeadlineExceeded) {
			r.unavailable = "timed out after " + cmdTimeout.String()
			return r
		}
		walls = append(walls, wall)
		r.rss = max(r.rss, rss)
	}
	r.runs, r.wall = runs, median(walls)
	return r
}

// timeCmd runs one command and returns its wall time, peak RSS in bytes and
// combined output.
func timeCmd(mk func(context.Context) *exec.Cmd) (time.Duration, int64, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	c := mk(ctx)
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	start := time.Now()
	err := c.Run()
	wall := time.Since(start)
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	var rss int64
	if c.ProcessState != nil {
		if ru, ok := c.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss = int64(ru.Maxrss) * 1024 // KiB on Linux
		}
	}
	return wall, rss, out.Bytes(), err
}

// benchParse reads and parses every plan file with hclsyntax.ParseConfig
// in-process, runs times after one warm-up, and reports the median wall time
// and bytes allocated.
func benchParse(planDir string, runs int) result {
	r := result{name: "raw hclsyntax.ParseConfig"}
	files, err := filepath.Glob(filepath.Join(planDir, "*.drplan.hcl"))
	if err != nil || len(files) == 0 {
		r.unavailable = fmt.Sprintf("no plan files in %s", planDir)
		return r
	}
	parse := func() error {
		for _, f := range files {
			src, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			if _, diags := hclsyntax.ParseConfig(src, f, hcl.InitialPos); diags.HasErrors() {
				return diags
			}
		}
		return nil
	}
	if err := parse(); err != nil {
		r.unavailable = err.Error()
		return r
	}
	var walls []time.Duration
	var allocs []uint64
	var before, after runtime.MemStats
	for range runs {
		runtime.GC()
		runtime.ReadMemStats(&before)
		start := time.Now()
		_ = parse()
		walls = append(walls, time.Since(start))
		runtime.ReadMemStats(&after)
		allocs = append(allocs, after.TotalAlloc-before.TotalAlloc)
	}
	r.runs, r.wall, r.alloc = runs, median(walls), median(allocs)
	r.note = fmt.Sprintf("%d files, in-process", len(files))
	return r
}

// printTable prints the rows side by side.
func printTable(w io.Writer, rows ...result) {
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "what\truns\twall (median)\tpeak RSS\tallocated\tnote")
	for _, r := range rows {
		if r.unavailable != "" {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\tunavailable: %s\n", r.name, r.unavailable)
			continue
		}
		rss, alloc := "-", "-"
		if r.rss > 0 {
			rss = mb(r.rss)
		}
		if r.alloc > 0 {
			alloc = mb(int64(r.alloc))
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", r.name, r.runs, dur(r.wall), rss, alloc, r.note)
	}
	tw.Flush()
}

// printTargets prints one PASS/FAIL line per target, with the figures.
func printTargets(w io.Writer, drplan, raw, tf result) {
	fmt.Fprintln(w, "targets")
	check := func(what string, ok bool, figures string, missing ...result) {
		for _, r := range missing {
			if r.unavailable != "" {
				fmt.Fprintf(w, "  n/a   %s: %s unavailable\n", what, r.name)
				return
			}
		}
		verdict := "FAIL"
		if ok {
			verdict = "PASS"
		}
		fmt.Fprintf(w, "  %s  %s: %s\n", verdict, what, figures)
	}
	speedup := ratio(tf.wall, drplan.wall)
	check(fmt.Sprintf("validate ≥ %.0f× faster than terraform validate", minSpeedup), speedup >= minSpeedup,
		fmt.Sprintf("%.1f× (%s vs %s)", speedup, dur(drplan.wall), dur(tf.wall)), drplan, tf)
	over := ratio(drplan.wall, raw.wall)
	check(fmt.Sprintf("validate ≤ %.0f× the raw parse", maxOverRaw), over <= maxOverRaw,
		fmt.Sprintf("%.1f× (%s vs %s)", over, dur(drplan.wall), dur(raw.wall)), drplan, raw)
	check(fmt.Sprintf("validate peak RSS ≤ %.0f MB", maxRSSBytes/1e6), drplan.rss <= maxRSSBytes,
		mb(drplan.rss), drplan)
	if drplan.unavailable == "" {
		check("validate accepts the generated plan", drplan.note == "", cmp.Or(drplan.note, "exit status 0"))
	}
}

// moduleRoot returns the directory of the main module's go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not run inside the drplan module")
	}
	return filepath.Dir(gomod), nil
}

// dirStats returns the number and total size of the files in dir whose name
// ends in suffix.
func dirStats(dir, suffix string) (n int, size int64) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if info, err := e.Info(); err == nil && strings.HasSuffix(e.Name(), suffix) {
			n++
			size += info.Size()
		}
	}
	return n, size
}

// firstLine returns the first meaningful line of a command's output, or
// err's text when there is none.
func firstLine(out []byte, err error) string {
	for line := range strings.Lines(string(out)) {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "╷") && line != "│" {
			line = strings.TrimSpace(strings.TrimPrefix(line, "│"))
			if len(line) > 160 {
				line = line[:160] + "…"
			}
			return line
		}
	}
	return err.Error()
}

// median returns the middle value of xs (the upper one of two), sorting xs.
func median[T cmp.Ordered](xs []T) T {
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// ratio returns a/b, or 0 when b is 0.
func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// dur prints d in ms below a second and in s above.
func dur(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

// mb prints n bytes in decimal megabytes.
func mb(n int64) string {
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}
