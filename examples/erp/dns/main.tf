# DNS cut-over for the ERP system, run by the `dns` step of the recovery plan.
#
# This stand-in uses only Terraform's built-in `terraform_data` resource, so `terraform init`
# downloads nothing. In a real plan, replace it with your DNS provider's records (for
# example hashicorp/dns, infoblox or aws_route53_record) driven by the same variables.

terraform {
  required_version = ">= 1.4"
}

variable "site" {
  type        = string
  description = "Site the ERP system now runs at (passed by drplan)."
}

variable "zone" {
  type        = string
  default     = "erp.example.com"
  description = "DNS zone that holds the ERP names."
}

locals {
  # Service names and the host that serves each one at the given site.
  records = {
    "erp"       = "erp-ascs-01.${var.site}.${var.zone}"
    "erp-db"    = "erp-db-01.${var.site}.${var.zone}"
    "erp-print" = "erp-print-01.${var.site}.${var.zone}"
  }
}

resource "terraform_data" "dns" {
  input = {
    zone    = var.zone
    records = local.records
  }
}

output "records" {
  value = terraform_data.dns.output.records
}
