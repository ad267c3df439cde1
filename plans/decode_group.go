package plans

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/drplan/drplan/addrs"
)

var protectionGroupSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "site", Required: true}, {Name: "recovery_site", Required: true},
		{Name: "vms"}, {Name: "exclude"}, {Name: "consistency"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "select"}, {Type: "replication"}},
}

var selectSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "folder"}, {Name: "tag"}, {Name: "name"}},
}

var replicationSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "method", Required: true}, {Name: "rpo", Required: true}, {Name: "retention"},
		{Name: "journal"}, {Name: "change_rate"}, {Name: "compression"},
	},
}

// Methods lists the replication methods.
var Methods = []Method{ArraySync, ArrayAsync, VSphereReplication, Snapshot, CDP, Host, Backup}

func (l *loader) decodeProtectionGroup(b *hcl.Block) *ProtectionGroup {
	g := &ProtectionGroup{Name: b.Labels[0], Consistency: ConsistencyVM, DeclRange: b.DefRange, VMsRange: b.DefRange}
	content, diags := l.content(b.Body, protectionGroupSchema)
	l.diags = append(l.diags, diags...)
	a := l.attrs(content, nil)
	g.Site, _ = a.ref("site", addrs.Site)
	g.RecoverySite, _ = a.ref("recovery_site", addrs.Site)
	g.SiteRange, g.RecoverySiteRange = a.rng("site"), a.rng("recovery_site")
	if a.has("vms") {
		g.VMsRange = a.rng("vms")
		if !a.strings("vms", &g.VMs) {
			l.incomplete[g.Name] = true
		}
	}
	if a.strings("exclude", &g.Exclude) {
		for i, p := range g.Exclude {
			l.checkGlobs([]string{p}, a.elem("exclude", i, len(g.Exclude)))
		}
	}
	l.remember(g, a)
	g.Matched = l.opts.SelectorMatches[g.Name]
	enum(a, "consistency", &g.Consistency, ConsistencyGroup, ConsistencyVM)

	for _, nb := range content.Blocks {
		switch nb.Type {
		case "select":
			c, diags := l.content(nb.Body, selectSchema)
			l.diags = append(l.diags, diags...)
			s := &Selector{DeclRange: nb.DefRange}
			sa := l.attrs(c, nil)
			sa.name("folder", &s.Folder)
			if sa.name("tag", &s.Tag) {
				l.checkTags([]string{s.Tag}, sa.rng("tag"))
			}
			if sa.name("name", &s.Name) {
				l.checkGlobs([]string{s.Name}, sa.rng("name"))
			}
			g.Selectors = append(g.Selectors, s)
		}
	}
	for _, nb := range l.single(content.Blocks, "replication") {
		if nb.Type != "replication" {
			continue
		}
		c, diags := l.content(nb.Body, replicationSchema)
		l.diags = append(l.diags, diags...)
		r := &Replication{DeclRange: nb.DefRange}
		ra := l.attrs(c, nil)
		enum(ra, "method", &r.Method, Methods...)
		rpoOK := ra.duration("rpo", &r.RPO)
		ra.integer("retention", &r.Retention, 1, 10000)
		ra.duration("journal", &r.Journal)
		ra.rate("change_rate", &r.ChangeRate)
		ra.boolean("compression", &r.Compression)
		g.Replication = r
		l.checkReplication(g, ra, rpoOK)
	}
	if g.Replication == nil {
		l.errorf(b.DefRange, "Missing replication block", "Protection group %q needs a replication block that says how its VMs are replicated, such as replication { method = \"vsphere_replication\"  rpo = \"15m\" }.", g.Name)
	}
	return g
}
