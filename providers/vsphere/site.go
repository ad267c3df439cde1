package vsphere

import (
	"context"
	"errors"
	"net/url"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/task"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/drplan/drplan/internal/clock"
	"github.com/drplan/drplan/internal/errs"
	"github.com/drplan/drplan/providers"
)

// site is one opened vCenter datacenter.
type site struct {
	name     string
	readOnly bool
	clk      clock.Clock // the site's time (waits, deadlines, readiness times)
	user     *url.Userinfo
	calls    atomic.Int64

	sc      *soap.Client
	vc      *vim25.Client
	sm      *session.Manager
	relogin *reloginRoundTripper

	dc           *object.Datacenter
	datacenter   string
	vmFolder     types.ManagedObjectReference
	vmFolderPath string // "/DC/vm"

	folderMu   sync.Mutex // serialises finding and making folders
	mu         sync.Mutex
	fields     map[string]int32                        // custom attribute keys by name; nil until read
	folderRefs map[string]types.ManagedObjectReference // VM folders by path, as found or made
	nets       *networkSet                             // port groups; nil until read
	netsRead   time.Time
	collectors []pooledCollector // idle property collectors
	closed     bool
	made       map[string]types.ManagedObjectReference // copies this site made, by path
	ours       map[types.ManagedObjectReference]bool   // copies this site made

	tasks    *taskMux
	replicas replicaReads
	tags     tagCache
}

var _ providers.Site = (*site)(nil)

// Name returns the plan's name of the site.
func (s *site) Name() string { return s.name }

// Calls returns how many API calls (SOAP and vAPI) the site has made.
func (s *site) Calls() int64 { return s.calls.Load() }

// Close logs out and releases the site's connections.
func (s *site) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	pool := s.collectors
	s.collectors = nil
	s.mu.Unlock()
	s.tasks.close(ctx)
	for _, c := range pool {
		c.pc.Destroy(ctx)
	}
	s.tags.logout(ctx)
	err := s.sm.Logout(ctx)
	s.sc.CloseIdleConnections()
	if err != nil && !connectionError(err) {
		return fail("close", s.name, err)
	}
	return nil
}

// object names vm in errors.
func (s *site) object(vm providers.VM) string {
	if vm.Site == "" {
		vm.Site = s.name
	}
	if vm.Path == "" {
		vm.Path = vm.Ref
	}
	return vm.String()
}

// refOf returns the managed object reference of a VM (or of a folder
// that Marked listed). A known Ref is used as it is, which costs no
// call; otherwise the path is looked up under the datacenter's vm folder.
func (s *site) refOf(ctx context.Context, op string, vm providers.VM) (types.ManagedObjectReference, error) {
	if vm.Ref != "" {
		return refFromID(vm.Ref), nil
	}
	ref, err := s.lookup(ctx, vm.Path)
	if err != nil {
		return ref, fail(op, s.object(vm), err)
	}
	if ref.Value == "" {
		return ref, permanent(op, s.object(vm), "no VM %s in datacenter %s", vm.Path, s.datacenter)
	}
	return ref, nil
}

// lookup finds the object at a path under the vm folder; the zero
// reference means there is none.
func (s *site) lookup(ctx context.Context, p string) (types.ManagedObjectReference, error) {
	p = strings.Trim(p, "/")
	if p == "" {
		return s.vmFolder, nil
	}
	obj, err := object.NewSearchIndex(s.vc).FindByInventoryPath(ctx, s.vmFolderPath+"/"+p)
	if err != nil || obj == nil {
		return types.ManagedObjectReference{}, err
	}
	return obj.Reference(), nil
}

// refFromID turns a managed object ID into a reference. vCenter's IDs
// say their type: folders are "group-…", VMs "vm-…".
func refFromID(id string) types.ManagedObjectReference {
	if strings.HasPrefix(id, "group-") {
		return types.ManagedObjectReference{Type: "Folder", Value: id}
	}
	return types.ManagedObjectReference{Type: "VirtualMachine", Value: id}
}

// rememberVM notes a VM this site made (a copy), or that Marked found a
// run made, so that later calls that name it by path alone cost no lookup
// and Destroy knows it is no replica.
func (s *site) rememberVM(p string, ref types.ManagedObjectReference) {
	s.mu.Lock()
	s.made[strings.Trim(p, "/")] = ref
	s.ours[ref] = true
	s.mu.Unlock()
}

// forgetVM drops what rememberVM noted of a VM that is gone.
func (s *site) forgetVM(ref types.ManagedObjectReference) {
	s.mu.Lock()
	delete(s.ours, ref)
	for p, r := range s.made {
		if r == ref {
			delete(s.made, p)
		}
	}
	s.mu.Unlock()
}

// isOurs reports whether this site made the VM.
func (s *site) isOurs(ref types.ManagedObjectReference) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ours[ref]
}

// resolve returns the reference of a VM (or folder) for a call that
// acts on it: its Ref; else what this site remembers of its path (a copy
// it made, a folder it made or found), which costs no call; else the path
// looked up. The zero reference means nothing is at the path. remembered
// says the reference came from memory: when the object turns out gone,
// the caller forgets it and resolves the path again (someone may have
// replaced it).
func (s *site) resolve(ctx context.Context, vm providers.VM) (ref types.ManagedObjectReference, remembered bool, err error) {
	if vm.Ref != "" {
		return refFromID(vm.Ref), false, nil
	}
	p := strings.Trim(vm.Path, "/")
	s.mu.Lock()
	ref, ok := s.made[p]
	if !ok && p != "" {
		ref, ok = s.folderRefs[p]
	}
	s.mu.Unlock()
	if ok {
		return ref, true, nil
	}
	ref, err = s.lookup(ctx, p)
	return ref, false, err
}

// forgetPath drops what the site remembers of a path whose object turned
// out gone.
func (s *site) forgetPath(p string) {
	p = strings.Trim(p, "/")
	s.mu.Lock()
	if ref, ok := s.made[p]; ok {
		delete(s.made, p)
		delete(s.ours, ref)
	}
	s.mu.Unlock()
	s.forgetFolders()
}

// refuse returns the error of a mutating call on a read-only site, or
// nil.
func (s *site) refuse(op string, vm providers.VM) error {
	if !s.readOnly {
		return nil
	}
	return errs.E(op, s.object(vm), errs.ReadOnlyViolation, errors.New("the site is open read-only"))
}

// fieldKeys returns the keys of the custom attributes by name, read once.
func (s *site) fieldKeys(ctx context.Context) (map[string]int32, error) {
	s.mu.Lock()
	fields := s.fields
	s.mu.Unlock()
	if fields != nil {
		return fields, nil
	}
	defs, err := object.NewCustomFieldsManager(s.vc).Field(ctx)
	if err != nil {
		return nil, err
	}
	fields = map[string]int32{}
	for _, d := range defs {
		fields[d.Name] = d.Key
	}
	s.setFields(fields)
	return fields, nil
}

func (s *site) setFields(fields map[string]int32) {
	s.mu.Lock()
	s.fields = fields
	s.mu.Unlock()
}

// FieldObjectType is the managed object type a drplan custom attribute is
// defined for: VirtualMachine for those only VMs carry, Folder for the
// locks, "" (every type) for drplan.run, which marks VMs and folders.
func FieldObjectType(name string) string {
	switch name {
	case FieldReplica, FieldPoints, FieldPromoted, FieldSuspended, FieldOrigin:
		return "VirtualMachine"
	case FieldLock:
		return "Folder"
	}
	return ""
}

// fieldKey returns the key of a custom attribute, adding it (for the
// object type FieldObjectType names) when vCenter does not have it yet.
func (s *site) fieldKey(ctx context.Context, name string) (int32, error) {
	fields, err := s.fieldKeys(ctx)
	if err != nil {
		return 0, err
	}
	if k, ok := fields[name]; ok {
		return k, nil
	}
	m := object.NewCustomFieldsManager(s.vc)
	def, err := m.Add(ctx, name, FieldObjectType(name), nil, nil)
	if err != nil {
		if !isFault(err, &types.DuplicateName{}) {
			return 0, err
		}
		// Someone else added it meanwhile.
		k, ferr := m.FindKey(ctx, name)
		if ferr != nil {
			return 0, ferr
		}
		def = &types.CustomFieldDef{Name: name, Key: k}
	}
	s.mu.Lock()
	next := map[string]int32{name: def.Key}
	for n, k := range s.fields {
		next[n] = k
	}
	s.fields = next
	s.mu.Unlock()
	return def.Key, nil
}

// mark sets drplan.run on an object.
func (s *site) mark(ctx context.Context, ref types.ManagedObjectReference, runID string) error {
	key, err := s.fieldKey(ctx, FieldRun)
	if err != nil {
		return err
	}
	return object.NewCustomFieldsManager(s.vc).Set(ctx, ref, key, runID)
}

// fieldValue returns the value of a custom attribute in an object's
// customValue.
func fieldValue(values []types.BaseCustomFieldValue, key int32, ok bool) string {
	if !ok {
		return ""
	}
	for _, v := range values {
		if sv, isString := v.(*types.CustomFieldStringValue); isString && sv.Key == key {
			return sv.Value
		}
	}
	return ""
}

// pooledCollector is an idle property collector and the session it
// belongs to.
type pooledCollector struct {
	pc      *property.Collector
	session uint64
}

// Idle property collectors kept for readiness waits and for the rare task
// waited on alone: a wait on a pooled collector costs three calls instead
// of five.
const maxIdleCollectors = 16

// collector returns a property collector of the current session for the
// caller's own use; give it back with release.
func (s *site) collector(ctx context.Context) (pooledCollector, error) {
	cur := s.relogin.session()
	s.mu.Lock()
	for len(s.collectors) > 0 {
		c := s.collectors[len(s.collectors)-1]
		s.collectors = s.collectors[:len(s.collectors)-1]
		if c.session == cur {
			s.mu.Unlock()
			return c, nil
		}
		// A collector of an earlier session is gone with it.
	}
	s.mu.Unlock()
	pc, err := property.DefaultCollector(s.vc).Create(ctx)
	if err != nil {
		return pooledCollector{}, err
	}
	return pooledCollector{pc: pc, session: cur}, nil
}

// release returns a collector to the pool, or destroys it when the wait
// on it did not end cleanly or the pool is full.
func (s *site) release(c pooledCollector, clean bool) {
	if c.pc == nil {
		return
	}
	s.mu.Lock()
	if clean && !s.closed && len(s.collectors) < maxIdleCollectors && c.session == s.relogin.session() {
		s.collectors = append(s.collectors, c)
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c.pc.Destroy(ctx)
}

// wait waits for a task and returns its result; a task that failed
// comes back as a task.Error. Tasks are waited on together (taskwait.go).
func (s *site) wait(ctx context.Context, t *object.Task) (types.AnyType, error) {
	return s.tasks.wait(ctx, t.Reference())
}

// waitAlone waits for one task with a property collector of its own
// (three calls), for the rare task the shared view cannot take. A wait
// cut short by a new session (after a re-login; the collector went with
// the old one) is made again once, with a collector of the new session:
// that is no retry of a transient failure, which goes back to the
// runner's policy.
func (s *site) waitAlone(ctx context.Context, ref types.ManagedObjectReference) (types.AnyType, error) {
	for attempt := 0; ; attempt++ {
		c, err := s.collector(ctx)
		if err != nil {
			return nil, err
		}
		info, err := task.WaitEx(ctx, ref, c.pc, nil)
		var taskErr task.Error
		failed := errors.As(err, &taskErr)
		s.release(c, err == nil || failed)
		if err != nil && !failed && attempt == 0 && ctx.Err() == nil && c.session != s.relogin.session() {
			continue
		}
		if err != nil {
			return nil, err
		}
		if info == nil {
			return nil, nil
		}
		return info.Result, nil
	}
}

// joinPath joins folder path elements the way inventory paths read.
func joinPath(elem ...string) string {
	return strings.Trim(path.Join(elem...), "/")
}
