package addrs

import (
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

func TestParseRefRoundTrip(t *testing.T) {
	for _, s := range []string{"tier.web", "protection_group.db", "vm.db-01", "step.promote-array", "site.east"} {
		r, err := ParseRef(s)
		if err != nil {
			t.Fatalf("ParseRef(%q): %v", s, err)
		}
		if r.String() != s {
			t.Errorf("ParseRef(%q).String() = %q", s, r.String())
		}
	}
	for _, s := range []string{"", "tier", "tier.", "bogus.x"} {
		if _, err := ParseRef(s); err == nil {
			t.Errorf("ParseRef(%q) succeeded; want an error", s)
		}
	}
}

func TestRefFromTraversal(t *testing.T) {
	tr, diags := hclsyntax.ParseTraversalAbs([]byte("protection_group.db.vms"), "x", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	ref, rest, ok := RefFromTraversal(tr)
	if !ok || ref != (Ref{ProtectionGroup, "db"}) || len(rest) != 1 {
		t.Fatalf("got %v %v %v", ref, rest, ok)
	}
	tr, _ = hclsyntax.ParseTraversalAbs([]byte("foo.bar"), "x", hcl.InitialPos)
	if _, _, ok := RefFromTraversal(tr); ok {
		t.Fatal("foo.bar is not an address")
	}
}
