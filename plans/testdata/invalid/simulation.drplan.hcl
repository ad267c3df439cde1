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
}

simulation {
  time_scale = 0 # ERROR: Invalid time scale
  vm "web-[" { # ERROR: Invalid pattern
    cpus = 2
  }
  vm "app-01" {
    site = site.nowhere # ERROR: Reference to undeclared site
    tags = ["notag"] # ERROR: Invalid tag
  }
  fault "meteor" { # ERROR: Unknown fault kind
  }
  fault "api_error" {
    method      = "PowerOnVM_Task"
    probability = 1.5 # ERROR: Invalid probability
  }
  fault "site_down" {
    site = site.east
    at   = "later" # ERROR: Invalid duration
  }
  fault "replication_lag" {
    protection_group = protection_group.web
    lag              = "40m"
  }
}

simulation { # ERROR: Duplicate simulation block
}
