# One protection group per tier: each tier can be replicated and recovered on its own
# schedule, and the recovery plan below starts them in order.

protection_group "shop_db" {
  site          = site.primary
  recovery_site = site.recovery
  vms           = ["shop-db-01", "shop-db-02"]
  consistency   = "group" # primary and replica recover from the same point in time
  replication {
    method      = "vsphere_replication"
    rpo         = "5m"
    retention   = 24
    change_rate = "30GiB/h"
    compression = true
  }
}

protection_group "shop_app" {
  site          = site.primary
  recovery_site = site.recovery
  vms           = ["shop-app-01", "shop-app-02", "shop-app-03"]
  replication {
    method      = "vsphere_replication"
    rpo         = "15m"
    retention   = 12
    change_rate = "5GiB/h"
  }
}

protection_group "shop_web" {
  site          = site.primary
  recovery_site = site.recovery
  vms           = ["shop-web-01", "shop-web-02"]
  replication {
    method    = "vsphere_replication"
    rpo       = "1h"
    retention = 4
  }
}
