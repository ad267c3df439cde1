package simulate

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http"
	"os"
	"path"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/drplan/drplan/internal/clock"
	"github.com/drplan/drplan/internal/seeded"
	"github.com/drplan/drplan/plans"
	"github.com/drplan/drplan/providers/vsphere"
)

// faultSet holds the faults of the plan's simulation block that concern
// one site.
type faultSet struct {
	site        *Site
	noHeartbeat []string // VM name patterns whose guests never come up
	// api are the api_error faults, decided in intercept.
	api []*apiFault
	// slow is the plan-time latency slow_api faults add to a method.
	slow map[string]time.Duration
	// outages are the site_down faults, scheduled by begin.
	outages []outage

	mu       sync.Mutex
	attempts map[attemptKey]uint64 // calls so far of a method on an object
	timers   []clock.Timer
	stopped  bool
}

// apiFault is one api_error fault.
type apiFault struct {
	index       int    // among the site's api_error faults, for the draw
	method      string // a method name, or "*"
	probability float64
	count       int // faults it may inject, 0 meaning no limit
	fired       int
}

type attemptKey struct {
	method string
	obj    string
}

type outage struct{ at, d time.Duration }

// newFaultSet installs a site's faults: power-on failures through the
// simulator's own fault injection; api_error faults (intercept) and
// slow_api faults (the HTTP front) decided here; site outages scheduled
// by begin.
func newFaultSet(s *Site) *faultSet {
	fs := &faultSet{site: s, slow: map[string]time.Duration{}, attempts: map[attemptKey]uint64{}}
	sim := s.world.Plan.Simulation
	if sim == nil {
		return fs
	}
	for _, f := range sim.Faults {
		if f.Site != "" && f.Site != s.Name {
			continue
		}
		switch f.Kind {
		case plans.BootFailure:
			if f.BootMode == plans.PowerOnError {
				pattern := f.VM
				s.Model.Service.AddFaultRule(&simulator.FaultInjectionRule{
					MethodName: "PowerOnVM_Task", ObjectType: "*", ObjectName: "*",
					InclusionPropertyFilter: func(obj mo.Reference) bool {
						vm, ok := obj.(*simulator.VirtualMachine)
						if !ok {
							return false
						}
						name, _ := vmIdentity(&vm.VirtualMachine)
						ok, _ = path.Match(pattern, name)
						return ok
					},
					Probability: 1, FaultType: simulator.FaultTypeGeneric, Enabled: true,
					Message: "simulated boot failure: the VM cannot power on",
				})
			} else {
				fs.noHeartbeat = append(fs.noHeartbeat, f.VM)
			}
		case plans.APIError:
			fs.api = append(fs.api, &apiFault{index: len(fs.api), method: f.Method, probability: f.Probability, count: f.Count})
		case plans.SlowAPI:
			fs.slow[f.Method] += f.Latency
		case plans.SiteDown:
			at := f.At
			if f.AtStart {
				at = 0
			}
			fs.outages = append(fs.outages, outage{at, f.Duration})
		}
	}
	return fs
}

// begin schedules the site's outages from the clock's now (World.Begin).
func (fs *faultSet) begin() {
	c := fs.site.world.Clock
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.stopped {
		return
	}
	for _, o := range fs.outages {
		if o.at <= 0 {
			// Down from the start: at once, not when time first moves.
			fs.site.SetDown(true)
			if o.d > 0 {
				fs.timers = append(fs.timers, c.AfterFunc(o.d, func() { fs.site.SetDown(false) }))
			}
			continue
		}
		fs.timers = append(fs.timers, c.AfterFunc(o.at, func() {
			fs.site.SetDown(true)
			if o.d > 0 {
				fs.mu.Lock()
				if !fs.stopped {
					fs.timers = append(fs.timers, c.AfterFunc(o.d, func() { fs.site.SetDown(false) }))
				}
				fs.mu.Unlock()
			}
		}))
	}
}

// stop cancels the outages not yet begun or ended.
func (fs *faultSet) stop() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.stopped = true
	for _, t := range fs.timers {
		t.Stop()
	}
	fs.timers = nil
}

// apiError decides whether a call of method on obj fails with an
// api_error fault, and returns the fault. The decision is a draw from
// the world's seed and (fault, method, object, attempt), the attempt
// being how many calls of that method on that object came before: the
// same seed gives the same decisions whatever the order of calls across
// objects. A fault with a count injects no more than count faults.
func (fs *faultSet) apiError(method string, obj string) types.BaseMethodFault {
	if len(fs.api) == 0 {
		return nil
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var attempt uint64
	counted := false
	for _, f := range fs.api {
		if f.method != "*" && f.method != method {
			continue
		}
		if !counted {
			k := attemptKey{method, obj}
			attempt = fs.attempts[k]
			fs.attempts[k] = attempt + 1
			counted = true
		}
		if f.count > 0 && f.fired >= f.count {
			continue
		}
		if seeded.New(fs.site.world.Seed).Int(uint64(f.index)).Word(method).Word(obj).Int(attempt).Float() < f.probability {
			f.fired++
			return &types.SystemErrorFault{Reason: apiErrorMessage(method)}
		}
	}
	return nil
}

func apiErrorMessage(method string) string { return "simulated API error in " + method }

// hasAPIError reports whether an api_error fault may fail method.
func (fs *faultSet) hasAPIError(method string) bool {
	for _, f := range fs.api {
		if f.method == "*" || f.method == method {
			return true
		}
	}
	return false
}

// slowFor waits the plan-time latency slow_api faults add to method,
// on behalf of the HTTP call r: on a virtual clock the caller's Work
// (clock.WorkHeader) is paused meanwhile and active again before the
// call is served. It reports false when the call ended first.
func (fs *faultSet) slowFor(r *http.Request, method string) bool {
	d := fs.slow[method]
	if d <= 0 {
		return true
	}
	var work *clock.Work
	if v, ok := fs.site.world.Clock.(*clock.Virtual); ok {
		work = v.WorkByID(r.Header.Get(clock.WorkHeader))
	}
	return fs.site.world.sleepFor(r.Context(), work, d) == nil
}

// neverBoots reports whether a VM's guest is set never to come up.
func (fs *faultSet) neverBoots(name string) bool {
	for _, p := range fs.noHeartbeat {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

// hungGuest reports whether a boot_failure fault that withholds the
// heartbeat names the VM: such a VM of the running inventory starts
// powered on with its guest hung (no tools, no address), so that it
// cannot be shut down cleanly either.
func (w *World) hungGuest(name string) bool {
	if w.Plan.Simulation == nil {
		return false
	}
	for _, f := range w.Plan.Simulation.Faults {
		if f.Kind != plans.BootFailure || f.BootMode == plans.PowerOnError {
			continue
		}
		if ok, _ := path.Match(f.VM, name); ok {
			return true
		}
	}
	return false
}

// SetDown makes the site's endpoint stop answering (every connection is
// dropped without a response, as when a site is cut off) or answer again.
// Replication from the site stops while it is down.
func (s *Site) SetDown(down bool) {
	if e := s.world.engine; e != nil {
		e.sourceDown(s)
	}
	s.down.Store(down)
}

// Down reports whether the site is cut off.
func (s *Site) Down() bool { return s.down.Load() }

// wrapHTTP puts the outage switch and the slow_api delays in front of the
// site's HTTP handler, and gives api_error faults their message.
func (s *Site) wrapHTTP() {
	// Clients that refuse the site's certificate (as they should until
	// told its thumbprint) are their own business, not log noise; a
	// handler's panic is not.
	s.Server.Server.Config.ErrorLog = log.New(panicsOnly{os.Stderr}, "simulated site "+s.Name+": ", 0)
	inner := s.Server.Server.Config.Handler
	s.Server.Server.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.down.Load() {
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return
				}
			}
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		serialise, body := s.serialised(r)
		method := soapMethod(body)
		if fs := s.builtFaults(); fs != nil {
			if !fs.slowFor(r, method) {
				return
			}
			if fs.hasAPIError(method) {
				// A fault returned by intercept reaches the client without
				// a message; give it the one it carries.
				rec := &recorder{header: http.Header{}, status: http.StatusOK}
				serve(s, rec, r, body, serialise, inner)
				out := rec.body.Bytes()
				if rec.status == http.StatusInternalServerError {
					out = bytes.Replace(out, []byte("<faultstring></faultstring>"),
						[]byte("<faultstring>"+apiErrorMessage(method)+"</faultstring>"), 1)
				}
				for k, v := range rec.header {
					w.Header()[k] = v
				}
				w.Header().Del("Content-Length")
				w.WriteHeader(rec.status)
				w.Write(out)
				return
			}
		}
		serve(s, w, r, body, serialise, inner)
	})
}

// builtFaults is the site's fault set once the world is built (nil while
// it is being built, when the server already serves).
func (s *Site) builtFaults() *faultSet {
	if !s.armed.Load() {
		return nil
	}
	return s.faults
}

// builtWaits is the site's own waits once the world is built (nil while
// it is being built, and on a scaled clock).
func (s *Site) builtWaits() *waits {
	if !s.armed.Load() {
		return nil
	}
	return s.waits
}

// serve passes a call on to the simulator, by way of the front's
// special cases.
func serve(s *Site, w http.ResponseWriter, r *http.Request, body []byte, serialise bool, inner http.Handler) {
	if serialise {
		s.serveSerially(w, r, body, inner)
		return
	}
	if ws := s.builtWaits(); ws != nil {
		// On a virtual clock the site serves waits itself (collector.go);
		// the view gate is for vcsim's own.
		if ws.serve(w, r, body, inner) {
			return
		}
	} else if s.views.serve(w, r, body, inner) {
		return
	}
	if s.serveOlderClient(w, r, body, inner) {
		return
	}
	inner.ServeHTTP(w, r)
}

// soapMethod is the name of the method a SOAP request body calls, or "".
func soapMethod(body []byte) string {
	i := bytes.Index(body, []byte("Body>"))
	if i < 0 {
		return ""
	}
	rest := bytes.TrimLeft(body[i+len("Body>"):], " \t\r\n")
	if len(rest) == 0 || rest[0] != '<' {
		return ""
	}
	rest = rest[1:]
	end := bytes.IndexAny(rest, " />\t\r\n")
	if end < 0 {
		return ""
	}
	name := rest[:end]
	if j := bytes.LastIndexByte(name, ':'); j >= 0 {
		name = name[j+1:]
	}
	return string(name)
}

// Clones, power-ons and reconfigurations are served one at a time, each
// until its task is done (a clone until the VM it creates exists). vcsim v0.56.0's clone task looks up its destination folder's
// children by name while concurrent clones and power-ons there leave a
// child without one, and panics, taking the whole process down
// (reproduced with 1,000 clones and power-ons at 16-way). Both are quick
// in the simulator, and vCenter serialises such folder updates too.
var (
	serialMethods = [][]byte{[]byte("<CloneVM_Task"), []byte("<PowerOnVM_Task"), []byte("<ReconfigVM_Task")}
	taskReturn    = regexp.MustCompile(`<returnval type="Task">([^<]+)</returnval>`)
)

// serialised reads the request body and says whether it is a call to
// serialise; the body is returned for replay.
func (s *Site) serialised(r *http.Request) (bool, []byte) {
	if r.Method != http.MethodPost || r.Body == nil {
		return false, nil
	}
	body, err := io.ReadAll(r.Body)
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return false, body
	}
	for _, m := range serialMethods {
		if bytes.Contains(body, m) {
			return true, body
		}
	}
	return false, body
}

// serveSerially serves one serialised call and holds the site's lock
// until the task it started is done.
func (s *Site) serveSerially(w http.ResponseWriter, r *http.Request, body []byte, inner http.Handler) {
	s.serialMu.Lock()
	defer s.serialMu.Unlock()
	clone := bytes.Contains(body, serialMethods[0])
	if clone {
		select { // a signal left from before is not this clone's
		case <-s.tasks.vmCreated:
		default:
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	inner.ServeHTTP(rec, r)
	if m := taskReturn.FindSubmatch(rec.body.Bytes()); m != nil {
		ref := types.ManagedObjectReference{Type: "Task", Value: string(m[1])}
		if t, ok := s.Model.Map().Get(ref).(*simulator.Task); ok {
			if clone {
				// A clone is let go once its VM exists, named, in its
				// folder (its createVm task is over): the race is in the
				// folder, and what is left of the clone (vcsim waits for
				// its createVm by sleeping 10 ms, then configures the
				// clone's devices) touches the clone alone.
				s.tasks.waitOr(context.Background(), s.Model.Map(), t, s.tasks.vmCreated, maxTaskWait)
			} else {
				s.waitTask(t)
			}
		}
	}
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.status)
	w.Write(rec.body.Bytes())
}

// waitTask waits for a task of the site to end; it is woken by the
// task's end (taskWatch): vcsim's own Task.Wait sleeps 10 ms between
// looks, too long to hold the lock. A task that has not ended after
// maxTaskWait is let go, so that one stuck task cannot hold every later
// call of the site.
func (s *Site) waitTask(t *simulator.Task) {
	s.tasks.wait(context.Background(), s.Model.Map(), t, maxTaskWait)
}

// maxTaskWait bounds how long the front holds a site for one task.
const maxTaskWait = time.Minute

// panicsOnly passes on the lines of a server's error log that report a
// handler's panic.
type panicsOnly struct{ w io.Writer }

func (p panicsOnly) Write(b []byte) (int, error) {
	if bytes.Contains(b, []byte("panic")) {
		p.w.Write(b)
	}
	return len(b), nil
}

// recorder keeps a response until it may be sent.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(status int)      { r.status = status }

// beforeRead publishes the recovery points a property read may return.
func (s *Site) beforeRead(specs []types.PropertyFilterSpec) {
	if wants, all, refs := readsFields(specs); wants {
		s.world.engine.beforeRead(s, all, refs)
	}
}

// fieldName is the name of the drplan custom attribute with key, or "".
func (s *Site) fieldName(key int32) string {
	for name, k := range s.fields {
		if k == key {
			return name
		}
	}
	return ""
}

// intercept sees every API call the site serves: it counts them, fails
// those an api_error fault decides to fail, publishes recovery points
// before reads that may return them, and tells the replication engine of
// changes to replicas.
func (s *Site) intercept(ctx *simulator.Context, m *simulator.Method) (mo.Reference, types.BaseMethodFault) {
	if !s.armed.Load() {
		return nil, nil // the world is being built
	}
	c, ok := s.calls.Load(m.Name)
	if !ok {
		c, _ = s.calls.LoadOrStore(m.Name, new(atomic.Int64))
	}
	c.(*atomic.Int64).Add(1)
	if s.waits != nil {
		s.waits.wrap(ctx, m)
	}
	if fs := s.faults; fs != nil {
		if f := fs.apiError(m.Name, objectKey(ctx, m.This)); f != nil {
			return nil, f
		}
	}
	switch body := m.Body.(type) {
	case *types.RetrievePropertiesEx:
		s.beforeRead(body.SpecSet)
	case *types.RetrieveProperties:
		s.beforeRead(body.SpecSet)
	case *types.SetField:
		if name := s.fieldName(body.Key); name == vsphere.FieldReplica || name == vsphere.FieldPromoted {
			s.world.engine.fieldSet(s, body.Entity, name, body.Value)
		}
	}
	switch m.Name {
	case "AddCustomFieldDef":
		return &typedFields{CustomFieldsManager: ctx.Map.CustomFieldsManager(), site: s}, nil
	case "FindChild", "FindByInventoryPath":
		return lockedSearch{ctx.Map.SearchIndex()}, nil
	}
	return nil, nil
}

// objectKey names the object a call is made on for the api_error draw:
// a managed entity by its type and name (a drill copy has its source's
// name, whatever reference the simulator gave it, which depends on the
// order copies were made), anything else by its reference.
func objectKey(ctx *simulator.Context, ref types.ManagedObjectReference) string {
	if e, ok := ctx.Map.Get(ref).(mo.Entity); ok {
		if name := e.Entity().Name; name != "" {
			return ref.Type + ":" + name
		}
	}
	return ref.Type + ":" + ref.Value
}
