package operations

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/drplan/drplan/internal/fsutil"
	"github.com/drplan/drplan/plans"
)

// Format returns src in canonical style, or the syntax errors that stop
// it from being formatted safely.
func Format(name string, src []byte) ([]byte, hcl.Diagnostics) {
	if diags := plans.CheckNesting(src, name); diags.HasErrors() {
		return nil, diags
	}
	if _, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos); diags.HasErrors() {
		return nil, diags
	}
	return hclwrite.Format(src), nil
}

// FormatFiles lists the plan files to format (drplan fmt) for a file or
// a directory, and the directories below it when recursive.
func FormatFiles(target string, recursive bool) ([]string, error) {
	st, err := os.Stat(target)
	if err != nil {
		return nil, fmt.Errorf("no such file or directory: %s", target)
	}
	if !st.IsDir() {
		if strings.HasSuffix(target, ".json") {
			return nil, fmt.Errorf("%s is JSON; fmt formats native HCL syntax only", target)
		}
		return []string{target}, nil
	}
	var files []string
	err = filepath.WalkDir(target, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != target && (!recursive || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(d.Name(), plans.HCLSuffix) {
			files = append(files, p)
		}
		return nil
	})
	return files, err
}

// WriteFormatted replaces a plan file's contents, keeping its
// permissions, atomically so that a crash never leaves half a plan; a
// symlinked plan file stays a link (fsutil.WriteFile).
func WriteFormatted(name string, data []byte) error {
	return fsutil.WriteFile(name, data, 0o644)
}
