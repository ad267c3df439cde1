# The simulated world; tests replace this file to inject faults.
simulation {
  time_scale = 0.002
  boot_time  = "30s"
  vm "dev-01" {
    site     = site.west
    networks = ["DR-Prod"]
  }
  vm "dev-02" {
    site     = site.west
    networks = ["DR-Prod"]
  }
}
