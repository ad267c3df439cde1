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
  step "nothing" {
    after = [tier.web]
  }
  step "two" {
    tcp { address = "web-01:80" }
    wait { duration = "1m" }
  }
  step "http" {
    http {
      url         = "ftp://web-01/"
      expect_body = "([a-z"
    }
  }
  step "tcp" {
    tcp { address = "web-01" }
  }
  step "cmd" {
    command { run = [] }
  }
  step "guest" {
    guest {
      vm  = "db-01"
      run = ["/bin/true"]
    }
  }
  step "tf" {
    terraform { dir = "./no-such-dir" }
  }
}

site "north" {
  role       = "recovery"
  datacenter = "DC-North"
  vcenter {
    url      = "https://vc-north.example.com/sdk"
    password = "literal-pw"
  }
}
