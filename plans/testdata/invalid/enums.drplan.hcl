site "east" {
  role       = "primary" # ERROR: Invalid role
  datacenter = "DC-East"
}

site "west" {
  role       = "recovery"
  datacenter = "DC-West"
}

protection_group "web" {
  site          = site.west # ERROR: Protected site is a recovery site
  recovery_site = site.west # ERROR: Group recovers to its own site
  vms           = ["web-01", "web-02"]
  consistency   = "app" # ERROR: Invalid consistency
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
    startup {
      action   = "boot" # ERROR: Invalid action
      wait_for = "ping" # ERROR: Invalid wait for
    }
  }
}
