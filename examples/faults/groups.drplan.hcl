protection_group "db" {
  site          = site.prod
  recovery_site = site.dr
  vms           = ["db-01", "db-02"]
  consistency   = "group"
  replication {
    method    = "vsphere_replication"
    rpo       = "15m"
    retention = 12
  }
}

protection_group "app" {
  site          = site.prod
  recovery_site = site.dr
  vms           = ["app-01", "app-02", "app-03"]
  replication {
    method    = "vsphere_replication"
    rpo       = "15m"
    retention = 12
  }
}
