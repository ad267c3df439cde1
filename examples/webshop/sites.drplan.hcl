site "primary" {
  role       = "protected"
  datacenter = "DC-Primary"
  vcenter {
    url      = "https://vc-primary.example.com/sdk"
    username = var.vc_user
    password = var.vc_password
  }
  wan {
    bandwidth = "1Gbps"
  }
}

site "recovery" {
  role       = "recovery"
  datacenter = "DC-Recovery"
  vcenter {
    url      = "https://vc-recovery.example.com/sdk"
    username = var.vc_user
    password = var.vc_password
  }
  capacity {
    cpu_ghz = 200
    memory  = "2TiB"
    storage = "50TiB"
  }
  wan {
    bandwidth = "1Gbps"
  }
}
