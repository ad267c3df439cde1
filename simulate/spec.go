package simulate

import (
	"fmt"
	"net/netip"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/drplan/drplan/internal/units"
	"github.com/drplan/drplan/plans"
)

// Defaults for simulated VMs whose plan says nothing about them.
const (
	DefaultCPUs   = 2
	DefaultMemory = 4 << 30
	DefaultDisk   = 40 << 30
	// DefaultNetwork is the port group of a VM no mapping tells about.
	DefaultNetwork = "VM Network"
)

// VM is one simulated VM as the world is asked to hold it.
type VM struct {
	Name     string
	Site     string
	Folder   string // path under the datacenter's vm folder; "" for the root
	CPUs     int
	Memory   units.Size
	Disk     units.Size
	Networks []string
	Tags     []string // CATEGORY:TAG
	IP       netip.Addr
	BootTime time.Duration // plan time from power-on to tools, heartbeat and IP

	// Group is the protection group that protects the VM ("" for none);
	// RecoverySite is where its replica lives.
	Group        string
	RecoverySite string
	// Replicated is false for a protected VM whose replica is missing:
	// drift, on purpose.
	Replicated bool
	// RecoveryNetworks are the port groups of the replica's NICs: what
	// the plan maps Networks to at the recovery site.
	RecoveryNetworks []string
}

// Protected reports whether the VM belongs to a protection group.
func (v *VM) Protected() bool { return v.Group != "" }

// siteSpec is what one simulated vCenter holds.
type siteSpec struct {
	name       string
	datacenter string
	hw         hardware
	networks   []network
	folders    []string
	tags       []string
	vms        []*VM // VMs that live at the site (not replicas)
	replicas   []*VM // protected VMs (of other sites) whose replica lives here
}

type network struct {
	name     string
	isolated bool // a drill's test network
}

// spec is the whole world derived from a plan.
type spec struct {
	sites  []*siteSpec
	bySite map[string]*siteSpec
	vms    map[string]*VM
	order  []*VM
}

// newSpec derives what the simulated world must hold from a plan: its
// sites and their networks, folders and tags, and every VM that a group
// names, that a simulation vm block declares, with the properties the
// simulation block gives, and which group protects it (selectors
// resolved against the world itself).
func newSpec(p *plans.Plan) (*spec, error) {
	s := &spec{bySite: map[string]*siteSpec{}, vms: map[string]*VM{}}
	for _, site := range p.Sites {
		ss := &siteSpec{name: site.Name, datacenter: site.Datacenter}
		if ss.datacenter == "" {
			ss.datacenter = site.Name
		}
		s.sites = append(s.sites, ss)
		s.bySite[site.Name] = ss
	}
	if len(s.sites) == 0 {
		return nil, fmt.Errorf("the plan declares no site; a simulated world needs at least one")
	}
	groups := map[string]*plans.ProtectionGroup{}
	for _, g := range p.ProtectionGroups {
		groups[g.Name] = g
	}
	sim := p.Simulation
	if sim == nil {
		sim = &plans.Simulation{TimeScale: plans.DefaultTimeScale, BootTime: plans.DefaultBootTime}
	}

	// Networks: from at the protected sites of a plan's groups, to and
	// test at their recovery sites.
	defaultNet := map[string]string{} // protected site -> first mapped network
	mapped := map[string]string{}     // protected network -> recovery network
	defaultRecoveryNet := map[string]string{}
	for _, rp := range p.RecoveryPlans {
		for _, gname := range rp.ProtectionGroups {
			g := groups[gname]
			if g == nil {
				continue
			}
			for _, m := range rp.NetworkMappings {
				s.addNetwork(g.Site, m.From, false)
				s.addNetwork(g.RecoverySite, m.To, false)
				s.addNetwork(g.RecoverySite, m.Test, true)
				if defaultNet[g.Site] == "" {
					defaultNet[g.Site] = m.From
				}
				if mapped[m.From] == "" {
					mapped[m.From] = m.To
				}
				if defaultRecoveryNet[g.RecoverySite] == "" {
					defaultRecoveryNet[g.RecoverySite] = m.To
				}
			}
		}
	}

	add := func(name, site string) *VM {
		if v := s.vms[name]; v != nil {
			return v
		}
		v := &VM{Name: name, Site: site, CPUs: DefaultCPUs, Memory: DefaultMemory, Disk: DefaultDisk,
			BootTime: sim.BootTime, Replicated: true}
		s.vms[name] = v
		s.order = append(s.order, v)
		return v
	}
	for _, g := range p.ProtectionGroups {
		for _, name := range g.VMs {
			v := add(name, g.Site)
			if matchesAny(g.Exclude, name) {
				continue
			}
			if v.Group == "" {
				v.Group, v.RecoverySite = g.Name, g.RecoverySite
			}
		}
	}
	firstProtected := ""
	for _, site := range p.Sites {
		if site.Role != plans.RoleRecovery && firstProtected == "" {
			firstProtected = site.Name
		}
	}
	if firstProtected == "" {
		firstProtected = p.Sites[0].Name
	}
	// A simulation vm block whose label is a plain name declares a VM.
	for _, sv := range sim.VMs {
		if strings.ContainsAny(sv.Pattern, "*?[") || s.vms[sv.Pattern] != nil {
			continue
		}
		site := sv.Site
		if site == "" {
			site = firstProtected
		}
		add(sv.Pattern, site)
	}
	// Properties: patterns first in order, then exact names, so that the
	// most specific block wins.
	for _, exact := range []bool{false, true} {
		for _, sv := range sim.VMs {
			if strings.ContainsAny(sv.Pattern, "*?[") == exact {
				continue
			}
			for _, v := range s.order {
				if ok, _ := path.Match(sv.Pattern, v.Name); ok {
					applySimVM(v, sv)
				}
			}
		}
	}
	// Selectors: a VM of a group's site that matches one of its selectors
	// belongs to the group, unless another group names it.
	for _, g := range p.ProtectionGroups {
		for _, v := range s.order {
			if v.Group != "" || v.Site != g.Site || matchesAny(g.Exclude, v.Name) {
				continue
			}
			for _, sel := range g.Selectors {
				if selects(sel, v) {
					v.Group, v.RecoverySite = g.Name, g.RecoverySite
					break
				}
			}
		}
	}

	for _, v := range s.order {
		ss := s.bySite[v.Site]
		if ss == nil {
			return nil, fmt.Errorf("VM %q lives at site %q, which the plan does not declare", v.Name, v.Site)
		}
		if len(v.Networks) == 0 {
			n := defaultNet[v.Site]
			if n == "" {
				n = defaultRecoveryNet[v.Site]
			}
			if n == "" {
				n = DefaultNetwork
			}
			v.Networks = []string{n}
		}
		for _, n := range v.Networks {
			s.addNetwork(v.Site, n, false)
		}
		if v.Folder != "" && !slices.Contains(ss.folders, v.Folder) {
			ss.folders = append(ss.folders, v.Folder)
		}
		for _, t := range v.Tags {
			if !slices.Contains(ss.tags, t) {
				ss.tags = append(ss.tags, t)
			}
		}
		ss.vms = append(ss.vms, v)
		if v.Protected() && v.Replicated {
			if rs := s.bySite[v.RecoverySite]; rs != nil {
				rs.replicas = append(rs.replicas, v)
				for _, n := range v.Networks {
					to := mapped[n]
					if to == "" {
						to = n
					}
					s.addNetwork(v.RecoverySite, to, false)
					v.RecoveryNetworks = append(v.RecoveryNetworks, to)
				}
			}
		}
	}
	// Folders and tags that selectors name exist even when no VM uses
	// them, as they would in a real inventory.
	for _, g := range p.ProtectionGroups {
		ss := s.bySite[g.Site]
		if ss == nil {
			continue
		}
		for _, sel := range g.Selectors {
			if sel.Folder != "" && !slices.Contains(ss.folders, sel.Folder) {
				ss.folders = append(ss.folders, sel.Folder)
			}
			if sel.Tag != "" && !slices.Contains(ss.tags, sel.Tag) {
				ss.tags = append(ss.tags, sel.Tag)
			}
		}
	}
	s.assignIPs(p)
	for _, site := range p.Sites {
		s.bySite[site.Name].hw = sizeSite(site, s.bySite[site.Name])
	}
	return s, nil
}

func (s *spec) addNetwork(site, name string, isolated bool) {
	ss := s.bySite[site]
	if ss == nil || name == "" {
		return
	}
	for _, n := range ss.networks {
		if n.name == name {
			return
		}
	}
	ss.networks = append(ss.networks, network{name: name, isolated: isolated})
}

func applySimVM(v *VM, sv *plans.SimVM) {
	if sv.BootTime > 0 {
		v.BootTime = sv.BootTime
	}
	if sv.CPUs > 0 {
		v.CPUs = sv.CPUs
	}
	if sv.Memory > 0 {
		v.Memory = sv.Memory
	}
	if sv.Disk > 0 {
		v.Disk = sv.Disk
	}
	if sv.Site != "" && v.Group == "" {
		v.Site = sv.Site
	}
	if sv.Folder != "" {
		v.Folder = sv.Folder
	}
	if len(sv.Tags) > 0 {
		v.Tags = sv.Tags
	}
	if len(sv.Networks) > 0 {
		v.Networks = sv.Networks
	}
	if !sv.Replicated {
		v.Replicated = false
	}
}

// selects reports whether a selector selects a simulated VM.
func selects(sel *plans.Selector, v *VM) bool { return sel.Matches(v.Folder, v.Tags, v.Name) }

func matchesAny(patterns []string, name string) bool { return plans.MatchesAny(patterns, name) }

// assignIPs gives every VM an address. The VMs of a protected network get
// addresses inside the from_cidr of the ip_rule that matches the network's
// mapping (the n-th mapping takes the n-th rule, or the first rule), so
// that re-IP on failover is observable; other networks get a subnet of
// 10.200.0.0/16 of their own. Addresses are handed out per subnet, not per
// network: two networks whose mappings share a rule share its from_cidr,
// and no address is given twice, so every address is unique in its
// network and in its subnet (re-IP keeps the host part, so recovered VMs'
// addresses are unique too). Only a subnet with more VMs than addresses
// wraps around.
func (s *spec) assignIPs(p *plans.Plan) {
	subnet := map[string]netip.Prefix{}
	for _, rp := range p.RecoveryPlans {
		for i, m := range rp.NetworkMappings {
			if len(rp.IPRules) == 0 || subnet[m.From].IsValid() {
				continue
			}
			r := rp.IPRules[0]
			if i < len(rp.IPRules) {
				r = rp.IPRules[i]
			}
			if r.FromCIDR.IsValid() && r.FromCIDR.Addr().Is4() {
				subnet[m.From] = r.FromCIDR.Masked()
			}
		}
	}
	next := map[netip.Prefix]uint32{}
	used := map[netip.Addr]bool{}
	spare := 0
	for _, v := range s.order {
		n := v.Networks[0]
		pfx, ok := subnet[n]
		if !ok {
			pfx = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 200, byte(spare), 0}), 24)
			spare++
			subnet[n] = pfx
		}
		if next[pfx] == 0 {
			next[pfx] = 10 // leave room for gateways and infrastructure
		}
		size := uint64(1) << (32 - pfx.Bits())
		ip := hostAddr(pfx, next[pfx])
		// Skip addresses another subnet (an overlapping rule) gave
		// already, as long as the subnet has any left.
		for tries := uint64(0); used[ip] && tries < size; tries++ {
			next[pfx]++
			ip = hostAddr(pfx, next[pfx])
		}
		v.IP = ip
		used[ip] = true
		next[pfx]++
	}
}

// hostAddr returns the n-th address of an IPv4 prefix, wrapping inside it.
func hostAddr(p netip.Prefix, n uint32) netip.Addr {
	b := p.Masked().Addr().As4()
	base := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	size := uint32(1) << (32 - p.Bits())
	if size > 2 {
		n = 1 + (n-1)%(size-2)
	}
	a := base + n
	return netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)})
}

// Simulated host hardware: vcsim's hosts are tiny; these are sized like a
// current two-socket server, so that capacity checks against a simulated
// site mean something.
const (
	HostCores  = 24
	HostMHz    = 2400
	HostMemory = 512 << 30
	// maxHosts bounds a simulated cluster; beyond it hosts grow instead.
	maxHosts = 32
)

// hardware is a simulated site's cluster: its hosts, each host's cores,
// clock and memory, and the capacity of the site's datastore (0: the
// simulator's own, a terabyte a host).
type hardware struct {
	hosts   int
	cores   int
	mhz     int
	memory  int64
	storage int64
}

// sizeSite sizes a site's cluster. A site with a capacity block gets
// enough hosts of the standard size for it, and the capacity check keeps
// reading the block's figures. A site without one is sized to hold its
// plan: every VM that lives there (they run there, and come back there on
// failback) and every replica there (what a failover or a drill brings
// up), with half as much again to spare. The compiler counts a vCPU at
// plans.GHzPerVCPU; a datastore must still have room for the recovered disks once
// the replicas' own are written.
func sizeSite(site *plans.Site, ss *siteSpec) hardware {
	hw := hardware{hosts: 2, cores: HostCores, mhz: HostMHz, memory: HostMemory}
	if c := site.Capacity; c != nil {
		hw.hosts = min(max(hw.hosts, int(c.CPUGHz/(HostCores*HostMHz/1000.0))+1, int(c.Memory/HostMemory)+1), maxHosts)
		return hw
	}
	var vcpus, mem, disks, replicaDisks int64
	for _, v := range ss.vms {
		vcpus, mem, disks = vcpus+int64(v.CPUs), mem+int64(v.Memory), disks+int64(v.Disk)
	}
	for _, v := range ss.replicas {
		vcpus, mem, replicaDisks = vcpus+int64(v.CPUs), mem+int64(v.Memory), replicaDisks+int64(v.Disk)
	}
	needMHz := int64(float64(vcpus)*plans.GHzPerVCPU*1000) * 3 / 2
	needMem := mem * 3 / 2
	hostMHz := int64(HostCores * HostMHz)
	hw.hosts = max(hw.hosts, int(ceilDiv(needMHz, hostMHz)), int(ceilDiv(needMem, HostMemory)))
	if hw.hosts > maxHosts {
		// Bigger hosts rather than more of them.
		hw.hosts = maxHosts
		hw.cores = max(HostCores, int(ceilDiv(needMHz, maxHosts*HostMHz)))
		hw.memory = max(HostMemory, ceilDiv(needMem, maxHosts<<30)<<30)
	}
	hw.storage = (disks+2*replicaDisks)*3/2 + 1<<40
	return hw
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }
