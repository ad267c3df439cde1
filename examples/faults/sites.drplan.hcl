# No vcenter blocks: these sites exist only in the simulator, so live runs refuse this plan.

site "prod" {
  role       = "protected"
  datacenter = "DC-Prod"
  wan {
    bandwidth = "1Gbps"
  }
}

site "dr" {
  role       = "recovery"
  datacenter = "DC-DR"
}
