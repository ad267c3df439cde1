// Package diagview renders hcl.Diagnostics for people and machines: the
// one place that knows how a diagnostic looks. Text output follows
// Terraform's (a box with the summary, the offending source line with the
// range underlined, then the detail); JSON output follows the shape of
// terraform validate -json.
//
// Diagnostics arrive here already scrubbed of sensitive values by package
// plans; the source lines the text view quotes are scrubbed with the
// plan's set (Text.Redact, NewDocument's redact), and the renderers never
// evaluate expressions. Which diagnostics there are is plans' and the
// compiler's business.
package diagview
