site "east" {
  role       = "protected"
  datacenter = "DC-East"
}

site "west" {
  role       = "recovery"
  datacenter = "" # ERROR: Empty name
}

protection_group "web" {
  site          = site.east
  recovery_site = site.west
  vms = [
    "web-01",
    "web-02",
  ]
  exclude = [
    "web-9*",
    "[web", # ERROR: Invalid pattern
  ]
  replication {
    method = "vsphere_replication"
    rpo    = "15m"
  }
}

protection_group "app" {
  site          = site.east
  recovery_site = site.west
  vms = [
    "app-01",
    "web-02", # ERROR: VM in two protection groups
  ]
  replication {
    method = "vsphere_replication"
    rpo    = "15m"
  }
}

protection_group "none" {
  site          = site.east
  recovery_site = site.west
  vms           = [] # ERROR: Protection group protects nothing
  replication {
    method = "vsphere_replication"
    rpo    = "15m"
  }
}

recovery_plan "shop" {
  protection_groups = [
    protection_group.web,
    protection_group.app,
    protection_group.web, # ERROR: Protection group listed twice
  ]
  network_mapping {
    from = "VM Network"
    to   = "" # ERROR: Empty name
    test = "" # ERROR: Empty name
  }
  tier "web" {
    priority = 1
    vms      = ["web-01", "web-02", "app-01"]
  }
  step "cmd" {
    command {
      run = ["/bin/true"]
      dir = "./no-such-dir" # ERROR: Command directory not found
    }
  }
  step "pause" {
    timeout = "5m"
    wait {
      duration = "10m" # ERROR: Wait longer than the step's timeout
    }
  }
  step "long" {
    wait { duration = "2h" } # ERROR: Wait longer than the step's timeout
  }
  step "guest" {
    guest {
      vm       = "web-01"
      run      = ["/bin/true"]
      username = "" # ERROR: Empty name
    }
  }
}
