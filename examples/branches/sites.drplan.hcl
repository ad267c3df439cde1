# Each branch links to the DR site over its own WAN line; the bandwidth feeds the RPO
# feasibility check of that branch's protection group.

site "north" {
  role       = "protected"
  datacenter = "Branch-North"
  vcenter {
    url      = "https://vc-north.example.com/sdk"
    username = var.vc_user
    password = var.vc_password
  }
  wan {
    bandwidth = "200Mbps"
  }
}

site "south" {
  role       = "protected"
  datacenter = "Branch-South"
  vcenter {
    url      = "https://vc-south.example.com/sdk"
    username = var.vc_user
    password = var.vc_password
  }
  wan {
    bandwidth = "100Mbps"
  }
}

site "west" {
  role       = "protected"
  datacenter = "Branch-West"
  vcenter {
    url      = "https://vc-west.example.com/sdk"
    username = var.vc_user
    password = var.vc_password
  }
  wan {
    bandwidth = "50Mbps"
  }
}

site "dr" {
  role       = "recovery"
  datacenter = "DC-DR"
  vcenter {
    url      = "https://vc-dr.example.com/sdk"
    username = var.vc_user
    password = var.vc_password
  }
  capacity {
    cpu_ghz = 300
    memory  = "3TiB"
    storage = "80TiB"
  }
}
