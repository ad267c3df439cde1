package compiler

import (
	"container/heap"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/drplan/drplan/inventory"
	"github.com/drplan/drplan/plans"
	"github.com/drplan/drplan/steps"
)

func globMatch(pattern, name string) bool {
	ok, _ := path.Match(pattern, name)
	return ok
}

// graphIndex is the step graph by position in build order, made once
// and shared by the sort and the estimate.
type graphIndex struct {
	index      map[string]int // address -> build position
	dependents [][]int
	deps       []int // how many steps each waits for
	rank       []int // position in the sorted program
}

// topoSort orders steps so that each comes after what it waits for,
// keeping the build order among steps that are ready together.
func topoSort(in []*steps.Step) ([]*steps.Step, *graphIndex) {
	gi := &graphIndex{index: make(map[string]int, len(in)), dependents: make([][]int, len(in)), deps: make([]int, len(in)), rank: make([]int, len(in))}
	for i, s := range in {
		gi.index[s.Addr] = i
	}
	for i, s := range in {
		for _, d := range s.After {
			j, ok := gi.index[d]
			if !ok {
				panic("compiler: " + s.Addr + " waits for unknown step " + d)
			}
			gi.deps[i]++
			gi.dependents[j] = append(gi.dependents[j], i)
		}
	}
	waiting := slices.Clone(gi.deps)
	ready := &intHeap{}
	for i := range in {
		if waiting[i] == 0 {
			heap.Push(ready, i)
		}
	}
	out := make([]*steps.Step, 0, len(in))
	for ready.Len() > 0 {
		i := heap.Pop(ready).(int)
		gi.rank[i] = len(out)
		out = append(out, in[i])
		for _, j := range gi.dependents[i] {
			if waiting[j]--; waiting[j] == 0 {
				heap.Push(ready, j)
			}
		}
	}
	if len(out) != len(in) {
		panic("compiler: the step graph has a cycle")
	}
	return out, gi
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

// estimate simulates the run: steps start as soon as what they wait for
// is done and, for VM steps, a slot is free (earlier steps in program
// order first); each takes its estimate. The makespan is the RTO
// estimate, and each tier's start and done come from its barriers.
func (b *builder) estimate(gi *graphIndex) {
	p := b.prog
	finish := schedule(b.order, gi, p.MaxParallel)
	var total time.Duration
	for _, f := range finish {
		total = max(total, f)
	}
	p.Estimate.Total = steps.Duration(total)
	for _, t := range b.sortedTiers() {
		var start, done time.Duration
		if i, ok := gi.index[tierStart(t.Name)]; ok {
			start = finish[i]
		}
		if i, ok := gi.index[tierDone(t.Name)]; ok {
			done = finish[i]
		}
		p.Estimate.Tiers = append(p.Estimate.Tiers, steps.TierEstimate{Tier: t.Name, Start: steps.Duration(start), Done: steps.Duration(done), VMs: len(t.VMs)})
	}
}

// schedule returns each step's finish time when the steps run as the
// runner runs them: a step starts once everything it waits for is done;
// a VM step also needs one of slots free slots, and among ready VM steps
// the earliest in program order goes first. Steps must be in topological
// order.
func schedule(list []*steps.Step, gi *graphIndex, slots int) []time.Duration {
	if slots <= 0 {
		slots = 1
	}
	waiting := slices.Clone(gi.deps)
	dependents := gi.dependents
	finish := make([]time.Duration, len(list))
	// Ready steps wait in two queues, by their rank in the program: those
	// that need a slot, and the others, which start at once.
	byRank := make([]int, len(list))
	for i, r := range gi.rank {
		byRank[r] = i
	}
	readySlot, readyFree := &intHeap{}, &intHeap{}
	push := func(i int) {
		if list[i].Slot {
			heap.Push(readySlot, gi.rank[i])
		} else {
			heap.Push(readyFree, gi.rank[i])
		}
	}
	running := &eventHeap{}
	for i := range list {
		if waiting[i] == 0 {
			push(i)
		}
	}
	var now time.Duration
	free := slots
	for readySlot.Len() > 0 || readyFree.Len() > 0 || running.Len() > 0 {
		// Start what can start now, in program order.
		for readyFree.Len() > 0 {
			i := byRank[heap.Pop(readyFree).(int)]
			heap.Push(running, event{at: now + time.Duration(list[i].Estimate), step: i})
		}
		for free > 0 && readySlot.Len() > 0 {
			i := byRank[heap.Pop(readySlot).(int)]
			free--
			heap.Push(running, event{at: now + time.Duration(list[i].Estimate), step: i})
		}
		if running.Len() == 0 {
			break
		}
		// Finish everything that ends at the next moment.
		now = (*running)[0].at
		for running.Len() > 0 && (*running)[0].at == now {
			e := heap.Pop(running).(event)
			finish[e.step] = now
			if list[e.step].Slot {
				free++
			}
			for _, j := range dependents[e.step] {
				if waiting[j]--; waiting[j] == 0 {
					push(j)
				}
			}
		}
	}
	return finish
}

type event struct {
	at   time.Duration
	step int
}

type eventHeap []event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	return h[i].at < h[j].at || h[i].at == h[j].at && h[i].step < h[j].step
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(event)) }
func (h *eventHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
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
