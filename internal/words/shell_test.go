package words

import (
	"os/exec"
	"strings"
	"testing"
)

// TestShellLine: a line of ShellWords run by a real /bin/sh gives every
// argument back as it was; plain words stay unquoted.
func TestShellLine(t *testing.T) {
	args := []string{"%s|", "plain-word_1.2:3", "a b", "it's", "$HOME", "`id`", `"q"`, "; rm -rf /", ""}
	out, err := exec.Command("/bin/sh", "-c", "printf "+ShellLine(args...)).Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Join(args[1:], "|") + "|"; string(out) != want {
		t.Errorf("sh gave %q, want %q", out, want)
	}
	if got := ShellWord("plain-word_1.2:3"); got != "plain-word_1.2:3" {
		t.Errorf("ShellWord quoted a plain word: %s", got)
	}
}
