# An ERP system (database, application servers, print and integration servers) whose
# datastores are mirrored by the storage arrays. Recovery promotes the array first, asks an
# operator to confirm the database, starts the tiers and finally moves the DNS names.

drplan {
  name           = "erp"
  owner          = "erp-basis@example.com"
  drill_interval = "90d"
}

variable "vc_password" {
  type        = string
  sensitive   = true
  default     = ""
  description = "vCenter password for both sites, for live runs (DRPLAN_VAR_vc_password); empty uses GOVC_PASSWORD."
}

variable "array" {
  type        = string
  default     = "pure-erp-01"
  description = "Name of the array pair that mirrors the ERP datastores."
}

variable "dns_zone" {
  type    = string
  default = "erp.example.com"
}
