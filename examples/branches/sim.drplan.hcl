simulation {
  time_scale = 0.01
  boot_time  = "1m"

  vm "north-*" {
    cpus     = 4
    memory   = "16GiB"
    disk     = "200GiB"
    networks = ["North-LAN"]
  }

  # The north file server's SMB share, what the files-reachable step connects to.
  vm "north-files-01" {
    service "tcp" {
      port = 445
    }
  }

  vm "south-*" {
    cpus     = 4
    memory   = "16GiB"
    disk     = "200GiB"
    networks = ["South-LAN"]
  }

  vm "west-*" {
    cpus     = 2
    memory   = "8GiB"
    disk     = "120GiB"
    networks = ["West-LAN"]
  }

  # A lab VM that lives at the DR site: suspended before failover, restored by failback.
  vm "lab-01" {
    site     = site.dr
    cpus     = 8
    memory   = "32GiB"
    networks = ["DR-Lab"]
  }
}
