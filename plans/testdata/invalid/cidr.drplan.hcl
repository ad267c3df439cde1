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
  ip_rule "a" {
    from_cidr = "10.1.0.0/33" # ERROR: Invalid CIDR
    to_cidr   = "10.2.0.0/16"
    gateway   = "10.2.0.300" # ERROR: Invalid IP address
  }
  ip_rule "b" {
    from_cidr = "10.5.0.0/16"
    to_cidr   = "10.6.0.0/16"
    gateway   = "10.7.0.1" # ERROR: Gateway outside the target network
    dns       = ["10.6.0.53", "dns"] # ERROR: Invalid IP address
  }
}
