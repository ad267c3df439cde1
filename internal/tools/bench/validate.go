package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Targets of make bench-validate.
const (
	maxValidate100k = 5 * time.Second // validate of a 100,000-VM plan
	maxRSS10k       = 150e6           // peak RSS of validate of a 10,000-VM plan
)

// runValidate generates one plan per VM count in counts ("10000,100000"),
// times `drplan validate` on each (median of runs after one warm-up) with
// its peak RSS, and checks the targets for 10,000 and 100,000 VMs.
func runValidate(w io.Writer, counts string, runs int, keep bool) error {
	var sizes []int
	for _, f := range strings.Split(counts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < numGroups {
			return fmt.Errorf("-validate: %q is not a VM count of at least %d", f, numGroups)
		}
		sizes = append(sizes, n)
	}
	if runs < 1 {
		return fmt.Errorf("-runs must be at least 1")
	}
	root, err := os.MkdirTemp("", "drplan-bench-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(root)
	}
	mod, err := moduleRoot()
	if err != nil {
		return err
	}
	bin := filepath.Join(root, "bin", "drplan")
	build := exec.Command("go", "build", "-o", bin, "./cmd/drplan")
	build.Dir = mod
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/drplan: %s", firstLine(out, err))
	}
	var rows []result
	var sizesMB []string
	for _, n := range sizes {
		dir := filepath.Join(root, fmt.Sprintf("plan-%d", n))
		if err := Generate(dir, n); err != nil {
			return fmt.Errorf("generate %d VMs: %w", n, err)
		}
		_, size := dirStats(dir, ".drplan.hcl")
		sizesMB = append(sizesMB, mb(size))
		r := measure(result{name: fmt.Sprintf("drplan validate, %d VMs", n)}, runs, runs, func(ctx context.Context) *exec.Cmd {
			return exec.CommandContext(ctx, bin, "validate", dir)
		})
		rows = append(rows, r)
	}
	fmt.Fprintf(w, "drplan validate: %d runs each after one warm-up, median wall time, peak RSS over the runs\n\n", runs)
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "VMs\tplan size\twall (median)\tpeak RSS\tnote")
	for i, r := range rows {
		if r.unavailable != "" {
			fmt.Fprintf(tw, "%d\t%s\t-\t-\tunavailable: %s\n", sizes[i], sizesMB[i], r.unavailable)
			continue
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", sizes[i], sizesMB[i], dur(r.wall), mb(r.rss), r.note)
	}
	tw.Flush()
	fmt.Fprintln(w, "\ntargets")
	for i, r := range rows {
		if r.unavailable != "" {
			continue
		}
		verdict := func(ok bool) string {
			if ok && r.note == "" {
				return "PASS"
			}
			return "FAIL"
		}
		switch sizes[i] {
		case 10000:
			fmt.Fprintf(w, "  %s  validate of 10,000 VMs peaks at ≤ %.0f MB: %s\n", verdict(r.rss <= maxRSS10k), maxRSS10k/1e6, mb(r.rss))
		case 100000:
			fmt.Fprintf(w, "  %s  validate of 100,000 VMs in ≤ %s: %s\n", verdict(r.wall <= maxValidate100k), maxValidate100k, dur(r.wall))
		}
	}
	if keep {
		fmt.Fprintf(w, "\nkept: %s\n", root)
	}
	return nil
}
