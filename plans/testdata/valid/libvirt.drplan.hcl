variable "west_uri" {
  type      = string
  default   = "qemu+ssh://drplan@kvm-west-01/system?keyfile=/etc/drplan/id_ed25519"
  sensitive = true
}

site "kvm-east" {
  role = "protected"
  libvirt {
    uri = ["qemu+ssh://kvm-east-01/system", "qemu+ssh://kvm-east-02/system"]
  }
}

site "kvm-west" {
  role = "recovery"
  libvirt {
    uri = var.west_uri
  }
}

protection_group "kvm" {
  site          = site.kvm-east
  recovery_site = site.kvm-west
  vms           = ["app-01", "app-02"]
  replication {
    method = "snapshot"
    rpo    = "15m"
  }
}

recovery_plan "kvm" {
  protection_groups = [protection_group.kvm]
  network_mapping {
    from = "default"
    to   = "dr-prod"
    test = "dr-bubble"
  }
  tier "apps" {
    vms = protection_group.kvm.vms
  }
}
