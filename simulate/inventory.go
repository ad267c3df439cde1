package simulate

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vapi/tags"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/drplan/drplan/internal/units"
	"github.com/drplan/drplan/providers/vsphere"
)

// GuestIPKey is the extraConfig key under which a simulated VM carries the
// address its guest takes when it boots (guest customization overrides
// it). Clones copy it, so a drill copy comes up with its source's address,
// inside its isolated network.
const GuestIPKey = "guestinfo.drplan.ip"

// IsolatedDescription marks the port groups drills use: no uplinks, no
// route to production.
const IsolatedDescription = "drplan test network: isolated, no uplinks"

func randomPassword() string {
	b := make([]byte, 12)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// createNetworks adds a distributed port group for each network the site
// needs.
func (s *Site) createNetworks(ctx context.Context, finder *find.Finder) error {
	if len(s.spec.networks) == 0 {
		return nil
	}
	nets, err := finder.NetworkList(ctx, "*")
	if err != nil {
		return err
	}
	var dvs *object.DistributedVirtualSwitch
	exists := map[string]bool{}
	for _, n := range nets {
		if d, ok := n.(*object.DistributedVirtualSwitch); ok {
			dvs = d
		}
		exists[path.Base(n.GetInventoryPath())] = true
	}
	if dvs == nil {
		return fmt.Errorf("the simulated datacenter has no distributed switch")
	}
	var specs []types.DVPortgroupConfigSpec
	for _, n := range s.spec.networks {
		if exists[n.name] {
			continue // such as the standard "VM Network"
		}
		spec := types.DVPortgroupConfigSpec{Name: n.name, Type: string(types.DistributedVirtualPortgroupPortgroupTypeEarlyBinding), NumPorts: 1024}
		if n.isolated {
			spec.Description = IsolatedDescription
		}
		specs = append(specs, spec)
	}
	if len(specs) == 0 {
		return nil
	}
	task, err := dvs.AddPortgroup(ctx, specs)
	if err != nil {
		return err
	}
	return task.Wait(ctx)
}

// createTags creates the categories and tags the site's VMs and selectors
// use, through the vAPI tagging endpoint, and returns tag IDs by
// CATEGORY:TAG.
func (s *Site) createTags(ctx context.Context) (map[string]string, error) {
	ids := map[string]string{}
	if len(s.spec.tags) == 0 {
		return ids, nil
	}
	m, err := s.tagManager(ctx)
	if err != nil {
		return nil, err
	}
	cats := map[string]string{}
	for _, t := range s.spec.tags {
		cat, name, _ := strings.Cut(t, ":")
		if cats[cat] == "" {
			id, err := m.CreateCategory(ctx, &tags.Category{Name: cat, Cardinality: "MULTIPLE", AssociableTypes: []string{"VirtualMachine"}})
			if err != nil {
				return nil, fmt.Errorf("tag category %s: %w", cat, err)
			}
			cats[cat] = id
		}
		id, err := m.CreateTag(ctx, &tags.Tag{Name: name, CategoryID: cats[cat]})
		if err != nil {
			return nil, fmt.Errorf("tag %s: %w", t, err)
		}
		ids[t] = id
	}
	return ids, nil
}

// tagManager logs in to the site's vAPI endpoint over HTTPS.
func (s *Site) tagManager(ctx context.Context) (*tags.Manager, error) {
	sc := soap.NewClient(s.URL, true)
	vc, err := vim25.NewClient(ctx, sc)
	if err != nil {
		return nil, err
	}
	rc := rest.NewClient(vc)
	if err := rc.Login(ctx, s.URL.User); err != nil {
		return nil, fmt.Errorf("vAPI login: %w", err)
	}
	return tags.NewManager(rc), nil
}

func (s *Site) attachTags(ctx context.Context, ids map[string]string, v *VM, vm *object.VirtualMachine) error {
	if len(v.Tags) == 0 {
		return nil
	}
	m, err := s.tagManager(ctx)
	if err != nil {
		return err
	}
	var list []string
	for _, t := range v.Tags {
		list = append(list, ids[t])
	}
	return m.AttachMultipleTagsToObject(ctx, list, vm)
}

// createDatastore gives the site a datastore of its own, mounted on every
// host, in a directory on a memory file system where there is one: VM
// creation in the simulator is mostly file creation.
func (s *Site) createDatastore(ctx context.Context, finder *find.Finder) error {
	base := ""
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		base = "/dev/shm"
	}
	dir, err := os.MkdirTemp(base, "drplan-sim-")
	if err != nil {
		dir, err = os.MkdirTemp("", "drplan-sim-")
		if err != nil {
			return err
		}
	}
	s.dir = dir
	s.datastore = s.Datacenter + "-datastore"
	local := filepath.Join(dir, s.datastore)
	if err := os.Mkdir(local, 0o700); err != nil {
		return err
	}
	hosts, err := finder.HostSystemList(ctx, "*/*")
	if err != nil {
		return err
	}
	for _, h := range hosts {
		dss, err := h.ConfigManager().DatastoreSystem(ctx)
		if err != nil {
			return err
		}
		_, err = dss.CreateNasDatastore(ctx, types.HostNasVolumeSpec{
			RemoteHost: "nfs." + strings.ToLower(s.Name) + ".sim", RemotePath: "/exports/" + s.datastore,
			LocalPath: local, AccessMode: string(types.HostMountModeReadWrite), Type: string(types.HostFileSystemVolumeFileSystemTypeNFS),
		})
		if err != nil {
			return fmt.Errorf("datastore on %s: %w", h.Name(), err)
		}
	}
	return s.sizeDatastore(ctx, finder)
}

// sizeDatastore gives the site's datastore the capacity its spec asks
// for (sizeSite), all of it free: no VM is on it yet. The simulator
// takes each disk created from the free space.
func (s *Site) sizeDatastore(ctx context.Context, finder *find.Finder) error {
	size := s.spec.hw.storage
	if size <= 0 {
		return nil
	}
	ref, err := finder.Datastore(ctx, s.datastore)
	if err != nil {
		return err
	}
	ds, ok := s.Model.Map().Get(ref.Reference()).(*simulator.Datastore)
	if !ok {
		return fmt.Errorf("datastore %s not in the simulator's map", s.datastore)
	}
	sctx := s.context()
	s.Model.Map().WithLock(sctx, ds, func() {
		sum := ds.Summary
		sum.Capacity, sum.FreeSpace = size, size
		info := ds.Info.GetDatastoreInfo()
		info.FreeSpace, info.MaxFileSize = size, size
		sctx.Update(ds, []types.PropertyChange{{Name: "summary", Val: sum}})
	})
	return nil
}

// placement holds what VM creation needs at a site.
type placement struct {
	pool      *object.ResourcePool
	datastore *object.Datastore
	networks  map[string]types.BaseVirtualDeviceBackingInfo
}

func (s *Site) placementEnv(ctx context.Context, finder *find.Finder) (*placement, error) {
	pool, err := finder.DefaultResourcePool(ctx)
	if err != nil {
		return nil, err
	}
	ds, err := finder.Datastore(ctx, s.datastore)
	if err != nil {
		return nil, err
	}
	env := &placement{pool: pool, datastore: ds, networks: map[string]types.BaseVirtualDeviceBackingInfo{}}
	for _, n := range s.spec.networks {
		ref, err := finder.Network(ctx, networkPath(s.Datacenter, n.name))
		if err != nil {
			return nil, fmt.Errorf("port group %s: %w", n.name, err)
		}
		backing, err := ref.EthernetCardBackingInfo(ctx)
		if err != nil {
			return nil, err
		}
		env.networks[n.name] = backing
	}
	return env, nil
}

// createVM creates a VM with its disk and NICs. Replicas get their NICs
// disconnected at power-on until recovery connects them.
func (s *Site) createVM(ctx context.Context, env *placement, folder *object.Folder, v *VM, networks []string, replica bool) (*object.VirtualMachine, error) {
	var devices object.VirtualDeviceList
	scsi, err := devices.CreateSCSIController("pvscsi")
	if err != nil {
		return nil, err
	}
	devices = append(devices, scsi)
	disk := devices.CreateDisk(scsi.(types.BaseVirtualController), env.datastore.Reference(), "")
	disk.CapacityInBytes = int64(v.Disk)
	disk.CapacityInKB = int64(v.Disk) / 1024
	devices = append(devices, disk)
	for _, n := range networks {
		backing := env.networks[n]
		if backing == nil {
			return nil, fmt.Errorf("no port group %q at site %s", n, s.Name)
		}
		nic, err := devices.CreateEthernetCard("vmxnet3", backing)
		if err != nil {
			return nil, err
		}
		nic.GetVirtualDevice().Connectable = &types.VirtualDeviceConnectInfo{StartConnected: !replica, AllowGuestControl: true}
		devices = append(devices, nic)
	}
	changes, err := devices.ConfigSpec(types.VirtualDeviceConfigSpecOperationAdd)
	if err != nil {
		return nil, err
	}
	spec := types.VirtualMachineConfigSpec{
		Name:         v.Name,
		GuestId:      string(types.VirtualMachineGuestOsIdentifierOtherLinux64Guest),
		NumCPUs:      int32(v.CPUs),
		MemoryMB:     int64(v.Memory) >> 20,
		Files:        &types.VirtualMachineFileInfo{VmPathName: fmt.Sprintf("[%s]", env.datastore.Name())},
		DeviceChange: changes,
		ExtraConfig: []types.BaseOptionValue{
			&types.OptionValue{Key: GuestIPKey, Value: v.IP.String()},
			&types.OptionValue{Key: BootTimeKey, Value: units.FormatDuration(v.BootTime)},
			&types.OptionValue{Key: SourceVMKey, Value: v.Name},
		},
	}
	task, err := folder.CreateVM(ctx, spec, env.pool, nil)
	if err != nil {
		return nil, err
	}
	res, err := s.wait(ctx, task)
	if err != nil {
		return nil, err
	}
	return object.NewVirtualMachine(s.client, res.(types.ManagedObjectReference)), nil
}

// powerOnBooted powers on a VM of the site's running inventory and makes
// its guest look booted at once: the world starts in steady state.
func (s *Site) powerOnBooted(ctx context.Context, vm *object.VirtualMachine, v *VM) error {
	task, err := vm.PowerOn(ctx)
	if err != nil {
		return err
	}
	if _, err := s.wait(ctx, task); err != nil {
		return fmt.Errorf("powering on %s: %w", v.Name, err)
	}
	if s.world.hungGuest(v.Name) {
		// A hung guest: on, but no tools, no heartbeat, no address.
		return nil
	}
	s.setGuest(vm.Reference(), true, v.IP.String())
	return nil
}

// placeReplicas creates, at this recovery site, a powered-off replica of
// every protected VM recovered here, in the replica folder, marked with
// what it copies. Its NICs sit on the networks the plan maps its
// networks to, disconnected.
func (s *Site) placeReplicas(ctx context.Context, parallel int) error {
	if len(s.spec.replicas) == 0 {
		return nil
	}
	finder := find.NewFinder(s.client)
	dc, err := finder.Datacenter(ctx, s.Datacenter)
	if err != nil {
		return err
	}
	finder.SetDatacenter(dc)
	env, err := s.placementEnv(ctx, finder)
	if err != nil {
		return err
	}
	folders := dcFolders(ctx, dc)
	folder, err := s.folder(ctx, folders, vsphere.ReplicaFolder)
	if err != nil {
		return err
	}
	return forEach(ctx, parallel, s.spec.replicas, func(ctx context.Context, v *VM) error {
		vm, err := s.createVM(ctx, env, folder, v, v.RecoveryNetworks, true)
		if err != nil {
			return fmt.Errorf("replica of %s: %w", v.Name, err)
		}
		// The replication records the protected VM's address, as
		// replication products keep the VM's configuration.
		info := vsphere.ReplicaInfo{VM: v.Name, Group: v.Group, Site: v.Site, Folder: v.Folder}
		if v.IP.IsValid() {
			info.IPs = []string{v.IP.String()}
		}
		if err := s.setField(ctx, vm.Reference(), vsphere.FieldReplica, info.String()); err != nil {
			return err
		}
		s.world.engine.register(s, vm.Reference(), v)
		return nil
	})
}

// wait waits for a task the site's in-process client started and returns
// its result. It reads the task in the simulator's registry instead of
// going through the property collector, which costs more than the work
// itself when the world is built, and is woken by the task's end
// (taskWatch).
func (s *Site) wait(ctx context.Context, task *object.Task) (types.AnyType, error) {
	t, ok := s.Model.Map().Get(task.Reference()).(*simulator.Task)
	if !ok {
		info, err := task.WaitForResult(ctx)
		if err != nil {
			return nil, err
		}
		return info.Result, nil
	}
	info := s.tasks.wait(ctx, s.Model.Map(), t, maxTaskWait)
	switch info.State {
	case types.TaskInfoStateSuccess:
		return info.Result, nil
	case types.TaskInfoStateError:
		if info.Error != nil {
			return nil, fmt.Errorf("%s: %s", task.Reference().Value, info.Error.LocalizedMessage)
		}
		return nil, fmt.Errorf("%s failed", task.Reference().Value)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("%s: not done after %s", task.Reference().Value, maxTaskWait)
}
