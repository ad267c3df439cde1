// Package inventory describes what a site holds, as read from a vCenter
// (or a simulated one): VMs with their placement, sizes, networks, power
// state and tags; replicas and their recovery points; port groups and
// capacity. It is a plain snapshot with no behaviour: providers fill it,
// the compiler resolves selectors and checks plans against it.
package inventory
