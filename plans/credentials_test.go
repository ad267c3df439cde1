package plans

import (
	"strings"
	"testing"
)

// TestCheckCredentials: a password in an http step's URL, the credential
// of an Authorization header and a command's SLACK_TOKEN are secrets of
// the plan (never
// printed, journaled or reported), and a literal one is a warning, as a
// literal vCenter password is.
func TestCheckCredentials(t *testing.T) {
	src := string(minimalPlan(t))
	src = strings.Replace(src, `  tier "web" {`, `  step "smoke" {
    after = [tier.web]
    http {
      url     = "http://monitor:s3cr3t-pw@web-01:8080/health"
      headers = { Authorization = "Bearer tok-0123456789" }
    }
  }
  step "notify" {
    after = [step.smoke]
    command {
      run = ["./notify.sh"]
      env = { SLACK_TOKEN = "xoxb-111-222", CHANNEL = "dr-drills" }
    }
  }
  tier "web" {`, 1)
	p, diags := LoadSources(t.TempDir(), map[string][]byte{"main.drplan.hcl": []byte(src)}, LoadOptions{})
	if diags.HasErrors() {
		t.Fatalf("the plan does not load: %v", diags)
	}
	out := p.Redact("GET http://monitor:s3cr3t-pw@web-01:8080/health with Bearer tok-0123456789; SLACK_TOKEN=xoxb-111-222 CHANNEL=dr-drills")
	for _, secret := range []string{"s3cr3t-pw", "tok-0123456789", "xoxb-111-222"} {
		if strings.Contains(out, secret) {
			t.Errorf("%q is printed: %s", secret, out)
		}
	}
	if !strings.Contains(out, "dr-drills") {
		t.Errorf("a value that is no credential is masked: %s", out)
	}
	warned := map[string]bool{}
	for _, d := range diags {
		if d.Summary == "Credential given as a literal" {
			warned[strings.SplitN(d.Detail, ",", 2)[0]] = true
		}
	}
	if !warned["The url carries a password"] || !warned["The Authorization header carries a credential"] || !warned["The environment variable SLACK_TOKEN carries a credential"] || len(warned) != 3 {
		t.Errorf("warnings %v; want one for the URL's password, the Authorization header and SLACK_TOKEN", warned)
	}
}
