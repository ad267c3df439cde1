site "east" {
  role       = "protected"
  datacenter = "DC-East"
}

site "west" {
  role       = "recovery"
  datacenter = "DC-West"
}

site "east" { # ERROR: Duplicate site
  datacenter = "DC-East-2"
}

variable "region" {
  default = "a"
}

variable "region" { # ERROR: Duplicate variable
  default = "b"
}

locals {
  x = 1
}

locals {
  x = 2 # ERROR: Duplicate local value
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

protection_group "web" { # ERROR: Duplicate protection group
  site          = site.east
  recovery_site = site.west
  vms           = ["web-03"]
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
  tier "web" { # ERROR: Duplicate tier
    priority = 2
    vms      = []
  }
  step "wait" {
    wait { duration = "1m" }
  }
  step "wait" { # ERROR: Duplicate step
    wait { duration = "2m" }
  }
  ip_rule "a" {
    from_cidr = "10.1.0.0/16"
    to_cidr   = "10.2.0.0/16"
  }
  ip_rule "a" { # ERROR: Duplicate IP rule
    from_cidr = "10.3.0.0/16"
    to_cidr   = "10.4.0.0/16"
  }
}
