site "east" {
  role       = "protected"
  datacenter = "DC-East"
}

site "west" {
  role       = "recovery"
  datacenter = "DC-West"
  capacity {
    cpu_ghz = 10
    memory  = "96GiB" # ERROR: Recovery site too small
    storage = "10TiB"
  }
}

site "south" {
  role       = "recovery"
  datacenter = "DC-South"
  capacity {
    cpu_ghz = 100
    memory  = "1TiB"
  }
}

protection_group "db" {
  site          = site.east
  recovery_site = site.west
  vms           = ["db-01", "db-02"]
  replication {
    method = "vsphere_replication"
    rpo    = "15m"
  }
}

protection_group "web" {
  site          = site.east
  recovery_site = site.west
  vms           = ["web-01", "web-02"]
  replication {
    method = "vsphere_replication"
    rpo    = "15m"
  }
}

protection_group "archive" {
  site          = site.east
  recovery_site = site.south
  vms           = ["arc-01"]
  replication {
    method = "backup"
    rpo    = "24h"
  }
}

recovery_plan "shop" {
  protection_groups = [protection_group.db, protection_group.web, protection_group.archive]
  network_mapping {
    from = "VM Network"
    to   = "DR-Prod"
    test = "DR-Bubble"
  }
  tier "db" {
    priority = 1
    vms      = protection_group.db.vms
  }
  tier "rest" {
    priority = 2
    vms      = ["web-01", "web-02", "arc-01"]
  }
}

# The two databases alone need 128 GiB of the 96 west has; web-01 and
# web-02 are not sized and count for nothing.
simulation {
  vm "db-*" {
    cpus   = 8
    memory = "64GiB"
  }
  vm "arc-01" {
    memory = "512GiB"
  }
}
