recovery_plan "erp" {
  protection_groups = [
    protection_group.erp_db,
    protection_group.erp_app,
    protection_group.erp_edge,
  ]
  rto          = "1h"
  max_parallel = 4

  network_mapping {
    from = "ERP-Prod"
    to   = "ERP-Prod-MUC"
    test = "ERP-Test-MUC"
  }

  # The ERP subnet is stretched to Munich, so no ip_rule: addresses stay as they are.

  # Failover, migration and failback: make the mirrored LUNs writable at the target site.
  step "promote-array" {
    before = [tier.database]
    modes  = ["failover", "migrate", "failback"]
    command {
      run = ["./scripts/promote-array.sh", "promote", site.frankfurt.name, site.munich.name]
      env = { ARRAY = var.array }
    }
    timeout    = "5m"
    retries    = 2
    on_failure = "halt"
  }

  # Drills: present a writable snapshot clone instead, leaving the mirror running.
  step "clone-array" {
    before = [tier.database]
    modes  = ["test"]
    command {
      run = ["./scripts/promote-array.sh", "clone", site.frankfurt.name, site.munich.name]
      env = { ARRAY = var.array }
    }
    timeout = "5m"
  }

  tier "database" {
    priority = 1
    vms      = protection_group.erp_db.vms
    startup {
      wait_for = "ip"
      timeout  = "20m"
      delay    = "1m"
    }
  }

  step "confirm-db" {
    after = [tier.database]
    modes = ["failover", "migrate", "failback"]
    prompt {
      message = "Check that the ERP database opened cleanly (no recovery errors in the alert log), then approve to start the application servers."
    }
  }

  tier "central" {
    priority = 2
    vms      = ["erp-ascs-01"]
    after    = [step.confirm-db]
    startup {
      timeout = "15m"
      delay   = "30s"
    }
  }

  tier "application" {
    priority = 3
    vms      = ["erp-app-01", "erp-app-02"]
    startup {
      timeout = "15m"
    }
  }

  tier "edge" {
    priority   = 4
    vms        = protection_group.erp_edge.vms
    on_failure = "continue"
  }

  step "dns" {
    after = [tier.application]
    modes = ["test", "failover", "migrate", "failback"]
    terraform {
      dir = "./dns"
      vars = {
        site = site.munich.name
        zone = var.dns_zone
      }
    }
    timeout = "5m"
  }
}
