site "east" {
  role       = "protected"
  datacenter = "DC-East"
}

site "west" {
  role       = "recovery"
  datacenter = "DC-West"
}

protection_group "web" {
  site          = site.east
  recovery_site = site.west
  vms           = ["web-01", "web-02"]
  replication {
    method = "vsphere_replication"
    rpo    = "15m"
  }
}

recovery_plan "shop" {
  protection_groups = [protection_group.web]
  network_mapping {
    from = "VM Network"
    to   = "DR-Prod"
    test = "DR-Bubble"
  }
  tier "web" {
    priority = 1
    vms      = protection_group.web.vms
  }
}

simulation {
  time_scale = 0.01
  vm "web-*" {
    service "http" {
      port   = 8080
      path   = "/health"
      status = 200
      body   = "{\"status\": \"ok\"}"
      after  = "20s"
    }
    service "tcp" {
      port = 8080 # ERROR: Duplicate service port
    }
    service "tcp" {
      port = 70000 # ERROR: Invalid port
    }
    service "http" {
      port   = 80
      status = 700 # ERROR: Invalid status
      path   = "health" # ERROR: Invalid service path
      after  = "soon" # ERROR: Invalid duration
    }
    service "tcp" {
      port   = 5432
      status = 200 # ERROR: Unsupported argument
    }
    service "htp" { # ERROR: Unknown service kind
      port = 81
    }
    service "udp" { # ERROR: Unknown service kind
      port = 53
    }
    service "http" { # ERROR: Missing required argument
      path = "/"
    }
  }
  fault "service_down" {
    vm      = "web-01"
    service = "http"
  }
  fault "service_down" {
    vm      = "web-01"
    service = 8080
  }
  fault "service_down" {
    vm      = "web-01"
    service = "smtp" # ERROR: Invalid service
  }
  fault "service_slow" {
    vm      = "web-*"
    service = "tcp"
    latency = "0s" # ERROR: Invalid latency
  }
  fault "service_slow" { # ERROR: Missing required argument
    vm      = "web-*"
    service = "http"
  }
  fault "service_down" {
    vm      = "web-["  # ERROR: Invalid pattern
    service = "99999" # ERROR: Invalid service
  }
}
