# One group per branch: the VMs of a branch share one CDP journal and are recovered from
# the same point, so the file server and the directory controller agree with each other.

protection_group "north" {
  site          = site.north
  recovery_site = site.dr
  vms           = ["north-dc-01", "north-files-01", "north-pos-01"]
  consistency   = "group"
  replication {
    method      = "cdp"
    rpo         = "30s"
    journal     = "24h"
    change_rate = "10GiB/h"
    compression = true
  }
}

protection_group "south" {
  site          = site.south
  recovery_site = site.dr
  vms           = ["south-dc-01", "south-files-01", "south-pos-01"]
  consistency   = "group"
  replication {
    method      = "cdp"
    rpo         = "30s"
    journal     = "24h"
    change_rate = "8GiB/h"
    compression = true
  }
}

protection_group "west" {
  site          = site.west
  recovery_site = site.dr
  vms           = ["west-dc-01", "west-files-01"]
  consistency   = "group"
  replication {
    method      = "cdp"
    rpo         = "1m"
    journal     = "24h"
    change_rate = "4GiB/h"
    compression = true
  }
}
