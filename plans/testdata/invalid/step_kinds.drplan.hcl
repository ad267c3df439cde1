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
  step "nothing" { # ERROR: Step without a kind
    after = [tier.web]
  }
  step "two" {
    tcp { address = "web-01:80" }
    wait { duration = "1m" } # ERROR: Step with more than one kind
  }
  step "http" {
    http {
      url         = "ftp://web-01/" # ERROR: Invalid URL
      expect_body = "([a-z" # ERROR: Invalid regular expression
    }
  }
  step "tcp" {
    tcp { address = "web-01" } # ERROR: Invalid address
  }
  step "cmd" {
    command { run = [] } # ERROR: Empty command
  }
  step "guest" {
    guest {
      vm  = "db-01" # ERROR: Unknown VM
      run = ["/bin/true"]
    }
  }
  step "tf" {
    terraform { dir = "./no-such-dir" } # ERROR: Terraform directory not found
  }
}
