site "east" {
  role = "protected"
  datacenter = # ERROR: Invalid expression
}
