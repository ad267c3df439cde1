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
// on everything it creates, which is how Marked finds a run's leftovers.
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
// to). Tasks are waited on with the property collector, on a small pool
// of collectors so that a wait costs three calls, never by polling.
// WaitReady follows a whole batch of VMs with one property filter. Port
// group names, custom attribute keys and folders the site made are
// remembered, so a clone into an existing drill folder costs no lookups.
//
// # Safety
//
// A read-only site refuses every mutating call before making any API
// call. Reconfiguring a NIC onto a port group that does not exist never
// reaches vCenter: names are checked against the datacenter's port groups
// first. Destroy refuses replicas (drplan.replica set) and folders that
// are not empty; removing a run's folder also removes the folders above
// it that the same run created and that are left empty. PowerOff and
// Destroy of a VM that is not there succeed, so that a cleanup after a
// failed copy goes through.
//
// # Errors
//
// Every error is a *providers.Error with the operation, the object and a
// kind (errors.go): connection trouble, timeouts and the faults of a busy
// server (SystemError, TaskInProgress, ResourceInUse, InvalidState, and a
// NotAuthenticated that logging in again did not cure) are Transient;
// missing objects, bad arguments, refused permissions, duplicate names,
// untrusted certificates and a VM in the wrong power state are Permanent.
package vsphere
