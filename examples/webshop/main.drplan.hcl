# A three-tier web shop protected by vSphere Replication from the primary datacenter to a
# recovery datacenter. Start here: sites.drplan.hcl, groups.drplan.hcl, plan.drplan.hcl,
# sim.drplan.hcl.

drplan {
  name             = "webshop"
  required_version = ">= 0.1"
  owner            = "shop-platform@example.com"
  drill_interval   = "30d"
}

variable "vc_user" {
  type        = string
  default     = "drplan@vsphere.local"
  description = "vCenter account used at both sites."
}

variable "vc_password" {
  type        = string
  sensitive   = true
  default     = ""
  description = "Password of vc_user for live runs (DRPLAN_VAR_vc_password or -var-file); empty uses GOVC_PASSWORD. The simulator ignores it."
  validation {
    condition     = var.vc_password == "" || length(var.vc_password) >= 12
    error_message = "The vCenter password must have at least 12 characters."
  }
}

variable "shop_url" {
  type        = string
  default     = "http://shop-web-01:8080/health"
  description = "Health URL of the recovered web tier: web-01 by name, which follows it through re-IP and back."
}

locals {
  # Production subnet of the shop and its counterpart at the recovery site.
  prod_cidr = "10.10.0.0/16"
  dr_cidr   = "10.20.0.0/16"
}
