// Package simulate builds a simulated datacenter from a plan: one vCenter
// per site, each a govmomi simulator (vcsim) model served over HTTPS on
// loopback, so that drills run anywhere with no vCenter and the vSphere
// provider talks to them exactly as it talks to real ones.
//
// On top of what vcsim models it adds what disaster recovery needs:
// replicas of the protected VMs at their recovery sites, whose recovery
// points are a function of the world's clock by each group's method and
// RPO, published lazily in their custom attributes when clients read
// them (spec.go, replication.go); a boot model in which guest tools,
// heartbeat and IP address come up boot_time after a power-on (boot.go);
// guest programs, which the guest process manager "runs" by a documented
// rule, since no guest really runs (guest.go); guest services that
// simulated http and tcp checks reach in process (services.go); and the
// faults a plan's simulation block injects (faults.go).
// All drplan state lives in vCenter as custom attributes, written through
// the vSphere API and readable by any client (see providers/vsphere's
// markers).
//
// # Time
//
// Every time inside the world is plan time on World.Clock (Options.Clock):
// a clock.Virtual for a world run in process with the runner (drills,
// --sim, tests), on which boots, outages, service delays and slow API
// calls take exactly their plan time and cost no wall time; or, by
// default, the wall clock scaled by time_scale (clock.Scaled) for a world
// external clients use (`drplan sim serve`). The package never converts
// time itself. Waits that hold a caller (a slow_api call, a slow service)
// pause the caller's clock.Work and resume it before answering.
// site_down faults count from World.Begin, which the command layer calls
// right before a run starts.
//
// # Faults from a seed
//
// Probabilistic api_error faults are decided by a hash of
// (Options.Seed, fault, method, object, attempt), the attempt being how
// many calls of that method on that object came before: the same seed
// gives the same faults whatever the order of calls across objects.
//
// Only the CLI, tests and tools import this package; the runner and the
// vSphere provider never do.
package simulate
