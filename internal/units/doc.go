// Package units parses and formats the quantities of the plan language:
// durations ("90s", "1h30m", "30d"), sizes ("500GiB", "2TB") and rates
// ("1Gbps", "20GiB/h"). It is the one place these strings are understood;
// package plans turns its errors into diagnostics at the exact source range.
package units
