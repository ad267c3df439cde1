site "east" {
  role       = "protected"
  datacenter = "DC-East"
}

site "west" {
  role       = "recovery"
  datacenter = "DC-West"
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

protection_group "db" {
  site          = site.east
  recovery_site = site.west
  vms           = ["db-01"]
  replication {
    method = "vsphere_replication"
    rpo    = "15m"
  }
}

recovery_plan "shop" {
  protection_groups = [protection_group.web, protection_group.db]
  network_mapping {
    from = "VM Network"
    to   = "DR-Prod"
    test = "DR-Bubble"
  }
  tier "db" {
    priority = 1
    vms      = protection_group.db.vms
    after    = [step.check]
  }
  tier "web" {
    priority = 2
    vms      = protection_group.web.vms
  }
  step "check" { # ERROR: Cycle in recovery plan
    after = [tier.web]
    tcp { address = "web-01:80" }
  }
}
