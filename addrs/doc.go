// Package addrs defines the typed names of plan objects: site.east,
// protection_group.db, tier.web, step.smoke, vm.db-01 and the like.
// An address is a comparable value, usable as a map key, printed the way an
// operator writes it and parsed back from that form by ParseRef.
//
// Package plans produces these addresses from HCL references; the
// compiler writes a program's step addresses from them
// (tier.web/vm.web-01/power_on), which package steps keeps as strings.
package addrs
