package inventory

import "time"

// Snapshot is the inventory of every site of a plan at one moment.
type Snapshot struct {
	Taken time.Time
	Sites map[string]*Site // by plan site name
}

// Site is one site's inventory.
type Site struct {
	Name       string
	Datacenter string
	// Reachable is false when the site's vCenter did not answer; the rest
	// is then empty.
	Reachable bool
	VMs       []*VM
	Networks  []string // port group names
	// Capacity is what the site's hosts offer.
	Capacity Capacity
}

// Capacity sums a site's compute and storage.
type Capacity struct {
	CPUMHz       int64
	MemoryBytes  int64
	StorageBytes int64 // free space of its datastores
}

// VM is one virtual machine.
type VM struct {
	Name string
	// Folder is the path of the VM's folder under the datacenter's vm
	// folder ("prod/apps"; "" for the root).
	Folder      string
	Ref         string // managed object ID; unique only within its site
	PowerState  string // poweredOn, poweredOff, suspended
	CPUs        int
	MemoryBytes int64
	Disks       []Disk
	NICs        []NIC
	Tags        []string // CATEGORY:TAG
	IP          string
	// Replica is set when the VM is a replica of a protected VM.
	Replica *Replica
	// Run is the id of the run that created the VM, if one did.
	Run string
	// Origin is the address (CIDR form) a recovered VM had at the site
	// it came from, as its failover recorded it.
	Origin string
}

// Path is the VM's inventory path under the vm folder.
func (v *VM) Path() string {
	if v.Folder == "" {
		return v.Name
	}
	return v.Folder + "/" + v.Name
}

// Disk is a virtual disk.
type Disk struct {
	Datastore string
	Bytes     int64
	// NoCopy says why the provider cannot make a drill copy of the disk
	// ("" when it can): a libvirt disk that is neither a file nor a pool
	// volume gets no qcow2 overlay.
	NoCopy string `json:",omitempty"`
}

// NIC is a virtual network adapter.
type NIC struct {
	Network   string
	Connected bool
}

// Replica says what a replica VM copies and to which points it can be
// recovered.
type Replica struct {
	Of    string // the protected VM's name
	Group string
	Site  string // the protected site
	// Folder is the protected VM's folder at its site, as recorded with
	// the replica.
	Folder string
	// IPs are the protected VM's addresses per NIC ("" where unknown), as
	// recorded with the replica.
	IPs    []string
	Points RecoveryPoints
}

// Address is the protected VM's first NIC's address as recorded with the
// replica, "" when none is.
func (r *Replica) Address() string {
	if r == nil || len(r.IPs) == 0 {
		return ""
	}
	return r.IPs[0]
}

// RecoveryPoints are the points in time a replica can be recovered to.
// Discrete methods keep a list of points (oldest first); continuous data
// protection keeps every point between JournalStart and the latest.
type RecoveryPoints struct {
	Times        []time.Time
	Continuous   bool
	JournalStart time.Time
}

// Latest returns the newest point, or the zero time when there is none.
func (p RecoveryPoints) Latest() time.Time {
	if len(p.Times) == 0 {
		return time.Time{}
	}
	return p.Times[len(p.Times)-1]
}

// Has reports whether t is a point the replica can be recovered to.
func (p RecoveryPoints) Has(t time.Time) bool {
	if p.Continuous {
		return !t.Before(p.JournalStart) && !t.After(p.Latest())
	}
	for _, x := range p.Times {
		if x.Equal(t) {
			return true
		}
	}
	return false
}

// VM returns the site's VM with the given name outside the replica and
// drill folders first, or any VM of that name, or nil.
func (s *Site) VM(name string) *VM {
	var any *VM
	for _, v := range s.VMs {
		if v.Name != name {
			continue
		}
		if v.Replica == nil && v.Run == "" {
			return v
		}
		if any == nil {
			any = v
		}
	}
	return any
}

// ReplicaOf returns the replica of a protected VM held at this site, or nil.
func (s *Site) ReplicaOf(vm string) *VM {
	for _, v := range s.VMs {
		if v.Replica != nil && v.Replica.Of == vm && v.Run == "" {
			return v
		}
	}
	return nil
}

// String lists the points for people: "[10:00:00 10:15:00]" in RFC 3339,
// or "journal START..LATEST".
func (p RecoveryPoints) String() string {
	if p.Continuous {
		return "journal " + p.JournalStart.UTC().Format(time.RFC3339) + ".." + p.Latest().UTC().Format(time.RFC3339)
	}
	s := "["
	for i, t := range p.Times {
		if i > 0 {
			s += " "
		}
		s += t.UTC().Format(time.RFC3339)
	}
	return s + "]"
}
