package libvirt

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/drplan/drplan/providers"
)

// TestAsUserQuoting runs the command line asUser builds for su through
// a real /bin/sh: every argument arrives as the word it was, whatever
// shell syntax it holds.
func TestAsUserQuoting(t *testing.T) {
	args := []string{"%s|", "a b", "it's", "$HOME", "`id`", `"q"`, "; rm -rf /", ""}
	prog, argv, err := asUser(providers.GuestRequest{Username: "app", Password: "unused", Program: "printf", Args: args})
	if err != nil {
		t.Fatal(err)
	}
	if prog != "/bin/su" || len(argv) != 5 || argv[0] != "-s" || argv[1] != "/bin/sh" || argv[2] != "app" || argv[3] != "-c" {
		t.Fatalf("asUser = %s %q", prog, argv)
	}
	out, err := exec.Command("/bin/sh", "-c", argv[4]).Output()
	if err != nil {
		t.Fatalf("sh -c %s: %v", argv[4], err)
	}
	if want := strings.Join(args[1:], "|") + "|"; string(out) != want {
		t.Errorf("the guest would run printf with %q, want %q", out, want)
	}
	for _, u := range []string{"", "root"} {
		if p, a, err := asUser(providers.GuestRequest{Username: u, Program: "/bin/true", Args: []string{"x"}}); err != nil || p != "/bin/true" || len(a) != 1 {
			t.Errorf("user %q: %s %q, %v", u, p, a, err)
		}
	}
	for _, u := range []string{"-c", "a b", "x;id", "$(id)", "--login"} {
		if _, _, err := asUser(providers.GuestRequest{Username: u, Program: "/bin/true"}); err == nil {
			t.Errorf("user name %q accepted", u)
		}
	}
}
