recovery_plan "faults" {
  protection_groups = [protection_group.db, protection_group.app]
  rto               = "20m"
  max_parallel      = 4

  network_mapping {
    from = "Prod"
    to   = "DR-Prod"
    test = "DR-Bubble"
  }

  tier "db" {
    priority = 1
    vms      = protection_group.db.vms
    startup {
      timeout = "10m"
    }
    on_failure = "halt" # without its database the application is useless
  }

  tier "app" {
    priority = 2
    vms      = protection_group.app.vms
    startup {
      timeout = "5m"
    }
    on_failure = "continue" # two of three application servers can carry the load
  }

  step "settle" {
    after = [tier.app]
    modes = ["test", "failover", "migrate", "failback"]
    wait {
      duration = "2m"
    }
  }
}
