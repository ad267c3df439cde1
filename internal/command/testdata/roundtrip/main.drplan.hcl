# A small two-site plan for the failover tests: two tiers, re-IP by rule
# and by override, a VM suspended at the recovery site, and vcenter
# blocks whose addresses come from variables (the tests point them at
# simulated sites).
drplan {
  name = "roundtrip"
}

variable "east_url" {
  type      = string
  sensitive = true
  default   = ""
}

variable "east_thumbprint" {
  type    = string
  default = ""
}

variable "west_url" {
  type      = string
  sensitive = true
  default   = ""
}

variable "west_thumbprint" {
  type    = string
  default = ""
}

site "east" {
  role       = "protected"
  datacenter = "DC-East"
  vcenter {
    url        = var.east_url
    thumbprint = var.east_thumbprint
  }
}

site "west" {
  role       = "recovery"
  datacenter = "DC-West"
  vcenter {
    url        = var.west_url
    thumbprint = var.west_thumbprint
  }
}

protection_group "db" {
  site          = site.east
  recovery_site = site.west
  vms           = ["db-01"]
  replication {
    method = "vsphere_replication"
    rpo    = "5m"
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
  protection_groups   = [protection_group.db, protection_group.web]
  rto                 = "30m"
  suspend_at_recovery = ["dev-*"]

  network_mapping {
    from = "Prod"
    to   = "DR-Prod"
    test = "DR-Bubble"
  }

  ip_rule "prod" {
    from_cidr = "10.1.0.0/16"
    to_cidr   = "10.2.0.0/16"
    gateway   = "10.2.0.1"
  }

  vm "web-02" {
    ip {
      address = "10.2.9.9/16"
      gateway = "10.2.0.1"
    }
  }

  tier "db" {
    priority = 1
    vms      = protection_group.db.vms
  }

  tier "web" {
    priority = 2
    vms      = protection_group.web.vms
  }
}
