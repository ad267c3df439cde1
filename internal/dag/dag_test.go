package dag

import (
	"reflect"
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
