site "east" {
  role       = "protected"
  datacenter = "DC-East"
}

site "west" {
  role       = "recovery"
  datacenter = "DC-West"
}

protection_group "web" {
  site          = "east" # ERROR: Invalid reference
  recovery_site = "site.west" # ERROR: Invalid reference
  vms           = ["web-01"]
  replication {
    method = "vsphere_replication"
    rpo    = "15m"
  }
}

recovery_plan "shop" {
  protection_groups = ["web"] # ERROR: Invalid reference
  network_mapping {
    from = "VM Network"
    to   = "DR-Prod"
    test = "DR-Bubble"
  }
  tier "web" {
    priority = 1
    vms      = "protection_group.web.vms" # ERROR: Incorrect attribute value type
  }
  step "smoke" {
    after = ["tier.web"] # ERROR: Invalid reference
    tcp { address = "web-01:80" }
  }
}
