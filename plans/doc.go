// Package plans reads a directory of *.drplan.hcl and *.drplan.json files
// into a typed model (Plan) and checks it, returning every problem as an
// hcl.Diagnostic with the tightest source range and a detail that says how
// to fix it.
//
// Loading happens in three passes. The first collects the declarations of
// every block and reports duplicate names. The second evaluates what other
// expressions may refer to (variables, local values, sites and the VM lists
// of protection groups) in dependency order, reporting cycles. The third
// decodes every block against its schema, which sits beside its decoder,
// and the checks in checks.go look across blocks (tier graph, VM placement,
// RPO ranges and feasibility, IP rules).
//
// The model keeps parsed values (time.Duration, units.Size, netip.Prefix),
// names and addrs.Ref references, never strings to parse again. Package
// compiler turns it into a steps.Program; this package knows nothing of
// sites' inventories beyond the selector matches a caller may pass in.
//
// It also decides what is sensitive: while it loads, it collects every
// sensitive variable's value, everything computed from one, and every
// password into one internal/redact.Set (Plan.Secrets), scrubs its own
// diagnostics with it, and hands it on through the compiler to the
// program, whose writers use the same set.
package plans
