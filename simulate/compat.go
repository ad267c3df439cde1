package simulate

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// Clients of older API versions. vCenter serialises its answers for the
// API version a client names in its SOAPAction ("urn:vim25/6.7.1"), so a
// client never sees a property its version does not define; strict ones
// (pyVmomi) refuse such a property outright. vcsim answers every client
// with everything it has. The one property a client meets before it can
// do anything at all is the service content's tenantManager (API 6.9.1):
// the front leaves it out for clients older than that.
var (
	serviceContentCall = []byte("<RetrieveServiceContent")
	tenantManagerElem  = regexp.MustCompile(`<tenantManager\b[^>]*>[^<]*</tenantManager>`)
)

// serveOlderClient serves a RetrieveServiceContent call of a client older
// than API 6.9.1 without the properties it does not know, and says
// whether it did.
func (s *Site) serveOlderClient(w http.ResponseWriter, r *http.Request, body []byte, inner http.Handler) bool {
	if !bytes.Contains(body, serviceContentCall) || !apiOlderThan(r.Header.Get("SOAPAction"), 6, 9, 1) {
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	inner.ServeHTTP(rec, r)
	out := tenantManagerElem.ReplaceAll(rec.body.Bytes(), nil)
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(rec.status)
	w.Write(out)
	return true
}

// apiOlderThan reports whether a SOAPAction names a vim25 API version
// older than major.minor.patch; one that names none is taken as current.
func apiOlderThan(action string, major, minor, patch int) bool {
	v, ok := strings.CutPrefix(strings.Trim(action, `"`), "urn:vim25/")
	if !ok {
		return false
	}
	want := []int{major, minor, patch}
	parts := strings.Split(v, ".")
	for i := range want {
		n := 0
		if i < len(parts) {
			var err error
			if n, err = strconv.Atoi(parts[i]); err != nil {
				return false
			}
		}
		if n != want[i] {
			return n < want[i]
		}
	}
	return false
}

// Values vCenter always gives and vcsim leaves empty. An empty enum is
// not a value of its type: strict clients (pyVmomi) refuse the whole
// answer that carries one.
const (
	// FieldValueType is the type of a custom attribute's values, as
	// vCenter reports it in CustomFieldDef.type (vcsim reports the
	// managed object type there, empty for a global attribute).
	FieldValueType = "string"
)

// defaults gives every VM a site's simulator registers (those the world
// is built with, replicas, and the VMs clients create or clone later)
// the enum values vCenter gives a VM without fault tolerance or record
// and replay, and a gray heartbeat until its guest reports in: vcsim
// leaves them empty.
type defaults struct{ self types.ManagedObjectReference }

func newDefaults(s *Site) *defaults {
	return &defaults{self: types.ManagedObjectReference{Type: "DrplanDefaults", Value: "defaults-" + s.Name}}
}

func (d *defaults) Reference() types.ManagedObjectReference { return d.self }

// PutObject runs as an object enters the registry, before any client can
// have read it.
func (d *defaults) PutObject(_ *simulator.Context, obj mo.Reference) {
	vm, ok := obj.(*simulator.VirtualMachine)
	if !ok {
		return
	}
	vmDefaults(&vm.Runtime)
	vmDefaults(&vm.Summary.Runtime)
	if vm.GuestHeartbeatStatus == "" {
		vm.GuestHeartbeatStatus = types.ManagedEntityStatusGray
	}
	if vm.Summary.QuickStats.GuestHeartbeatStatus == "" {
		vm.Summary.QuickStats.GuestHeartbeatStatus = types.ManagedEntityStatusGray
	}
}

func vmDefaults(rt *types.VirtualMachineRuntimeInfo) {
	if rt.FaultToleranceState == "" {
		rt.FaultToleranceState = types.VirtualMachineFaultToleranceStateNotConfigured
	}
	if rt.RecordReplayState == "" {
		rt.RecordReplayState = types.VirtualMachineRecordReplayStateInactive
	}
}

func (d *defaults) UpdateObject(*simulator.Context, mo.Reference, []types.PropertyChange) {}
func (d *defaults) RemoveObject(*simulator.Context, types.ManagedObjectReference)         {}

// typedFields stands in for the site's CustomFieldsManager in
// AddCustomFieldDef calls: a field it adds has the type vCenter gives,
// not vcsim's (the managed object type).
type typedFields struct {
	*simulator.CustomFieldsManager
	site *Site
}

func (f *typedFields) AddCustomFieldDef(ctx *simulator.Context, req *types.AddCustomFieldDef) soap.HasFault {
	res := f.CustomFieldsManager.AddCustomFieldDef(ctx, req)
	if body, ok := res.(*methods.AddCustomFieldDefBody); ok && body.Res != nil {
		f.site.typeField(ctx, f.CustomFieldsManager, body.Res.Returnval.Key)
		body.Res.Returnval.Type = FieldValueType
	}
	return res
}

// typeField gives a custom field definition the value type vCenter
// reports, in the manager and in the availableField of every object
// that lists it. The caller holds the manager's lock.
func (s *Site) typeField(ctx *simulator.Context, cfm *simulator.CustomFieldsManager, key int32) {
	moType := ""
	for i := range cfm.Field {
		if cfm.Field[i].Key == key {
			cfm.Field[i].Type = FieldValueType
			moType = cfm.Field[i].ManagedObjectType
		}
	}
	for _, e := range ctx.Map.All(moType) {
		entity := e.Entity()
		ctx.WithLock(e, func() {
			for i := range entity.AvailableField {
				if entity.AvailableField[i].Key == key {
					entity.AvailableField[i].Type = FieldValueType
				}
			}
		})
	}
}

// addField adds a custom field for the simulator's own use, typed as
// vCenter types it.
func (s *Site) addField(ctx context.Context, name, moType string) (int32, error) {
	def, err := object.NewCustomFieldsManager(s.client).Add(ctx, name, moType, nil, nil)
	if err != nil {
		return 0, err
	}
	sctx := s.context()
	cfm := s.Model.Map().CustomFieldsManager()
	s.Model.Map().WithLock(sctx, cfm, func() { s.typeField(sctx, cfm, def.Key) })
	return def.Key, nil
}
