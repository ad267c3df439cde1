# The simulated world for `drplan drill`: sizes and boot times of the shop's VMs. A
# time_scale of 0.01 runs one simulated minute in 0.6 real seconds.
simulation {
  time_scale = 0.01
  boot_time  = "45s"

  vm "shop-db-*" {
    boot_time = "3m"
    cpus      = 8
    memory    = "64GiB"
    disk      = "500GiB"
    networks  = ["Shop-LAN"]

    service "tcp" {
      port  = 5432
      after = "30s"
    }
  }

  vm "shop-app-*" {
    boot_time = "90s"
    cpus      = 4
    memory    = "16GiB"
    disk      = "80GiB"
    networks  = ["Shop-LAN"]
  }

  vm "shop-web-*" {
    boot_time = "45s"
    cpus      = 2
    memory    = "8GiB"
    disk      = "40GiB"
    networks  = ["Shop-DMZ", "Shop-LAN"]

    # What the smoke step asks: the shop's health page, ready 20s after the guest boots.
    # A simulated drill's checks are answered here and never reach the network.
    service "http" {
      port   = 8080
      path   = "/health"
      status = 200
      body   = "{\"status\": \"ok\"}"
      after  = "20s"
    }
  }
}
