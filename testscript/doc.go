// Package testscript holds drplan's command-line tests: scripts under
// testdata/*.txtar, named category first (validate_json.txtar), run by
// go-internal's testscript against the real drplan command in process.
// Scripts see $CONFORMANCE (the shared conformance plan) and $EXAMPLES
// (the repository's examples).
package testscript
