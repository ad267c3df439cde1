site "east" {
  role       = "protected"
  datacenter = "DC-East"
  wan {
    bandwidth = "1Gbit" # ERROR: Invalid rate
  }
}

site "west" {
  role       = "recovery"
  datacenter = "DC-West"
  capacity {
    cpu_ghz = 100
    memory  = "4TX" # ERROR: Invalid size
    storage = "200TiB"
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

recovery_plan "shop" {
  protection_groups = [protection_group.web]
  rto               = "30 minutes" # ERROR: Invalid duration
  network_mapping {
    from = "VM Network"
    to   = "DR-Prod"
    test = "DR-Bubble"
  }
  tier "web" {
    priority = 1
    vms      = protection_group.web.vms
    startup {
      timeout = "10" # ERROR: Invalid duration
      delay   = "5s"
    }
  }
}
