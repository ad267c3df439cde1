// Package invtest makes inventories for tests (of compiler and examples):
// the state a failover leaves a plan's sites in, derived from their state
// before it, so that the modes that follow a failover (failback,
// reprotect) can be compiled without running one. Real inventories are
// package inventory's, read by providers; simulated sites are simulate's.
package invtest
