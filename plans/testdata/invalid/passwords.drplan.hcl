variable "secret" {
  type      = string
  sensitive = true
  default   = "s3cret-value"
}

variable "plain" {
  type    = string
  default = "not-so-secret"
}

site "east" {
  role       = "protected"
  datacenter = "DC-East"
  vcenter {
    url      = "https://vc-east.example.com/sdk"
    username = "admin"
    password = "hunter22" # WARNING: Password given as a literal
  }
}

site "west" {
  role       = "recovery"
  datacenter = "DC-West"
  vcenter {
    url      = "https://vc-west.example.com/sdk"
    username = "admin"
    password = var.plain # WARNING: Password is not sensitive
  }
}

site "north" {
  role       = "recovery"
  datacenter = "DC-North"
  vcenter {
    url      = "https://vc-north.example.com/sdk"
    password = var.secret
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
  step "guest" {
    guest {
      vm       = "web-01"
      run      = ["/bin/true"]
      password = "root-pw" # WARNING: Password given as a literal
    }
  }
}
