# Three branch offices, each with its own small vSphere cluster, recover into one shared
# DR site. Every branch's VMs are replicated with continuous data protection (a 24-hour
# journal) and recover together from one common point in time (consistency = "group").

drplan {
  name           = "branches"
  owner          = "infrastructure@example.com"
  drill_interval = "30d"
}

variable "vc_password" {
  type        = string
  sensitive   = true
  default     = ""
  description = "vCenter password used at every site, for live runs (DRPLAN_VAR_vc_password); empty uses GOVC_PASSWORD."
}

variable "vc_user" {
  type    = string
  default = "svc-drplan@example.local"
}
