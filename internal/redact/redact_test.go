package redact_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drplan/drplan/internal/redact"
)

// TestNested: a secret that contains another is hidden whole, whichever
// was added first, in text and in JSON; short values and a nil set hide
// nothing.
func TestNested(t *testing.T) {
	const inner, outer = "tok-81f3c9", "prefix-tok-81f3c9-suffix"
	for _, adds := range [][]string{{inner, outer}, {outer, inner}} {
		var s redact.Set
		for _, v := range adds {
			s.Add(v)
		}
		s.Add("ab") // too short to hide
		text := "outer " + outer + ", inner " + inner + ", ab"
		if got, want := s.Redact(text), "outer "+redact.Mask+", inner "+redact.Mask+", ab"; got != want {
			t.Errorf("added %q: Redact = %q, want %q", adds, got, want)
		}
		doc := []byte(`{"a": "` + outer + `", "b": "x` + inner + `"}`)
		if got, want := string(s.RedactJSON(doc)), `{"a": "`+redact.Mask+`", "b": "x`+redact.Mask+`"}`; got != want {
			t.Errorf("added %q: RedactJSON = %s, want %s", adds, got, want)
		}
		if s.LongestSecret() != len(outer) || s.Len() != 2 || !s.Hides("a "+inner) || s.Hides("nothing") {
			t.Errorf("added %q: longest %d, len %d", adds, s.LongestSecret(), s.Len())
		}
	}
	var none *redact.Set
	if none.Redact("x") != "x" || none.LongestSecret() != 0 || string(none.RedactJSON([]byte("{}"))) != "{}" {
		t.Error("a nil set hides something")
	}
}

// TestJSONEscapes: a secret with characters JSON escapes is found in its
// escaped form.
func TestJSONEscapes(t *testing.T) {
	var s redact.Set
	s.Add(`p"w<d`)
	if got := string(s.RedactJSON([]byte(`{"pw":"p\"w\u003cd"}`))); got != `{"pw":"`+redact.Mask+`"}` {
		t.Errorf("RedactJSON = %s", got)
	}
}

// TestOneMask: the mask's text is written once, in this package; every
// other Go file of the module names redact.Mask. (Tests may look for the
// text in what drplan writes.)
func TestOneMask(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found at %s: %v", root, err)
	}
	home := filepath.Join(root, "internal", "redact", "redact.go")
	fset := token.NewFileSet()
	files := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || path == home {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		files++
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING && strings.Contains(lit.Value, redact.Mask) {
				t.Errorf("%s: the literal %s; use redact.Mask", fset.Position(lit.Pos()), lit.Value)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("read only %d Go files under %s", files, root)
	}
}
