site "east" {
  role       = "protected"
  datacenter = "DC-East"
}

site "west" {
  role       = "recovery"
  datacenter = "DC-West"
}

protection_group "web" { # ERROR: Missing required argument
  site = site.east
  vms  = ["web-01", "web-02"]
  replication {
    method = "vsphere_replication"
    rpo    = "15m"
  }
}

protection_group "db" { # ERROR: Missing replication block
  site          = site.east
  recovery_site = site.west
  vms           = ["db-01"]
}

recovery_plan "shop" {
  protection_groups = [protection_group.web, protection_group.db]
  network_mapping {
    from = "VM Network"
    to   = "DR-Prod"
    test = "DR-Bubble"
  }
  tier "web" {
    priority = 1
    vms      = protection_group.web.vms
  }
  tier "db" { # priority may be left out (3)
    vms = protection_group.db.vms
  }
  tier "rest" { # ERROR: Missing required argument
    priority = 4
  }
}
