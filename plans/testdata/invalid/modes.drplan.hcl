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

recovery_plan "shop" {
  protection_groups = [protection_group.web]
  network_mapping {
    from = "VM Network"
    to   = "DR-Prod"
    test = "DR-Bubble"
  }
  tier "web" {
    priority = 1
    vms      = protection_group.web.vms
  }
  step "check" {
    modes = ["test", "drill", "failovr"] # ERROR: Unknown run mode # ERROR: Unknown run mode
    tcp { address = "web-01:80" }
  }
  step "retry" {
    retries    = -1 # ERROR: Invalid retries
    on_failure = "ignore" # ERROR: Invalid on failure
    tcp { address = "web-01:80" }
  }
}
