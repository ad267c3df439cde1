package dag

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

func TestCycles(t *testing.T) {
	g := New[string]()
	g.Connect("a", "b")
	g.Connect("b", "c")
	g.Connect("c", "a")
	g.Connect("d", "a")
	g.Connect("e", "e")
	g.Add("f")
	got := g.Cycles()
	want := [][]string{{"a", "b", "c"}, {"e"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Cycles() = %v, want %v", got, want)
	}
}

func TestCycleNamesEveryNode(t *testing.T) {
	// Two loops sharing a node form one component; the report walks the
	// longest loop so that the operator sees the nodes involved.
	g := New[string]()
	g.Connect("a", "b")
	g.Connect("b", "a")
	g.Connect("b", "c")
	g.Connect("c", "d")
	g.Connect("d", "a")
	got := g.Cycles()
	want := [][]string{{"a", "b", "c", "d"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Cycles() = %v, want %v", got, want)
	}
}

func TestTopoOrder(t *testing.T) {
	g := New[string]()
	g.Connect("web", "app")
	g.Connect("app", "db")
	g.Connect("smoke", "web")
	g.Add("alone")
	got := g.TopoOrder()
	want := []string{"alone", "db", "app", "web", "smoke"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("TopoOrder() = %v, want %v", got, want)
	}
	if !g.Reaches("smoke", "db") || g.Reaches("db", "smoke") {
		t.Fatal("Reaches is wrong")
	}
}

// referenceTopoOrder is TopoOrder as it was first written: sort the ready
// nodes, take the smallest, repeat. Quadratic, but obviously right.
func referenceTopoOrder[K cmp.Ordered](g *Graph[K]) []K {
	waiting := map[K]int{}
	dependents := map[K][]K{}
	for _, n := range g.Nodes() {
		waiting[n] = len(g.deps[n])
		for d := range g.deps[n] {
			dependents[d] = append(dependents[d], n)
		}
	}
	var ready, out []K
	for _, n := range g.Nodes() {
		if waiting[n] == 0 {
			ready = append(ready, n)
		}
	}
	for len(ready) > 0 {
		slices.Sort(ready)
		n := ready[0]
		ready = ready[1:]
		out = append(out, n)
		for _, d := range dependents[n] {
			if waiting[d]--; waiting[d] == 0 {
				ready = append(ready, d)
			}
		}
	}
	return out
}

// TestTopoOrderMatchesReference checks, on random graphs with and without
// cycles, that TopoOrder gives exactly the order of the reference.
func TestTopoOrderMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 5))
	for trial := range 300 {
		n := 1 + rng.IntN(200)
		edges := rng.IntN(3 * n)
		cyclic := trial%3 == 0
		g := New[string]()
		for i := range n {
			g.Add(fmt.Sprintf("n%03d", rng.IntN(n*2)+i%2))
		}
		nodes := g.Nodes()
		for range edges {
			a, b := rng.IntN(len(nodes)), rng.IntN(len(nodes))
			if !cyclic && a <= b {
				if a == b {
					continue
				}
				a, b = b, a // edges only from later to earlier: no cycle
			}
			g.Connect(nodes[a], nodes[b])
		}
		got, want := g.TopoOrder(), referenceTopoOrder(g)
		if !slices.Equal(got, want) {
			t.Fatalf("trial %d (%d nodes, cyclic %v): TopoOrder\n got %v\nwant %v", trial, len(nodes), cyclic, got, want)
		}
		if !cyclic && len(got) != len(nodes) {
			t.Fatalf("trial %d: %d of %d nodes placed", trial, len(got), len(nodes))
		}
		pos := map[string]int{}
		for i, x := range got {
			pos[x] = i
		}
		for _, x := range got {
			for _, d := range g.DependsOn(x) {
				if pos[d] >= pos[x] {
					t.Fatalf("trial %d: %s placed before its dependency %s", trial, x, d)
				}
			}
		}
	}
}

// TestTopoOrderLarge sorts 200,000 nodes that all become ready at once and
// a long chain: the shapes that made the sorting version quadratic.
func TestTopoOrderLarge(t *testing.T) {
	g := wideGraph(200_000)
	got := g.TopoOrder()
	if len(got) != 200_001 || got[0] != "root" || got[1] != "n000000" || got[len(got)-1] != "n199999" {
		t.Fatalf("TopoOrder of a wide graph: %d nodes, first %v, last %v", len(got), got[:2], got[len(got)-1])
	}
	if !slices.IsSorted(got[1:]) {
		t.Fatal("ties are not broken by sort order")
	}
}

// wideGraph is n nodes that all depend on one root, in reverse order of
// name, so that each pop finds n ready nodes.
func wideGraph(n int) *Graph[string] {
	g := New[string]()
	for i := n - 1; i >= 0; i-- {
		g.Connect(fmt.Sprintf("n%06d", i), "root")
	}
	return g
}

func BenchmarkTopoOrder(b *testing.B) {
	for _, n := range []int{10_000, 40_000, 160_000} {
		g := wideGraph(n)
		b.Run(fmt.Sprintf("wide-%d", n), func(b *testing.B) {
			for b.Loop() {
				g.TopoOrder()
			}
		})
		chain := New[string]()
		for i := 1; i < n; i++ {
			chain.Connect(fmt.Sprintf("c%06d", i), fmt.Sprintf("c%06d", i-1))
			chain.Add(fmt.Sprintf("x%06d", i)) // and as many free nodes
		}
		b.Run(fmt.Sprintf("chain-%d", n), func(b *testing.B) {
			for b.Loop() {
				chain.TopoOrder()
			}
		})
	}
}
