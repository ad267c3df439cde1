// Command bench measures `drplan validate` on a large generated plan and puts
// the figures side by side with the two things it is judged against: a raw
// hclsyntax.ParseConfig of the same files (the floor any validator pays) and
// `terraform validate` of a Terraform configuration of the same size and shape.
//
// It generates, in a temporary directory, a plan of -vms VMs (default 10,000)
// in 100 protection groups, 20 tiers and 50 steps over 21 files, and a
// Terraform configuration of terraform_data resources with the same nesting
// over 20 files. It builds ./cmd/drplan once, runs each measurement -runs
// times after one warm-up (terraform at most 3 times when a run takes over
// 5s), prints the median wall times and the peak RSS of the subprocesses in
// one table and checks the targets:
//
//   - drplan validate is at least 5× faster than terraform validate;
//   - drplan validate takes at most 3× the raw parse;
//   - drplan validate peaks at no more than 150 MB of resident memory.
//
// A row whose tool is missing (./cmd/drplan does not build, terraform is not
// on PATH) is shown as unavailable and the rest still runs. Run it from the
// module with `make bench` or:
//
//	go run ./internal/tools/bench [-vms N] [-runs N] [-keep]
//
// With -validate 10000,100000 (make bench-validate) it only generates a plan
// of each size, times `drplan validate` on it and reports its peak RSS,
// against the targets: 100,000 VMs validate in at most 5s, and validate of
// 10,000 VMs peaks at no more than 150 MB.
package main
