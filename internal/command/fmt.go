package command

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"github.com/rogpeppe/go-internal/diff"

	"github.com/drplan/drplan/internal/diagview"
	"github.com/drplan/drplan/operations"
	"github.com/drplan/drplan/plans"
)

func runFmt(c *cli, args []string) int {
	f := c.newFlags("fmt", "[-check] [-diff] [-recursive] [-list=false] [-write=false] [DIR|FILE|-]",
		"Rewrites *.drplan.hcl files in canonical HCL style. With a directory it\nformats the plan files in it (and below it with -recursive); with a file,\nthat file; with -, standard input to standard output. A file with syntax\nerrors is reported and never rewritten. Exits 3 with -check when a file\nwould change, 1 on errors.")
	check := f.Bool("check", false, "change nothing; exit 3 if any file is not formatted")
	showDiff := f.Bool("diff", false, "print the differences")
	recursive := f.Bool("recursive", false, "also format plan files in subdirectories")
	list := f.Bool("list", true, "print the names of files whose formatting differs")
	write := f.Bool("write", true, "write the result back to the files")
	f.BoolVar(&f.noColor, "no-color", false, "print without colour")
	pos, code, ok := c.parse(f, args, 1)
	if !ok {
		return code
	}
	target := "."
	if len(pos) == 1 {
		target = pos[0]
	}
	if *check {
		*write = false
	}

	if target == "-" {
		src, err := io.ReadAll(os.Stdin)
		if err != nil {
			fmt.Fprintf(c.stderr, "drplan fmt: cannot read standard input: %v\n", err)
			return ExitError
		}
		out, diags := operations.Format("<stdin>", src)
		if diags.HasErrors() {
			c.fmtDiags(f, "<stdin>", src, diags)
			return ExitError
		}
		c.stdout.Write(out)
		return ExitOK
	}

	files, err := operations.FormatFiles(target, *recursive)
	if err != nil {
		fmt.Fprintf(c.stderr, "drplan fmt: %v\n", err)
		return ExitError
	}
	changed, failed := false, false
	for _, name := range files {
		src, err := plans.ReadFile(name) // regular files of at most plans.MaxFileSize
		if err != nil {
			fmt.Fprintf(c.stderr, "drplan fmt: cannot read %s: %v\n", name, err)
			failed = true
			continue
		}
		out, diags := operations.Format(name, src)
		if diags.HasErrors() {
			c.fmtDiags(f, name, src, diags)
			failed = true
			continue
		}
		if bytes.Equal(src, out) {
			continue
		}
		changed = true
		if *list {
			fmt.Fprintln(c.stdout, name)
		}
		if *showDiff {
			c.stdout.Write(diff.Diff("old/"+filepath.ToSlash(name), src, "new/"+filepath.ToSlash(name), out))
		}
		if *write {
			if err := operations.WriteFormatted(name, out); err != nil {
				fmt.Fprintf(c.stderr, "drplan fmt: %v\n", err)
				failed = true
			}
		}
	}
	switch {
	case failed:
		return ExitError
	case *check && changed:
		return ExitChanges
	}
	return ExitOK
}

func (c *cli) fmtDiags(f *flags, name string, src []byte, diags hcl.Diagnostics) {
	files := map[string]*hcl.File{name: {Bytes: src}}
	diagview.Text{Files: files, Color: c.color(c.stderr, f.noColor)}.Write(c.stderr, diags)
	fmt.Fprintf(c.stderr, "%s was not formatted: fix the syntax errors above first.\n", name)
}
