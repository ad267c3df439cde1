site "east" {
  role       = "protected"
  datacenter = "DC-East"
}

site "west" {
  role       = "recovery"
  datacenter = "DC-West"
}

variable "region" {
  default = "east"
}

locals {
  where = var.regoin # ERROR: Reference to undeclared variable
  what  = local.wher # ERROR: Reference to undeclared local value
  how   = foo.bar # ERROR: Unknown reference
}

protection_group "web" {
  site          = site.eats # ERROR: Reference to undeclared site
  recovery_site = site.west
  vms           = ["web-01", "web-02"]
  replication {
    method = "vsphere_replication"
    rpo    = "15m"
  }
}

recovery_plan "shop" {
  protection_groups = [protection_group.wbe] # ERROR: Reference to undeclared protection group
  network_mapping {
    from = "VM Network"
    to   = "DR-Prod"
    test = "DR-Bubble"
  }
  tier "web" {
    priority = 1
    vms      = protection_group.web.vms
  }
  step "smoke" {
    after = [tier.wbe] # ERROR: Reference to undeclared tier
    tcp { address = "web-01:80" }
  }
  step "again" {
    after = ["smoke"] # ERROR: Invalid reference
    tcp { address = "web-01:80" }
  }
  step "third" {
    after = [step.smoke.name] # ERROR: Invalid reference
    tcp { address = "web-01:80" }
  }
}
