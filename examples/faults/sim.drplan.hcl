simulation {
  time_scale = 0.01
  boot_time  = "45s"

  vm "db-*" {
    boot_time = "2m"
    cpus      = 8
    memory    = "32GiB"
    disk      = "300GiB"
    networks  = ["Prod"]
  }

  vm "app-*" {
    cpus     = 4
    memory   = "8GiB"
    disk     = "60GiB"
    networks = ["Prod"]
  }

  # app-03 powers on but its guest never reports a heartbeat: its tier times out after
  # 5m, and because the tier says on_failure = "continue" the run goes on without it.
  fault "boot_failure" {
    vm   = "app-03"
    mode = "no_heartbeat"
  }

  # One power-on in ten fails at the recovery site's vCenter; drplan retries the call.
  fault "api_error" {
    method      = "PowerOnVM_Task"
    probability = 0.1
    site        = site.dr
  }

  # Every reconfiguration (network and IP changes) at the recovery site takes 2 seconds.
  fault "slow_api" {
    method  = "ReconfigVM_Task"
    latency = "2s"
    site    = site.dr
  }

  # The protected site goes dark one minute into the run and comes back 30 minutes later:
  # a failover proceeds without shutting the protected VMs down.
  fault "site_down" {
    site     = site.prod
    at       = "1m"
    duration = "30m"
  }

  # The application group's replication is 40 minutes behind, well past its 15m RPO: the
  # report shows the achieved RPO and the drill fails its RPO target.
  fault "replication_lag" {
    protection_group = protection_group.app
    lag              = "40m"
  }
}
