// Package simulate builds a simulated datacenter from a plan: one vCenter
// per site, each a govmomi simulator (vcsim) model served over HTTPS on
// loopback, so that drills run anywhere with no vCenter and the vSphere
// provider talks to them exactly as it talks to real ones.
//
// On top of what vcsim models it adds what disaster recovery needs:
// replicas of the protected VMs at their recovery sites, kept by a
// replication engine that advances recovery points by each group's method
// and RPO (spec.go, replication.go); a boot model in which guest tools,
// heartbeat and IP address come up boot_time × time_scale after a power-on
// (boot.go); guest programs, which the guest process manager "runs" by a
// documented rule, since no guest really runs (guest.go); and the faults a
// plan's simulation block injects (faults.go).
// All drplan state lives in vCenter as custom attributes, written through
// the vSphere API and readable by any client (see providers/vsphere's
// markers).
//
// Only the CLI, tests and tools import this package; the runner and the
// vSphere provider never do.
package simulate
