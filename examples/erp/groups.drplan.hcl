# The database LUNs are mirrored synchronously (Frankfurt and Munich are close enough);
# the application servers' datastores are shipped asynchronously every five minutes.

protection_group "erp_db" {
  site          = site.frankfurt
  recovery_site = site.munich
  vms           = ["erp-db-01"]
  consistency   = "group"
  replication {
    method = "array_sync"
    rpo    = "0s"
  }
}

protection_group "erp_app" {
  site          = site.frankfurt
  recovery_site = site.munich
  vms           = ["erp-ascs-01", "erp-app-01", "erp-app-02"]
  consistency   = "group"
  replication {
    method      = "array_async"
    rpo         = "5m"
    retention   = 48
    change_rate = "200GiB/h"
  }
}

protection_group "erp_edge" {
  site          = site.frankfurt
  recovery_site = site.munich
  vms           = ["erp-print-01", "erp-pi-01"]
  replication {
    method    = "array_async"
    rpo       = "15m"
    retention = 24
  }
}
