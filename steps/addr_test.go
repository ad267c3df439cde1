package steps

import (
	"encoding/json"
	"testing"
)

func TestAddrRoundTrip(t *testing.T) {
	for _, a := range []Addr{
		TierStart("web"), TierDone("web"), TierVM("web", "web-01", "power_on"),
		TierVM("web", "dc1/web 01", "wait_ready"), // a VM name with a slash and a space
		GroupStep("db", "", "sync"), GroupStep("db", "db-01", "reverse"),
		SiteStep("east", "verify_gone"), PlanStep("smoke"),
		VMStep(ScopeProtected, "db-01", "shutdown"), VMStep(ScopeSuspend, "t-01", "power_off"), VMStep(ScopeResume, "t-01", "power_on"),
	} {
		text := a.String()
		got, err := ParseAddr(text)
		if err != nil || got != a {
			t.Errorf("ParseAddr(%q) = %+v, %v; want %+v", text, got, err, a)
		}
		b, _ := json.Marshal(map[string]Addr{"a": a})
		var back map[string]Addr
		if err := json.Unmarshal(b, &back); err != nil || back["a"] != a {
			t.Errorf("JSON %s: %+v, %v", b, back, err)
		}
	}
	if got := TierVM("web", "web-01", "power_on").String(); got != "tier.web/vm.web-01/power_on" {
		t.Errorf("String = %q", got)
	}
}

func TestParseAddrRefuses(t *testing.T) {
	for _, s := range []string{"tier", "tier.", "tier.web", "tier.web/", "step.x/y", "vm.x/power_on", "protected/power_on",
		"protected.x/vm.a/b", "bogus/vm.a/b", "tier.web/vm./start", "tier.web/vm.a", "tier.web/a/b"} {
		if a, err := ParseAddr(s); err == nil {
			t.Errorf("ParseAddr(%q) = %+v, want an error", s, a)
		}
	}
}
