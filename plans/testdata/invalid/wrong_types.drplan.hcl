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
  vms           = "web-01" # ERROR: Incorrect attribute value type
  replication {
    method      = "vsphere_replication"
    rpo         = "15m"
    compression = "maybe" # ERROR: Incorrect attribute value type
    retention   = 2.5 # ERROR: Invalid retention
  }
}

recovery_plan "shop" {
  protection_groups = [protection_group.web]
  max_parallel      = "many" # ERROR: Incorrect attribute value type
  network_mapping {
    from = "VM Network"
    to   = "DR-Prod"
    test = "DR-Bubble"
  }
  tier "web" {
    priority = 9 # ERROR: Invalid priority
    vms      = ["web-01", "web-02"]
  }
}
