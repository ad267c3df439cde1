package libvirt

import (
	"context"
	"fmt"
	"strings"

	golibvirt "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/drplan/drplan/inventory"
	"github.com/drplan/drplan/providers"
)

// domainInfo is one domain as read from its host.
type domainInfo struct {
	h     *host
	d     golibvirt.Domain
	def   *libvirtxml.Domain
	rec   *Record
	state golibvirt.DomainState
}

// list reads every domain of every host with its definition and record:
// one list call per host, then one XML and one state call per domain.
func (s *Site) list(ctx context.Context) ([]domainInfo, error) {
	var out []domainInfo
	for _, h := range s.hosts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s.call()
		doms, _, err := h.l.ConnectListAllDomains(1, 0)
		if err != nil {
			return nil, err
		}
		for _, d := range doms {
			di, err := s.read(h, d)
			if err != nil {
				if golibvirt.IsNotFound(err) {
					continue // gone meanwhile
				}
				return nil, err
			}
			out = append(out, di)
		}
	}
	return out, nil
}

// read reads one domain's definition, record and state.
func (s *Site) read(h *host, d golibvirt.Domain) (domainInfo, error) {
	s.call()
	x, err := h.l.DomainGetXMLDesc(d, golibvirt.DomainXMLInactive)
	if err != nil {
		return domainInfo{}, err
	}
	def := &libvirtxml.Domain{}
	if err := def.Unmarshal(x); err != nil {
		return domainInfo{}, err
	}
	rec := &Record{}
	if def.Metadata != nil {
		if r, err := recordFromMetadata(def.Metadata.XML); err == nil && r != nil {
			rec = r
		}
	}
	s.call()
	st, _, err := h.l.DomainGetState(d, 0)
	if err != nil {
		return domainInfo{}, err
	}
	return domainInfo{h: h, d: d, def: def, rec: rec, state: golibvirt.DomainState(st)}, nil
}

// lookup finds and reads one VM's domain.
func (s *Site) lookup(vm providers.VM) (domainInfo, error) {
	h, d, err := s.find(vm)
	if err != nil {
		return domainInfo{}, err
	}
	return s.read(h, d)
}

// Inventory reads the site: every domain but lock domains, its networks
// and, per host, its capacity.
func (s *Site) Inventory(ctx context.Context) (*inventory.Site, error) {
	inv := &inventory.Site{Name: s.name, Reachable: true}
	doms, err := s.list(ctx)
	if err != nil {
		return nil, s.fail("inventory", providers.VM{}, err)
	}
	for _, di := range doms {
		if strings.HasPrefix(di.d.Name, LockPrefix) {
			continue
		}
		v := s.inventoryVM(di)
		if di.state == golibvirt.DomainRunning && len(v.NICs) > 0 {
			// The address, as the guest agent reports it; a guest
			// without an agent has none (one second's wait at most).
			if ip, err := s.agentIPv4Within(di.h, di.d, 1); err == nil {
				v.IP = stripPrefix(ip)
			}
		}
		inv.VMs = append(inv.VMs, v)
	}
	nets := map[string]bool{}
	for _, h := range s.hosts {
		s.call()
		ns, _, err := h.l.ConnectListAllNetworks(1, 0)
		if err != nil {
			return nil, s.fail("inventory", providers.VM{}, err)
		}
		for _, n := range ns {
			if !nets[n.Name] {
				nets[n.Name] = true
				inv.Networks = append(inv.Networks, n.Name)
			}
		}
		s.call()
		_, mem, cpus, mhz, _, _, _, _, err := h.l.NodeGetInfo()
		if err == nil {
			inv.Capacity.CPUMHz += int64(cpus) * int64(mhz)
			inv.Capacity.MemoryBytes += int64(mem) * 1024
		}
		s.call()
		pools, _, err := h.l.ConnectListAllStoragePools(1, 2) // active
		if err == nil {
			for _, p := range pools {
				s.call()
				if _, _, _, avail, err := h.l.StoragePoolGetInfo(p); err == nil {
					inv.Capacity.StorageBytes += int64(avail)
				}
			}
		}
	}
	return inv, nil
}

func (s *Site) inventoryVM(di domainInfo) *inventory.VM {
	path := PathOf(di.d.Name)
	v := &inventory.VM{Name: path, Ref: di.d.Name, PowerState: powerState(di.state), Run: di.rec.Run, Origin: di.rec.Origin}
	if i := strings.LastIndex(path, "/"); i >= 0 {
		v.Folder, v.Name = path[:i], path[i+1:]
	}
	if di.def.VCPU != nil {
		v.CPUs = int(di.def.VCPU.Value)
	}
	if di.def.Memory != nil {
		v.MemoryBytes = memBytes(di.def.Memory.Value, di.def.Memory.Unit)
	}
	if dev := di.def.Devices; dev != nil {
		for _, d := range dev.Disks {
			if d.Device != "" && d.Device != "disk" {
				continue
			}
			disk := inventory.Disk{Datastore: diskPath(d)}
			if d.Source != nil && d.Source.File == nil && d.Source.Volume == nil {
				disk.NoCopy = fmt.Sprintf("disk %s is neither a file nor a storage pool volume (drill copies need <disk type='file'> or <disk type='volume'> in a dir, fs or netfs pool)", diskPath(d))
			}
			v.Disks = append(v.Disks, disk)
		}
		for _, n := range dev.Interfaces {
			nic := inventory.NIC{Network: ifaceNetwork(n), Connected: n.Link == nil || n.Link.State != "down"}
			v.NICs = append(v.NICs, nic)
		}
	}
	if r := di.rec.Replica; r != nil {
		v.Replica = &inventory.Replica{Of: r.VM, Group: r.Group, Site: r.Site, Folder: r.Folder, IPs: r.IPs,
			Points: inventory.RecoveryPoints{Times: di.rec.points()}}
	}
	return v
}

func powerState(st golibvirt.DomainState) string {
	switch st {
	case golibvirt.DomainRunning, golibvirt.DomainBlocked:
		return "poweredOn"
	case golibvirt.DomainPaused, golibvirt.DomainPmsuspended:
		return "suspended"
	}
	return "poweredOff"
}

func memBytes(v uint, unit string) int64 {
	switch strings.ToLower(unit) {
	case "b", "bytes":
		return int64(v)
	case "", "k", "kib":
		return int64(v) << 10
	case "kb":
		return int64(v) * 1000
	case "m", "mib":
		return int64(v) << 20
	case "mb":
		return int64(v) * 1000 * 1000
	case "g", "gib":
		return int64(v) << 30
	case "gb":
		return int64(v) * 1000 * 1000 * 1000
	}
	return int64(v) << 10
}

func diskPath(d libvirtxml.DomainDisk) string {
	if d.Source == nil {
		return ""
	}
	switch {
	case d.Source.File != nil:
		return d.Source.File.File
	case d.Source.Block != nil:
		return d.Source.Block.Dev
	case d.Source.Volume != nil:
		return d.Source.Volume.Pool + "/" + d.Source.Volume.Volume
	}
	return ""
}

func ifaceNetwork(n libvirtxml.DomainInterface) string {
	if n.Source == nil {
		return ""
	}
	switch {
	case n.Source.Network != nil:
		return n.Source.Network.Network
	case n.Source.Bridge != nil:
		return n.Source.Bridge.Bridge
	}
	return ""
}
