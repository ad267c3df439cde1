locals {
  # Locals may refer to each other and to groups in any order.
  all = concat(local.web, ["db-01"])
  web = protection_group.web.vms
}

protection_group "web" {
  site          = site.east
  recovery_site = site.west
  vms           = [for i in range(1, 3) : format("web-%02d", i)]
  replication {
    method = "vsphere_replication"
    rpo    = "15m"
  }
}

protection_group "db" {
  site          = site.east
  recovery_site = site.west
  vms           = [for v in local.all : v if v == "db-01"]
  replication {
    method = "cdp"
    rpo    = "10s"
    journal = "4h"
  }
}
