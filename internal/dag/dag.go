package dag

import (
	"cmp"
	"slices"
)

// Graph is a directed graph. An edge from a to b means "a depends on b":
// b comes first in topological order. The zero Graph is not usable; call New.
type Graph[K cmp.Ordered] struct {
	nodes map[K]struct{}
	deps  map[K]map[K]struct{}
}

// New returns an empty graph.
func New[K cmp.Ordered]() *Graph[K] {
	return &Graph[K]{nodes: map[K]struct{}{}, deps: map[K]map[K]struct{}{}}
}

// Add adds a node.
func (g *Graph[K]) Add(n K) { g.nodes[n] = struct{}{} }

// Has reports whether n is a node.
func (g *Graph[K]) Has(n K) bool { _, ok := g.nodes[n]; return ok }

// Connect records that from depends on to, adding both nodes.
func (g *Graph[K]) Connect(from, to K) {
	g.Add(from)
	g.Add(to)
	if g.deps[from] == nil {
		g.deps[from] = map[K]struct{}{}
	}
	g.deps[from][to] = struct{}{}
}

// Nodes returns every node in sorted order.
func (g *Graph[K]) Nodes() []K {
	out := make([]K, 0, len(g.nodes))
	for n := range g.nodes {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// DependsOn returns the direct dependencies of n in sorted order.
func (g *Graph[K]) DependsOn(n K) []K {
	out := make([]K, 0, len(g.deps[n]))
	for d := range g.deps[n] {
		out = append(out, d)
	}
	slices.Sort(out)
	return out
}

// Cycles returns every cycle of the graph, one per strongly connected
// component that has one. Each cycle lists its nodes in dependency order,
// starting at its smallest node: a depends on b depends on … depends on a.
// The result is deterministic.
func (g *Graph[K]) Cycles() [][]K {
	var cycles [][]K
	for _, scc := range g.components() {
		if len(scc) == 1 {
			if _, self := g.deps[scc[0]][scc[0]]; !self {
				continue
			}
			cycles = append(cycles, scc)
			continue
		}
		cycles = append(cycles, g.cycleIn(scc))
	}
	slices.SortFunc(cycles, func(a, b []K) int { return cmp.Compare(a[0], b[0]) })
	return cycles
}

// cycleIn finds one cycle through every node it can of a strongly connected
// component, starting at its smallest node, by a depth-first walk that
// stays inside the component.
func (g *Graph[K]) cycleIn(scc []K) []K {
	in := map[K]bool{}
	for _, n := range scc {
		in[n] = true
	}
	start := slices.Min(scc)
	// Longest simple path back to start found by a bounded DFS; components
	// are small in practice (a handful of tiers and steps).
	var best []K
	path := []K{start}
	onPath := map[K]bool{start: true}
	budget := 100000
	var walk func(n K)
	walk = func(n K) {
		if budget--; budget < 0 {
			return
		}
		for _, d := range g.DependsOn(n) {
			if !in[d] {
				continue
			}
			if d == start && len(path) > len(best) {
				best = slices.Clone(path)
			}
			if onPath[d] {
				continue
			}
			onPath[d] = true
			path = append(path, d)
			walk(d)
			path = path[:len(path)-1]
			onPath[d] = false
		}
	}
	walk(start)
	return best
}

// components returns the strongly connected components (Tarjan), each
// sorted, in a deterministic order.
func (g *Graph[K]) components() [][]K {
	index := map[K]int{}
	low := map[K]int{}
	onStack := map[K]bool{}
	var stack []K
	var out [][]K
	next := 0
	var strong func(v K)
	strong = func(v K) {
		index[v], low[v] = next, next
		next++
		stack = append(stack, v)
		onStack[v] = true
		for _, w := range g.DependsOn(v) {
			if _, seen := index[w]; !seen {
				strong(w)
				low[v] = min(low[v], low[w])
			} else if onStack[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] == index[v] {
			var scc []K
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[w] = false
				scc = append(scc, w)
				if w == v {
					break
				}
			}
			slices.Sort(scc)
			out = append(out, scc)
		}
	}
	for _, n := range g.Nodes() {
		if _, seen := index[n]; !seen {
			strong(n)
		}
	}
	return out
}

// TopoOrder returns the nodes so that every node comes after the nodes it
// depends on, breaking ties by sort order: of the nodes whose dependencies
// are all placed, the smallest comes next. Nodes on cycles are left out;
// check Cycles first. It takes O((n + e) log n) time for n nodes and e
// edges: the ready nodes wait in a min-heap.
func (g *Graph[K]) TopoOrder() []K {
	waiting := make(map[K]int, len(g.nodes))
	dependents := make(map[K][]K, len(g.deps))
	for n, deps := range g.deps {
		waiting[n] = len(deps)
		for d := range deps {
			dependents[d] = append(dependents[d], n)
		}
	}
	ready := make(minHeap[K], 0, len(g.nodes))
	for n := range g.nodes {
		if waiting[n] == 0 {
			ready = append(ready, n)
		}
	}
	slices.Sort(ready) // a sorted slice is a heap
	out := make([]K, 0, len(g.nodes))
	for len(ready) > 0 {
		n := ready.pop()
		out = append(out, n)
		for _, d := range dependents[n] {
			if waiting[d]--; waiting[d] == 0 {
				ready.push(d)
			}
		}
	}
	return out
}

// minHeap is a binary min-heap of keys.
type minHeap[K cmp.Ordered] []K

func (h *minHeap[K]) push(k K) {
	s := append(*h, k)
	for i := len(s) - 1; i > 0; {
		parent := (i - 1) / 2
		if !cmp.Less(s[i], s[parent]) {
			break
		}
		s[i], s[parent] = s[parent], s[i]
		i = parent
	}
	*h = s
}

func (h *minHeap[K]) pop() K {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	for i := 0; ; {
		small, l, r := i, 2*i+1, 2*i+2
		if l < len(s) && cmp.Less(s[l], s[small]) {
			small = l
		}
		if r < len(s) && cmp.Less(s[r], s[small]) {
			small = r
		}
		if small == i {
			break
		}
		s[i], s[small] = s[small], s[i]
		i = small
	}
	*h = s
	return top
}

// Reaches reports whether from depends, directly or through other nodes,
// on to.
func (g *Graph[K]) Reaches(from, to K) bool {
	seen := map[K]bool{}
	todo := []K{from}
	for len(todo) > 0 {
		n := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		for d := range g.deps[n] {
			if d == to {
				return true
			}
			if !seen[d] {
				seen[d] = true
				todo = append(todo, d)
			}
		}
	}
	return false
}
