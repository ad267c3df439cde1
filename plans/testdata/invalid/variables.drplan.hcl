variable "count" {
  type    = number
  default = "many" # ERROR: Invalid value for variable
}

variable "password" {
  type      = string
  sensitive = true
  default   = "short" # ERROR: Invalid value for variable
  validation {
    condition     = length(var.password) >= 8
    error_message = "The password needs at least 8 characters."
  }
}

variable "required" { # ERROR: No value for required variable
  type = string
}

variable "other" {
  default = 1
  validation {
    condition     = var.count > 1 # ERROR: Invalid reference in variable validation
    error_message = "Nope."
  }
}
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
