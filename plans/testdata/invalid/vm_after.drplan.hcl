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
  vms           = ["web-01", "web-02", "db-01", "db-02"]
  replication {
    method = "vsphere_replication"
    rpo    = "15m"
  }
}

recovery_plan "shop" {
  protection_groups = [protection_group.web]
  network_mapping {
    from = "VM Network"
    to   = "DR-Prod"
    test = "DR-Bubble"
  }
  tier "db" {
    priority = 1
    vms      = ["db-01", "db-02"]
  }
  tier "web" {
    priority = 2
    vms      = ["web-01", "web-02"]
  }
  vm "db-01" {
    after = ["web-01"] # ERROR: VM dependency contradicts tier order
  }
  vm "web-02" {
    after = ["web-01", "db-02"]
  }
  vm "db-02" {
    after = ["db-03"] # ERROR: Unknown VM
  }
  vm "web-03" { # ERROR: Unknown VM
  }
  vm "web-01" {
    after = ["web-02"] # ERROR: Cycle in VM dependencies
  }
}
