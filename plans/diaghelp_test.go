package plans

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

const hintSites = `
site "east" {
  role       = "protected"
  datacenter = "DC-East"
}
site "west" {
  role       = "recovery"
  datacenter = "DC-West"
}
`

func loadOne(t *testing.T, name, src string) hcl.Diagnostics {
	t.Helper()
	_, diags := LoadSources(".", map[string][]byte{name: []byte(src)}, LoadOptions{Environ: []string{}})
	return diags
}

func detailOf(diags hcl.Diagnostics, summary string) []string {
	var out []string
	for _, d := range diags {
		if d.Summary == summary {
			out = append(out, d.Detail)
		}
	}
	return out
}

// TestStringReferenceHints: a string where a reference belongs suggests
// the reference, written without quotes.
func TestStringReferenceHints(t *testing.T) {
	src := hintSites + `
protection_group "web" {
  site          = "east"
  recovery_site = site.west
  vms           = ["web-01"]
  replication {
    method = "vsphere_replication"
    rpo    = "15m"
  }
}
recovery_plan "shop" {
  protection_groups = ["web"]
  network_mapping {
    from = "VM Network"
    to   = "DR-Prod"
    test = "DR-Bubble"
  }
  tier "web" {
    vms = "protection_group.web.vms"
  }
  step "s" {
    after = ["tier.web"]
    tcp { address = "web-01:80" }
  }
}
`
	diags := loadOne(t, "main.drplan.hcl", src)
	got := strings.Join(append(detailOf(diags, "Invalid reference"), detailOf(diags, "Incorrect attribute value type")...), "\n")
	for _, want := range []string{
		"Did you mean site.east? Write the reference without quotes.",
		"Did you mean protection_group.web? Write the reference without quotes.",
		"Did you mean tier.web? Write the reference without quotes.",
		`write the reference without quotes, protection_group.web.vms.`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in:\n%s", want, got)
		}
	}
}

// TestJSONReferenceHints: JSON cannot write a reference without quotes;
// its hint is a "${…}" template, and such a template is accepted.
func TestJSONReferenceHints(t *testing.T) {
	src := `{
  "site": {
    "east": {"role": "protected", "datacenter": "DC-East"},
    "west": {"role": "recovery", "datacenter": "DC-West"}
  },
  "protection_group": {
    "web": {
      "site": 1,
      "recovery_site": "west",
      "vms": ["web-01"],
      "replication": {"method": "vsphere_replication", "rpo": "15m"}
    }
  }
}`
	diags := loadOne(t, "main.drplan.json", src)
	got := strings.Join(detailOf(diags, "Invalid reference"), "\n")
	if strings.Contains(got, "without quotes") {
		t.Errorf("JSON told to write a reference without quotes:\n%s", got)
	}
	for _, want := range []string{`write "${site.example}"`, `write "${site.west}"`} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in:\n%s", want, got)
		}
	}
	fixed := strings.Replace(strings.Replace(src, `"site": 1`, `"site": "${site.east}"`, 1), `"recovery_site": "west"`, `"recovery_site": "${site.west}"`, 1)
	if diags := loadOne(t, "main.drplan.json", fixed); diags.HasErrors() {
		t.Errorf("the advised template is not accepted:\n%s", full(diags))
	}
}

// TestJSONRootArray: hcl reports the elements of a root array that are
// not objects twice; drplan says each once.
func TestJSONRootArray(t *testing.T) {
	diags := loadOne(t, "main.drplan.json", `[1, 2]`)
	if len(diags) != 2 {
		t.Errorf("%d diagnostics, want one per element:\n%s", len(diags), full(diags))
	}
}

// TestDuplicateGroupAcrossFiles: a group declared in two files is one
// error, without follow-on errors comparing the two.
func TestDuplicateGroupAcrossFiles(t *testing.T) {
	group := `
protection_group "web" {
  site          = site.east
  recovery_site = site.west
  vms           = ["web-01", "web-02"]
  replication {
    method = "vsphere_replication"
    rpo    = "15m"
  }
}
`
	_, diags := LoadSources(".", map[string][]byte{
		"a.drplan.hcl": []byte(hintSites + group),
		"b.drplan.hcl": []byte(group),
	}, LoadOptions{Environ: []string{}})
	if len(diags) != 1 || diags[0].Summary != "Duplicate protection group" {
		t.Errorf("want one Duplicate protection group, got:\n%s", full(diags))
	}
}

// TestUnknownNameSuggestion: unknown arguments and block types get the
// closest name of the schema where hcl gives none.
func TestUnknownNameSuggestion(t *testing.T) {
	for _, c := range []struct{ summary, detail, want string }{
		{"Unsupported argument", `An argument named "dtacenter" is not expected here.`, `Did you mean "datacenter"?`},
		{"Unsupported block type", `Blocks of type "vcentr" are not expected here.`, `Did you mean "vcenter"?`},
		{"Extraneous JSON object property", `No argument or block type is named "rol".`, `Did you mean "role"?`},
	} {
		d := &hcl.Diagnostic{Summary: c.summary, Detail: c.detail}
		suggestName(d, []string{"role", "datacenter", "vcenter", "capacity", "wan"})
		if !strings.Contains(d.Detail, c.want) {
			t.Errorf("%s: %q lacks %q", c.summary, d.Detail, c.want)
		}
	}
	diags := loadOne(t, "main.drplan.hcl", hintSites+`
protection_group "web" {
  site          = site.east
  recovery_site = site.west
  vms           = ["web-01"]
  replication {
    method = "vsphere_replication"
    rop    = "15m"
  }
}
`)
	if got := strings.Join(detailOf(diags, "Unsupported argument"), "\n"); !strings.Contains(got, `Did you mean "rpo"?`) {
		t.Errorf("no suggestion for rop:\n%s", full(diags))
	}
}
