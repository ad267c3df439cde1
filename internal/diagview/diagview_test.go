package diagview

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

func testDiag() (map[string]*hcl.File, hcl.Diagnostics) {
	src := []byte("site \"east\" {\n  password = \"hunter22\"\n}\n")
	files := map[string]*hcl.File{"a.drplan.hcl": {Bytes: src}}
	rng := hcl.Range{Filename: "a.drplan.hcl",
		Start: hcl.Pos{Line: 2, Column: 14, Byte: 27}, End: hcl.Pos{Line: 2, Column: 24, Byte: 37}}
	return files, hcl.Diagnostics{{Severity: hcl.DiagWarning, Summary: "Password given as a literal", Detail: "Use a sensitive variable.", Subject: &rng}}
}

func TestTextUnderlinesSubject(t *testing.T) {
	files, diags := testDiag()
	var b bytes.Buffer
	if err := (Text{Files: files}).Write(&b, diags); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := strings.Split(out, "\n")
	var code, carets string
	for i, l := range lines {
		if strings.Contains(l, `password = "hunter22"`) {
			code, carets = l, lines[i+1]
		}
	}
	if code == "" {
		t.Fatalf("source line missing:\n%s", out)
	}
	at := strings.Index(code, `"hunter22"`)
	if strings.Index(carets, "^") != at || strings.Count(carets, "^") != len(`"hunter22"`) {
		t.Errorf("underline does not sit under the subject:\n%s\n%s", code, carets)
	}
	for _, want := range []string{"Warning: Password given as a literal", "on a.drplan.hcl line 2", "Use a sensitive variable."} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}

func TestRedactedSnippets(t *testing.T) {
	files, diags := testDiag()
	redact := func(s string) string { return strings.ReplaceAll(s, "hunter22", "(sensitive)") }
	var b bytes.Buffer
	(Text{Files: files, Redact: redact}).Write(&b, diags)
	if strings.Contains(b.String(), "hunter22") {
		t.Errorf("text shows the secret:\n%s", b.String())
	}
	doc := NewDocument(files, diags, redact)
	s := doc.Diagnostics[0].Snippet
	if strings.Contains(s.Code, "hunter22") || s.HighlightEndOffset > len(s.Code) {
		t.Errorf("json snippet %+v", s)
	}
	if !doc.Valid || doc.WarningCount != 1 || doc.ErrorCount != 0 {
		t.Errorf("counts: %+v", doc)
	}
}

// TestLongValueShortened: a 100,000-character value is shown shortened in
// the source line, its underline and the message, in text and in JSON.
func TestLongValueShortened(t *testing.T) {
	v := strings.Repeat("x", 100_000)
	src := []byte("site \"east\" {\n  rpo = \"" + v + "\"\n}\n")
	files := map[string]*hcl.File{"a.drplan.hcl": {Bytes: src}}
	start := strings.Index(string(src), `"x`)
	end := start + len(v) + 2
	rng := hcl.Range{Filename: "a.drplan.hcl",
		Start: hcl.Pos{Line: 2, Column: 9, Byte: start}, End: hcl.Pos{Line: 2, Column: 9 + len(v) + 2, Byte: end}}
	diags := hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid duration",
		Detail: "Attribute \"rpo\":\n\"" + v + "\"\nis not a duration.", Subject: &rng}}
	var b bytes.Buffer
	if err := (Text{Files: files}).Write(&b, diags); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	unwrapped := strings.ReplaceAll(out, "\n│ ", " ")
	if len(out) > 3000 || strings.Count(unwrapped, "…(100002 characters)…") != 1 || strings.Count(unwrapped, "…(100000 characters)…") != 1 {
		t.Fatalf("text output of %d bytes:\n%s", len(out), out)
	}
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.Contains(l, "rpo = ") {
			code, carets := l, lines[i+1]
			at := strings.Index(code, `"xxx`)
			if strings.Index(carets, "^") != at || strings.Count(carets, "^") != len([]rune(code[at:])) {
				t.Errorf("underline does not sit under the shortened value:\n%s\n%s", code, carets)
			}
		}
	}
	doc := NewDocument(files, diags, nil)
	d := doc.Diagnostics[0]
	if len(d.Detail) > 500 || len(d.Snippet.Code) > 500 || !strings.Contains(d.Detail, "…(100000 characters)…") {
		t.Fatalf("json: detail %d bytes, code %d bytes", len(d.Detail), len(d.Snippet.Code))
	}
	if hl := d.Snippet.Code[d.Snippet.HighlightStartOffset:d.Snippet.HighlightEndOffset]; !strings.HasPrefix(hl, `"xxx`) || !strings.HasSuffix(hl, `xxx"`) {
		t.Errorf("json highlight %q", hl)
	}
}
