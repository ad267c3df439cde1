// Package vsphere is drplan's vSphere provider: it turns steps into
// vSphere API calls through govmomi, against real vCenters and against the
// simulated sites of package simulate alike, which it cannot tell apart.
//
// This file set starts with the markers drplan keeps in vCenter itself:
// custom attributes that say which VM is a replica of which, which
// recovery points a replica holds, and which run created an object. Both
// a storage or replication product's integration and the simulator write
// them; the provider reads them through the ordinary property collector.
package vsphere
