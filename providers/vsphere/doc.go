// Package vsphere is drplan's vSphere provider: a providers.Connector
// whose sites carry out steps as vSphere API calls through govmomi,
// against real vCenters and against the simulated sites of package
// simulate alike, which it cannot tell apart (it never imports simulate).
//
// # State in vCenter
//
// drplan keeps its state in vCenter itself, as custom attributes
// (markers.go): drplan.replica says which protected VM a replica copies,
// drplan.points which recovery points it holds, drplan.run which run
// created a VM or folder. A storage or replication product's integration
// (or the simulator) writes the first two; the provider writes the third
// on the copies it makes and on the run's own folder (the last folder of
// a clone's path, drplan-drill/RUNID, when the clone creates it), which
// is how Marked finds a run's leftovers. The folders above a run's own
// are shared by runs and stay unmarked, whoever created them.
//
// # Connections
//
// Open (connect.go) logs in over HTTPS, verifying the certificate against
// the system roots, a configured CA certificate or a pinned thumbprint,
// and resolves the datacenter. A site keeps one session: govmomi's
// keep-alive handler keeps it from expiring, and a round tripper logs in
// again after a NotAuthenticated fault and retries the call once. After a
// dropped connection it retries only calls that change nothing (property
// retrieval, inventory lookups); a mutating call is not resent, since the
// server may have carried it out, and comes back as a Transient error.
// Every SOAP and vAPI call is counted (Calls).
//
// # Few round trips
//
// Inventory reads a whole datacenter (VMs, folders, port groups, hosts,
// datastores, custom attribute names) with one container view and one
// property collector retrieval, and the VMs' tags through the vAPI
// tagging endpoint in bulk (one call lists what every tag is attached
// to). Tasks are waited on with the property collector, never by
// polling, and together (taskwait.go), on govmomi's view.ListView and
// property.Collector: every task the site starts goes into one ListView
// of the session (one ResetListView, shared by the tasks started at the
// same time; finished tasks leave in the same call), one
// property.WaitFilter follows the state of everything in it, and one
// goroutine waits on it for all of them, so that a task costs about one
// call of its own (a task on its own, at a site whose tasks are mostly
// over before they could be watched, is read once instead). Clones that
// start together read their replicas in one call (replicaread.go). When
// the session ends (a re-login), the view is made again with the tasks
// still pending; a ListView reports what enters it as it is, so a task
// that finished meanwhile, or before it was added, is seen at once.
// WaitReady follows a
// whole batch of VMs with one property filter, and reports each VM as soon
// as it is ready (or gone), not when the batch is done. Port group names, custom
// attribute keys, folders the site made or found and the copies it made
// are remembered, so a clone into an existing drill folder costs no
// lookups, and neither do later calls that name a copy (or what Marked
// found) by path alone; a known Ref (a replica's from Inventory, a copy's
// from Clone or Marked) always saves the lookup. A drill of VMs cloned
// and powered on in parallel costs six to seven calls per VM (clone,
// power on, wait for the heartbeat) and its cleanup about four or five
// more (TestDrillCallsPerVM).
//
// # Safety
//
// A read-only site refuses every mutating call before making any API
// call. Reconfiguring a NIC onto a port group that does not exist never
// reaches vCenter: names are checked against the datacenter's port groups
// first. Destroy refuses replicas (drplan.replica set) and folders that
// are not empty, and removes only the folder it is given: the folders
// above a run's own stay for the next runs. PowerOff and Destroy of a VM
// that is not there succeed, so that a cleanup after a failed copy goes
// through.
//
// # Errors
//
// Every error is an *errs.Error with the operation, the object and a
// kind (errors.go): connection trouble, timeouts and the faults of a busy
// server (SystemError, TaskInProgress, ResourceInUse, InvalidState, and a
// NotAuthenticated that logging in again did not cure) are Transient, and
// so is GuestOperationsUnavailable (VMware Tools not running yet);
// missing objects, bad arguments, refused permissions, duplicate names,
// untrusted certificates, refused guest logins and a VM in the wrong
// power state are Permanent; a cancelled call is Canceled. The provider
// does not retry a transient failure: errs.Retryable decides and the
// runner tries the step again (errs.Policy). What loops remain are not
// retries of a failure: a resend after logging in again or on a new
// connection (above), a second look-up after a remembered reference
// went stale, a power-off before a destroy, a second read of the port
// groups after a name was missing, and a lock's take-or-break loop.
// Open's errors name the site and its URL
// (without user name or password) and say on one line what to check:
// DNS, a refused, reset or silent connection, the certificate, the
// credentials. Faults are found by walking the error tree in eachFault,
// which never panics on the nil at the end of a chain (govmomi's
// fault.In does, for every unresolvable host name) or on a typed nil.
//
// # Guest operations
//
// RunInGuest (guest.go) starts a program with the guest process manager
// and follows it with ListProcessesInGuest, polling (guest operations
// have no property to wait on), until it ends; a caller that gives up
// terminates it.
package vsphere
