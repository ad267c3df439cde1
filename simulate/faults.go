package simulate

import (
	"io"
	"log"
	"net/http"
	"path"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
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
					MethodName: "PowerOnVM_Task", ObjectType: "VirtualMachine", ObjectName: "*",
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
	// told its thumbprint) are their own business, not log noise.
	s.Server.Server.Config.ErrorLog = log.New(io.Discard, "", 0)
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
		inner.ServeHTTP(w, r)
	})
}

// intercept sees every API call the site serves: it counts them, and
// routes clones through serialClone.
func (s *Site) intercept(ctx *simulator.Context, m *simulator.Method) (mo.Reference, types.BaseMethodFault) {
	c, ok := s.calls.Load(m.Name)
	if !ok {
		c, _ = s.calls.LoadOrStore(m.Name, new(atomic.Int64))
	}
	c.(*atomic.Int64).Add(1)
	if m.Name == "CloneVM_Task" {
		if vm, ok := ctx.Map.Get(m.This).(*simulator.VirtualMachine); ok {
			return &serialClone{VirtualMachine: vm, mu: &s.cloneMu}, nil
		}
	}
	return nil, nil
}

// serialClone runs a site's clones one at a time. vcsim's clone task
// reads its destination folder's children while another clone may be
// adding one whose name is not set yet, and panics, taking the whole
// process down; vCenter itself serialises such folder updates too.
type serialClone struct {
	*simulator.VirtualMachine
	mu *sync.Mutex
}

// CloneVMTask clones and waits for the clone task to end before the next
// clone of the site may start. The caller still gets the task to wait on.
func (v *serialClone) CloneVMTask(ctx *simulator.Context, req *types.CloneVM_Task) soap.HasFault {
	v.mu.Lock()
	defer v.mu.Unlock()
	res := v.VirtualMachine.CloneVMTask(ctx, req)
	if body, ok := res.(*methods.CloneVM_TaskBody); ok && body.Res != nil {
		if t, ok := ctx.Map.Get(body.Res.Returnval).(*simulator.Task); ok {
			t.Wait()
		}
	}
	return res
}
