package seeded

import "testing"

func TestDrawDependsOnInputsOnly(t *testing.T) {
	a := New(7).Word("PowerOnVM_Task").Word("web-01").Int(2).Float()
	if b := New(7).Word("PowerOnVM_Task").Word("web-01").Int(2).Float(); a != b {
		t.Fatalf("same inputs drew %v and %v", a, b)
	}
	others := []float64{
		New(8).Word("PowerOnVM_Task").Word("web-01").Int(2).Float(),
		New(7).Word("PowerOnVM_Task").Word("web-02").Int(2).Float(),
		New(7).Word("PowerOnVM_Task").Word("web-01").Int(3).Float(),
		New(7).Word("PowerOnVM_Taskweb-01").Word("").Int(2).Float(),
	}
	for i, o := range others {
		if o == a {
			t.Errorf("input change %d drew the same %v", i, a)
		}
	}
}

func TestFloatSpread(t *testing.T) {
	var low, n = 0, 10000
	for i := range n {
		f := New(1).Int(uint64(i)).Float()
		if f < 0 || f >= 1 {
			t.Fatalf("draw %d = %v, outside [0, 1)", i, f)
		}
		if f < 0.5 {
			low++
		}
	}
	if low < n*45/100 || low > n*55/100 {
		t.Errorf("%d of %d draws below 0.5, want about half", low, n)
	}
}
