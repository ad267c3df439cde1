simulation {
  time_scale = 0.01
  boot_time  = "1m"

  vm "erp-db-01" {
    boot_time = "6m"
    cpus      = 32
    memory    = "512GiB"
    disk      = "4TiB"
    networks  = ["ERP-Prod"]
  }

  vm "erp-ascs-01" {
    boot_time = "2m"
    cpus      = 4
    memory    = "32GiB"
    disk      = "100GiB"
    networks  = ["ERP-Prod"]
  }

  vm "erp-app-*" {
    boot_time = "3m"
    cpus      = 16
    memory    = "128GiB"
    disk      = "200GiB"
    networks  = ["ERP-Prod"]
  }

  vm "erp-print-01" {
    cpus     = 2
    memory   = "8GiB"
    disk     = "60GiB"
    networks = ["ERP-Prod"]
  }

  vm "erp-pi-01" {
    cpus     = 8
    memory   = "64GiB"
    disk     = "250GiB"
    networks = ["ERP-Prod"]
  }
}
