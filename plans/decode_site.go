package plans

import (
	"slices"

	"github.com/hashicorp/hcl/v2"
)

var siteSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "role"}, {Name: "datacenter", Required: true}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: "vcenter"}, {Type: "capacity"}, {Type: "wan"}},
}

var vcenterSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "url"}, {Name: "username"}, {Name: "password"}, {Name: "insecure"}, {Name: "thumbprint"},
	},
}

var capacitySchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "cpu_ghz"}, {Name: "memory"}, {Name: "storage"}},
}

var wanSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "bandwidth", Required: true}},
}

func (l *loader) decodeSite(b *hcl.Block) *Site {
	s := &Site{Name: b.Labels[0], Role: RoleBoth, DeclRange: b.DefRange}
	content, diags := l.content(b.Body, siteSchema)
	l.diags = append(l.diags, diags...)
	a := l.attrs(content, nil)
	enum(a, "role", &s.Role, RoleProtected, RoleRecovery, RoleBoth)
	a.name("datacenter", &s.Datacenter)
	for _, nb := range l.single(content.Blocks, "vcenter", "capacity", "wan") {
		c, diags := l.content(nb.Body, map[string]*hcl.BodySchema{"vcenter": vcenterSchema, "capacity": capacitySchema, "wan": wanSchema}[nb.Type])
		l.diags = append(l.diags, diags...)
		na := l.attrs(c, nil)
		switch nb.Type {
		case "vcenter":
			vc := &VCenter{DeclRange: nb.DefRange}
			na.str("url", &vc.URL)
			na.name("username", &vc.Username)
			na.secret("password", &vc.Password)
			na.boolean("insecure", &vc.Insecure)
			na.str("thumbprint", &vc.Thumbprint)
			s.VCenter = vc
		case "capacity":
			c := &Capacity{DeclRange: nb.DefRange}
			l.remember(c, na)
			na.number("cpu_ghz", &c.CPUGHz)
			na.size("memory", &c.Memory)
			na.size("storage", &c.Storage)
			s.Capacity = c
		case "wan":
			w := &WAN{DeclRange: nb.DefRange}
			l.remember(w, na)
			na.rate("bandwidth", &w.Bandwidth)
			s.WAN = w
		}
	}
	return s
}

// single returns blocks of the given types, reporting a second block of a
// type that may appear only once.
func (l *loader) single(blocks hcl.Blocks, types ...string) hcl.Blocks {
	first := map[string]*hcl.Block{}
	var out hcl.Blocks
	for _, b := range blocks {
		if !slices.Contains(types, b.Type) {
			out = append(out, b)
			continue
		}
		if f := first[b.Type]; f != nil {
			l.errorf(b.DefRange, "Duplicate "+b.Type+" block", "Only one %s block is allowed here; the first is at %s. Merge the two.", b.Type, f.DefRange)
			continue
		}
		first[b.Type] = b
		out = append(out, b)
	}
	return out
}
