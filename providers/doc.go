// Package providers defines what the runner needs from a hypervisor
// platform: a Site, opened from a SiteConfig, that reads its inventory and
// carries out the VM-level actions of every run mode. Implementations live
// in sub-packages (providers/vsphere, providers/libvirt); the runner and
// the CLI see only this interface, so the same run code drives real
// vCenters, libvirt hosts and the simulated ones alike. A recovery site
// that ships its replicas' points itself also implements Shipper, which
// a migration's final sync uses instead of waiting for the replication.
//
// Errors from a Site are *errs.Error values (package internal/errs) that
// say which operation on which object failed and of what kind the
// failure is; errs.Retryable decides whether trying again may help, and
// the runner alone tries again. A Site does not retry a transient
// failure itself.
package providers
