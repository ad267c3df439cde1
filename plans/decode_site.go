package plans

import (
	"slices"

	"github.com/hashicorp/hcl/v2"
)

var siteSchema = &hcl.BodySchema{
	// datacenter is required of every site but a libvirt one
	// (decodeSite checks it).
	Attributes: []hcl.AttributeSchema{{Name: "role"}, {Name: "datacenter"}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: "vcenter"}, {Type: "libvirt"}, {Type: "capacity"}, {Type: "wan"}},
}

var vcenterSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "url"}, {Name: "username"}, {Name: "password"}, {Name: "insecure"}, {Name: "thumbprint"},
	},
}

var libvirtSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "uri", Required: true}},
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
	var hypervisor *hcl.Block
	for _, nb := range l.single(content.Blocks, "vcenter", "libvirt", "capacity", "wan") {
		if nb.Type == "vcenter" || nb.Type == "libvirt" {
			if hypervisor != nil {
				l.errorf(nb.DefRange, "Site has both vcenter and libvirt", "Site %q already has a %s block at %s. A site is either vSphere (vcenter) or libvirt/KVM (libvirt), never both: keep one of the two and move the other hosts to a site of their own.", s.Name, hypervisor.Type, hypervisor.DefRange)
				continue
			}
			hypervisor = nb
		}
		c, diags := l.content(nb.Body, map[string]*hcl.BodySchema{"vcenter": vcenterSchema, "libvirt": libvirtSchema, "capacity": capacitySchema, "wan": wanSchema}[nb.Type])
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
		case "libvirt":
			s.Libvirt = l.decodeLibvirt(nb, na)
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
	if !a.has("datacenter") {
		if s.Libvirt == nil {
			l.errorf(b.Body.MissingItemRange(), "Missing required argument", "The argument \"datacenter\" is required, but no definition was found. Give the site's vSphere datacenter name, for example datacenter = \"DC-East\".")
		} else if s.Datacenter == "" {
			// A libvirt site has no datacenter; its name stands in.
			s.Datacenter = s.Name
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
