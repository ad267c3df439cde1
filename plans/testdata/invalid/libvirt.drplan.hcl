site "kvm-east" {
  role = "protected"
  libvirt {
    uri = "qemu+ssh://kvm-east-01/system"
  }
}

site "kvm-west" {
  role = "recovery"
  libvirt {
    uri = [
      "qemu+tls://kvm-west-01.example.com/system",
      "qemu+ssh://root@kvm-west-02/system?keyfile=/etc/drplan/id_ed25519",
      "qemu:///system",
      "qemu+unix:///session",
      "xen:///system",              # ERROR: Invalid libvirt URI
      "qemu+ssh:///system",         # ERROR: Invalid libvirt URI
      "qemu+unix://kvm-west-03/system", # ERROR: Invalid libvirt URI
      "qemu+tcp://kvm-west-04/",    # ERROR: Invalid libvirt URI
      "qemu+ssh://u:pw@kvm-west-05/system", # ERROR: Invalid libvirt URI
      "qemu:system",                # ERROR: Invalid libvirt URI
      "",                           # ERROR: Invalid libvirt URI
      "qemu:///system",             # ERROR: Duplicate libvirt URI
    ]
  }
}

site "both" {
  role       = "both"
  datacenter = "DC-Both"
  vcenter {
    url = "https://vc.example.com/sdk"
  }
  libvirt { # ERROR: Site has both vcenter and libvirt
    uri = "qemu:///system"
  }
}

site "empty" {
  role = "recovery"
  libvirt {
    uri = [] # ERROR: No libvirt URI
  }
}

site "nouri" {
  role = "recovery"
  libvirt { # ERROR: Missing required argument
  }
}

site "vc-west" { # ERROR: Missing required argument
  role = "recovery"
  vcenter {
    url = "https://vc-west.example.com/sdk"
  }
}

site "vc-east" {
  role       = "protected"
  datacenter = "DC-East"
  vcenter {
    url = "https://vc-east.example.com/sdk"
  }
}

site "sim-only" {
  role       = "recovery"
  datacenter = "DC-Sim"
}

protection_group "kvm" {
  site          = site.kvm-east
  recovery_site = site.kvm-west
  vms           = ["kvm-01"]
  replication {
    method = "snapshot"
    rpo    = "15m"
  }
}

protection_group "v2v" {
  site          = site.vc-east
  recovery_site = site.kvm-west # ERROR: Protection group crosses hypervisors
  vms           = ["vc-01"]
  replication {
    method = "vsphere_replication"
    rpo    = "15m"
  }
}

protection_group "v2v-back" {
  site          = site.kvm-east
  recovery_site = site.vc-west # ERROR: Protection group crosses hypervisors
  vms           = ["kvm-02"]
  replication {
    method = "snapshot"
    rpo    = "15m"
  }
}

protection_group "to-sim" {
  site          = site.kvm-east
  recovery_site = site.sim-only
  vms           = ["kvm-03"]
  replication {
    method = "snapshot"
    rpo    = "15m"
  }
}
