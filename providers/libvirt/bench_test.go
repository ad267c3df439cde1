package libvirt_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/drplan/drplan/providers"
	"github.com/drplan/drplan/providers/libvirt"
)

// BenchmarkDrill drills N real QEMU guests (DRPLAN_LIBVIRT_BENCH_N,
// default 6) at the recovery site, as the runner does for one tier:
// copies on qcow2 overlays, powered on together, one WaitReady for the
// batch (ready = the guest agent reports an IPv4 address), then powered
// off and destroyed. It reports the wall time of one drill, each guest's
// boot time (power-on to agent address: mean and slowest) and the libvirt
// RPC calls per recovered VM.
//
//	go test ./providers/libvirt -run '^$' -bench Drill -benchtime 1x
func BenchmarkDrill(b *testing.B) {
	n := 6
	if v, err := strconv.Atoi(os.Getenv("DRPLAN_LIBVIRT_BENCH_N")); err == nil && v > 0 {
		n = v
	}
	var vms []string
	for i := 1; i <= n; i++ {
		vms = append(vms, fmt.Sprintf("bench-%02d", i))
	}
	_, _, west := prepareB(b, vms)
	ctx := context.Background()
	inv, err := west.Inventory(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var wall, bootSum, bootMax time.Duration
	var calls int64
	for it := 0; it < b.N; it++ {
		run := fmt.Sprintf("bench%d", time.Now().UnixNano()%1e9)
		c0 := west.Calls()
		start := time.Now()
		var copies []providers.VM
		for _, vm := range vms {
			rep := inv.ReplicaOf(vm)
			c, err := west.Clone(ctx, providers.CloneRequest{Replica: providers.VM{Site: "west", Path: rep.Path()},
				Name: vm, Folder: "drplan-drill/" + run, Networks: []string{"dr-bubble"}, RunID: run})
			if err != nil {
				b.Fatal(err)
			}
			copies = append(copies, c)
		}
		on := make([]time.Time, len(copies))
		for i, c := range copies {
			on[i] = time.Now()
			if err := west.PowerOn(ctx, c); err != nil {
				b.Fatal(err)
			}
		}
		var boots []time.Duration
		for i, r := range west.WaitReady(ctx, copies, providers.WaitIP, 4*time.Minute, nil) {
			if !r.Ready {
				b.Fatalf("%s: %v", r.VM, r.Err)
			}
			boots = append(boots, r.At.Sub(on[i]))
		}
		for _, c := range copies {
			if err := west.PowerOff(ctx, c); err != nil {
				b.Fatal(err)
			}
			if err := west.Destroy(ctx, c); err != nil {
				b.Fatal(err)
			}
		}
		wall += time.Since(start)
		calls += west.Calls() - c0
		sort.Slice(boots, func(i, j int) bool { return boots[i] < boots[j] })
		for _, d := range boots {
			bootSum += d
		}
		bootMax = max(bootMax, boots[len(boots)-1])
		b.Logf("drill of %d guests: %s wall; boot (power-on to agent address) %v; %d RPC calls (%.1f per VM)",
			n, time.Since(start).Round(time.Millisecond), roundAll(boots), west.Calls()-c0, float64(west.Calls()-c0)/float64(n))
	}
	b.ReportMetric(wall.Seconds()/float64(b.N), "s/drill")
	b.ReportMetric(bootSum.Seconds()/float64(b.N*n), "boot-s/guest")
	b.ReportMetric(bootMax.Seconds(), "max-boot-s")
	b.ReportMetric(float64(calls)/float64(b.N*n), "rpc/VM")
	b.ReportMetric(0, "ns/op")
	_ = libvirt.MetadataURI
}

func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(100 * time.Millisecond)
	}
	return out
}
