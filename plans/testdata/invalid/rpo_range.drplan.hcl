site "east" {
  role       = "protected"
  datacenter = "DC-East"
}

site "west" {
  role       = "recovery"
  datacenter = "DC-West"
}

protection_group "sync" {
  site          = site.east
  recovery_site = site.west
  vms           = ["sync-01"]
  replication {
    method = "array_sync"
    rpo    = "5m" # ERROR: RPO outside the method's range
  }
}

protection_group "vr" {
  site          = site.east
  recovery_site = site.west
  vms           = ["vr-01"]
  replication {
    method = "vsphere_replication"
    rpo    = "1m" # ERROR: RPO outside the method's range
  }
}

protection_group "vr2" {
  site          = site.east
  recovery_site = site.west
  vms           = ["vr2-01"]
  replication {
    method    = "vsphere_replication"
    rpo       = "2d" # ERROR: RPO outside the method's range
    retention = 30 # ERROR: Retention beyond the method's limit
  }
}

protection_group "snap" {
  site          = site.east
  recovery_site = site.west
  vms           = ["snap-01"]
  replication {
    method = "snapshot"
    rpo    = "5m" # ERROR: RPO outside the method's range
  }
}

protection_group "cdp" {
  site          = site.east
  recovery_site = site.west
  vms           = ["cdp-01"]
  replication {
    method = "cdp"
    rpo    = "1s" # ERROR: RPO outside the method's range
    journal = "24h"
  }
}

protection_group "cdp2" {
  site          = site.east
  recovery_site = site.west
  vms           = ["cdp2-01"]
  replication {
    method = "cdp" # ERROR: Missing journal
    rpo    = "10s"
  }
}

protection_group "host" {
  site          = site.east
  recovery_site = site.west
  vms           = ["host-01"]
  replication {
    method    = "host"
    rpo       = "500ms" # ERROR: RPO outside the method's range
    retention = 3 # WARNING: Retention has no effect
  }
}

protection_group "backup" {
  site          = site.east
  recovery_site = site.west
  vms           = ["backup-01"]
  replication {
    method  = "backup"
    rpo     = "30m" # ERROR: RPO outside the method's range
    journal = "1h" # ERROR: Journal without CDP
  }
}

protection_group "async" {
  site          = site.east
  recovery_site = site.west
  vms           = ["async-01"]
  replication {
    method = "array_async"
    rpo    = "30s" # ERROR: RPO outside the method's range
  }
}

protection_group "ok" {
  site          = site.east
  recovery_site = site.west
  vms           = ["ok-01"]
  replication {
    method = "array_async"
    rpo    = "1m"
  }
}

protection_group "bad" {
  site          = site.east
  recovery_site = site.west
  vms           = ["bad-01"]
  replication {
    method = "rsync" # ERROR: Invalid method
    rpo    = "1m"
  }
}

recovery_plan "all" {
  protection_groups = [
    protection_group.sync, protection_group.vr, protection_group.vr2, protection_group.snap,
    protection_group.cdp, protection_group.cdp2, protection_group.host, protection_group.backup,
    protection_group.async, protection_group.ok, protection_group.bad,
  ]
  tier "all" {
    priority = 1
    vms = ["sync-01", "vr-01", "vr2-01", "snap-01", "cdp-01", "cdp2-01", "host-01", "backup-01", "async-01", "ok-01", "bad-01"]
  }
}
