drplan {
  name  = "shop"
  owner = "dr-team@example.com"
}

site "prod" {
  role       = "protected"
  datacenter = "DC-Prod"
}

site "dr" {
  role       = "recovery"
  datacenter = "DC-DR"
}

protection_group "db" {
  site          = site.prod
  recovery_site = site.dr
  vms           = ["db-01"]
  replication {
    method = "vsphere_replication"
    rpo    = "15m"
  }
}

protection_group "web" {
  site          = site.prod
  recovery_site = site.dr
  vms           = ["web-01", "web-02", "web-03"]
  replication {
    method = "vsphere_replication"
    rpo    = "15m"
  }
}

recovery_plan "shop" {
  protection_groups = [protection_group.db, protection_group.web]
  rto               = "10m"
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
      timeout = "5m"
    }
  }

  tier "web" {
    priority = 2
    vms      = protection_group.web.vms
    startup {
      timeout = "3m"
    }
    on_failure = "continue"
  }

  step "db_check" {
    after = [tier.db]
    modes = ["test"]
    wait {
      duration = "20s"
    }
  }

  step "smoke" {
    after = [tier.web]
    modes = ["test"]
    wait {
      duration = "30s"
    }
  }
}

simulation {
  time_scale = 0.01
  boot_time  = "40s"

  vm "db-01" {
    boot_time = "1m30s"
  }

  fault "boot_failure" {
    vm   = "web-03"
    mode = "no_heartbeat"
  }

  fault "api_error" {
    method = "PowerOnVM_Task"
    count  = 1
    site   = site.dr
  }

  fault "replication_lag" {
    protection_group = protection_group.web
    lag              = "25m"
  }
}
