# One plan recovers all three branches: first every directory controller, then the file
# servers, then the point-of-sale servers. Branches are independent, so each tier starts
# the VMs of all branches at once (up to max_parallel).

recovery_plan "branches" {
  protection_groups = [
    protection_group.north,
    protection_group.south,
    protection_group.west,
  ]
  rto          = "45m"
  max_parallel = 6

  network_mapping {
    from = "North-LAN"
    to   = "DR-North"
    test = "DR-Bubble-North"
  }

  network_mapping {
    from = "South-LAN"
    to   = "DR-South"
    test = "DR-Bubble-South"
  }

  network_mapping {
    from = "West-LAN"
    to   = "DR-West"
    test = "DR-Bubble-West"
  }

  # Each branch keeps its host numbers in its own /24 of the DR site's 10.100.0.0/16.
  ip_rule "north" {
    from_cidr = "10.11.0.0/24"
    to_cidr   = cidrsubnet("10.100.0.0/16", 8, 11)
    gateway   = cidrhost(cidrsubnet("10.100.0.0/16", 8, 11), 1)
    dns       = ["10.100.0.53"]
  }

  ip_rule "south" {
    from_cidr = "10.12.0.0/24"
    to_cidr   = cidrsubnet("10.100.0.0/16", 8, 12)
    gateway   = cidrhost(cidrsubnet("10.100.0.0/16", 8, 12), 1)
    dns       = ["10.100.0.53"]
  }

  ip_rule "west" {
    from_cidr = "10.13.0.0/24"
    to_cidr   = cidrsubnet("10.100.0.0/16", 8, 13)
    gateway   = cidrhost(cidrsubnet("10.100.0.0/16", 8, 13), 1)
    dns       = ["10.100.0.53"]
  }

  # Test and development VMs that live at the DR site are powered off before a failover
  # to make room, and powered on again by failback.
  suspend_at_recovery = ["lab-*"]

  tier "directory" {
    priority = 1
    vms      = ["north-dc-01", "south-dc-01", "west-dc-01"]
    startup {
      wait_for = "heartbeat"
      delay    = "30s"
    }
  }

  tier "files" {
    priority = 2
    vms      = ["north-files-01", "south-files-01", "west-files-01"]
    startup {
      wait_for = "ip"
      timeout  = "15m"
    }
  }

  tier "pos" {
    priority   = 3
    vms        = ["north-pos-01", "south-pos-01"]
    on_failure = "continue"
  }

  # Checked from the machine that runs drplan, so only in modes that attach the VMs to the
  # routed DR networks; a drill's bubble networks are not reachable from outside. The file
  # server is named rather than addressed: its address changes with the re-IP of failover
  # and back with failback. In a simulated run its simulated SMB service answers.
  step "files-reachable" {
    after = [tier.files]
    modes = ["failover", "migrate", "failback"]
    tcp {
      address = "north-files-01:445"
    }
    timeout = "2m"
    retries = 2
  }
}
