recovery_plan "webshop" {
  protection_groups = [
    protection_group.shop_db,
    protection_group.shop_app,
    protection_group.shop_web,
  ]
  rto          = "30m"
  max_parallel = 8

  # Failover and migration attach the VMs to Shop-Prod; drills attach them to the isolated
  # Shop-Bubble so a test never touches the production network.
  network_mapping {
    from = "Shop-LAN"
    to   = "Shop-Prod"
    test = "Shop-Bubble"
  }

  network_mapping {
    from = "Shop-DMZ"
    to   = "Shop-DMZ-DR"
    test = "Shop-DMZ-Bubble"
  }

  ip_rule "shop" {
    from_cidr = local.prod_cidr
    to_cidr   = local.dr_cidr
    gateway   = cidrhost(local.dr_cidr, 1)
    dns       = ["10.20.0.53", "10.20.0.54"]
  }

  tier "db" {
    priority = 1
    vms      = protection_group.shop_db.vms
    startup {
      wait_for = "ip"
      timeout  = "15m"
      delay    = "30s"
    }
  }

  tier "app" {
    priority = 2
    vms      = protection_group.shop_app.vms
    startup {
      wait_for = "heartbeat"
      delay    = "10s"
    }
  }

  tier "web" {
    priority = 3
    vms      = protection_group.shop_web.vms
    startup {
      wait_for = "ip"
    }
    on_failure = "continue" # one web server is enough to serve the shop
  }

  # The replica database starts after the primary has come up.
  vm "shop-db-02" {
    after = ["shop-db-01"]
  }

  vm "shop-web-01" {
    ip {
      address = "10.20.3.11/24"
      gateway = "10.20.3.1"
    }
  }

  step "smoke" {
    after = [tier.web]
    modes = ["test", "migrate", "failover", "failback"]
    http {
      url           = var.shop_url
      expect_status = 200
      expect_body   = "\"status\":\\s*\"ok\""
    }
    timeout = "3m"
    retries = 3
  }
}
