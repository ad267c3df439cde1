package compiler

import (
	"container/heap"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"sort"
	"strconv"

	"github.com/drplan/drplan/inventory"
	"github.com/drplan/drplan/plans"
	"github.com/drplan/drplan/steps"
)

func globMatch(pattern, name string) bool {
	ok, _ := path.Match(pattern, name)
	return ok
}

// topoSort orders steps so that each comes after what it waits for,
// keeping the build order among steps that are ready together.
func topoSort(in []*steps.Step) []*steps.Step {
	index := make(map[steps.Addr]int, len(in))
	dependents := make([][]int, len(in))
	waiting := make([]int, len(in))
	for i, s := range in {
		index[s.Addr] = i
	}
	for i, s := range in {
		for _, d := range s.After {
			j, ok := index[d]
			if !ok {
				panic("compiler: " + s.Addr.String() + " waits for unknown step " + d.String())
			}
			waiting[i]++
			dependents[j] = append(dependents[j], i)
		}
	}
	ready := &intHeap{}
	for i := range in {
		if waiting[i] == 0 {
			heap.Push(ready, i)
		}
	}
	out := make([]*steps.Step, 0, len(in))
	for ready.Len() > 0 {
		i := heap.Pop(ready).(int)
		out = append(out, in[i])
		for _, j := range dependents[i] {
			if waiting[j]--; waiting[j] == 0 {
				heap.Push(ready, j)
			}
		}
	}
	if len(out) != len(in) {
		panic("compiler: the step graph has a cycle")
	}
	return out
}

type intHeap []int

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h intHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *intHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *intHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// outlineTiers lists the recovery plan's tiers in the program's
// estimate, in order, with their VM counts; the times are the runner's to
// fill in (runner.Estimate runs the program on a virtual clock with the
// runner's own scheduler).
func (b *builder) outlineTiers() {
	p := b.prog
	for _, t := range b.sortedTiers() {
		p.Estimate.Tiers = append(p.Estimate.Tiers, steps.TierEstimate{Tier: t.Name, VMs: len(t.VMs)})
	}
}

// Hash identifies what a program was compiled from: the plan's files,
// its variables' values, the options and the inventory (less what changes
// on its own, such as recovery point times and addresses).
func Hash(p *plans.Plan, inv *inventory.Snapshot, mode plans.Mode, recoveryPlan, point string) string {
	h := sha256.New()
	names := make([]string, 0, len(p.Files))
	for n := range p.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(h, "file %s %d\n", path.Base(n), len(p.Files[n].Bytes))
		h.Write(p.Files[n].Bytes)
	}
	for _, v := range p.Variables {
		fmt.Fprintf(h, "var %s %#v\n", v.Name, v.Value.GoString())
	}
	fmt.Fprintf(h, "mode %s plan %s point %s\n", mode, recoveryPlan, point)
	for _, site := range sortedKeys(inv.Sites) {
		s := inv.Sites[site]
		fmt.Fprintf(h, "site %s %s %v\n", site, s.Datacenter, s.Reachable)
		vms := make([]string, 0, len(s.VMs))
		var line []byte
		for _, v := range s.VMs {
			line = append(line[:0], v.Folder...)
			line = append(line, '/')
			line = append(line, v.Name...)
			line = append(line, ' ')
			line = append(line, v.Run...)
			line = append(line, ' ')
			line = strconv.AppendInt(line, int64(v.CPUs), 10)
			line = append(line, ' ')
			line = strconv.AppendInt(line, v.MemoryBytes, 10)
			if v.Replica != nil {
				line = append(line, " replica-of "...)
				line = append(line, v.Replica.Of...)
			}
			for _, n := range v.NICs {
				line = append(line, " nic "...)
				line = append(line, n.Network...)
			}
			vms = append(vms, string(line))
		}
		sort.Strings(vms)
		for _, l := range vms {
			fmt.Fprintln(h, l)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
