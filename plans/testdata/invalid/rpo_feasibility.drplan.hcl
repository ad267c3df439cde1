site "east" {
  role       = "protected"
  datacenter = "DC-East"
  wan {
    bandwidth = "100Mbps"
  }
}

site "west" {
  role       = "recovery"
  datacenter = "DC-West"
}

protection_group "heavy" {
  site          = site.east
  recovery_site = site.west
  vms           = ["heavy-01"]
  replication {
    method      = "vsphere_replication"
    rpo         = "15m"
    change_rate = "100GiB/h" # WARNING: RPO not feasible on this link
  }
}

protection_group "light" {
  site          = site.east
  recovery_site = site.west
  vms           = ["light-01"]
  replication {
    method      = "vsphere_replication"
    rpo         = "15m"
    change_rate = "30GiB/h"
    compression = true
  }
}

protection_group "sync" {
  site          = site.east
  recovery_site = site.west
  vms           = ["sync-01"]
  replication {
    method      = "array_sync"
    rpo         = "0s"
    change_rate = "50GiB/h" # WARNING: RPO not feasible on this link
  }
}

recovery_plan "all" {
  protection_groups = [protection_group.heavy, protection_group.light, protection_group.sync]
  tier "all" {
    priority = 1
    vms      = ["heavy-01", "light-01", "sync-01"]
  }
}
