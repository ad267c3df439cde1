site "frankfurt" {
  role       = "both" # also the failback target after reprotect
  datacenter = "FRA-1"
  vcenter {
    url      = "https://vc-fra.example.com/sdk"
    username = "drplan@vsphere.local"
    password = var.vc_password
  }
  wan {
    bandwidth = "10Gbps"
  }
}

site "munich" {
  role       = "both"
  datacenter = "MUC-1"
  vcenter {
    url      = "https://vc-muc.example.com/sdk"
    username = "drplan@vsphere.local"
    password = var.vc_password
  }
  capacity {
    cpu_ghz = 600
    memory  = "6TiB"
    storage = "120TiB"
  }
  wan {
    bandwidth = "10Gbps"
  }
}
