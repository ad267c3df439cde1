package simulate

import (
	"bytes"
	"io"
	"log"
	"net/http"
	"os"
	"path"
	"regexp"
	"sync/atomic"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/drplan/drplan/plans"
)

// faultSet holds the faults of the plan's simulation block that concern
// one site.
type faultSet struct {
	site        *Site
	noHeartbeat []string // VM name patterns whose guests never come up
}

// newFaultSet installs a site's faults: boot failures, API errors and slow
// API methods through the simulator's own fault injection and delays, and
// site outages through the HTTP front.
func newFaultSet(s *Site) *faultSet {
	fs := &faultSet{site: s}
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
			s.Model.Service.AddFaultRule(&simulator.FaultInjectionRule{
				MethodName: f.Method, ObjectType: "*", ObjectName: "*", MaxCount: f.Count,
				Probability: f.Probability, FaultType: simulator.FaultTypeGeneric, Enabled: true,
				Message: "simulated API error in " + f.Method,
			})
		case plans.SlowAPI:
			if s.Model.DelayConfig.MethodDelay == nil {
				s.Model.DelayConfig.MethodDelay = map[string]int{}
			}
			s.Model.DelayConfig.MethodDelay[f.Method] += int(s.world.Scale(f.Latency) / time.Millisecond)
		case plans.SiteDown:
			at := f.At
			if f.AtStart {
				at = 0
			}
			s.scheduleOutage(s.world.Scale(at), s.world.Scale(f.Duration))
		}
	}
	return fs
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

// scheduleOutage takes the site down after at, and back up after d when d
// is not zero.
func (s *Site) scheduleOutage(at, d time.Duration) {
	time.AfterFunc(at, func() {
		s.SetDown(true)
		if d > 0 {
			time.AfterFunc(d, func() { s.SetDown(false) })
		}
	})
}

// SetDown makes the site's endpoint stop answering (every connection is
// dropped without a response, as when a site is cut off) or answer again.
func (s *Site) SetDown(down bool) { s.down.Store(down) }

// Down reports whether the site is cut off.
func (s *Site) Down() bool { return s.down.Load() }

// wrapHTTP puts the outage switch in front of the site's HTTP handler.
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
		if serialise {
			s.serveSerially(w, r, body, inner)
			return
		}
		if s.waits != nil {
			if s.waits.serve(w, r, body, inner) {
				return
			}
		} else if s.views.serve(w, r, body, inner) {
			return
		}
		if s.serveOlderClient(w, r, body, inner) {
			return
		}
		inner.ServeHTTP(w, r)
	})
}

// Clones, power-ons and reconfigurations are served one at a time, each until its task is
// done. vcsim v0.56.0's clone task looks up its destination folder's
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
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	inner.ServeHTTP(rec, r)
	if m := taskReturn.FindSubmatch(rec.body.Bytes()); m != nil {
		ref := types.ManagedObjectReference{Type: "Task", Value: string(m[1])}
		if t, ok := s.Model.Map().Get(ref).(*simulator.Task); ok {
			s.waitTask(t)
		}
	}
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.status)
	w.Write(rec.body.Bytes())
}

// waitTask waits for a task of the site to end, checking often: vcsim's
// own Task.Wait sleeps 10 ms between looks, too long to hold the lock.
// A task that has not ended after maxTaskWait is let go, so that one
// stuck task cannot hold every later call of the site.
func (s *Site) waitTask(t *simulator.Task) {
	lockCtx := &simulator.Context{}
	pause := 50 * time.Microsecond
	for start := time.Now(); time.Since(start) < maxTaskWait; {
		var state types.TaskInfoState
		s.Model.Map().WithLock(lockCtx, t, func() { state = t.Info.State })
		if state == types.TaskInfoStateSuccess || state == types.TaskInfoStateError {
			return
		}
		time.Sleep(pause)
		pause = min(2*pause, 2*time.Millisecond)
	}
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

// intercept sees every API call the site serves: it counts them.
func (s *Site) intercept(ctx *simulator.Context, m *simulator.Method) (mo.Reference, types.BaseMethodFault) {
	c, ok := s.calls.Load(m.Name)
	if !ok {
		c, _ = s.calls.LoadOrStore(m.Name, new(atomic.Int64))
	}
	c.(*atomic.Int64).Add(1)
	if s.waits != nil {
		s.waits.wrap(ctx, m)
	}
	if m.Name == "AddCustomFieldDef" {
		return &typedFields{CustomFieldsManager: ctx.Map.CustomFieldsManager(), site: s}, nil
	}
	return nil, nil
}
