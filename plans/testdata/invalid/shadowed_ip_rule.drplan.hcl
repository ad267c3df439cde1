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
  ip_rule "wide" {
    from_cidr = "10.1.0.0/16"
    to_cidr   = "10.2.0.0/16"
  }
  ip_rule "narrow" {
    from_cidr = "10.1.4.0/24" # WARNING: Shadowed IP rule
    to_cidr   = "10.9.4.0/24"
  }
  ip_rule "other" {
    from_cidr = "10.3.0.0/16"
    to_cidr   = "10.4.0.0/16"
  }
}
