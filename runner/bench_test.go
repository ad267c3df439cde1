package runner_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"runtime/trace"

	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/drplan/drplan/compiler"
	"github.com/drplan/drplan/internal/clock"
	"github.com/drplan/drplan/inventory"
	"github.com/drplan/drplan/plans"
	"github.com/drplan/drplan/providers"
	"github.com/drplan/drplan/providers/vsphere"
	"github.com/drplan/drplan/runner"
	"github.com/drplan/drplan/simulate"
	"github.com/drplan/drplan/steps"
)

// bigPlan is a two-site plan of n VMs in groups of 100 and tiers of up to
// 250, with the given boot time.
func bigPlan(n int, boot string) string {
	var b strings.Builder
	b.WriteString(`
site "east" {
  role       = "protected"
  datacenter = "DC-East"
}

site "west" {
  role       = "recovery"
  datacenter = "DC-West"
  capacity {
    cpu_ghz = 100000
    memory  = "100TiB"
    storage = "10PiB"
  }
}
`)
	var groups []string
	for g := 0; g*100 < n; g++ {
		var vms []string
		for i := g * 100; i < min(n, (g+1)*100); i++ {
			vms = append(vms, fmt.Sprintf("%q", fmt.Sprintf("vm-%05d", i)))
		}
		name := fmt.Sprintf("g%03d", g)
		groups = append(groups, name)
		fmt.Fprintf(&b, "\nprotection_group %q {\n  site          = site.east\n  recovery_site = site.west\n  vms           = [%s]\n  replication {\n    method = \"vsphere_replication\"\n    rpo    = \"15m\"\n  }\n}\n", name, strings.Join(vms, ", "))
	}
	var refs []string
	for _, g := range groups {
		refs = append(refs, "protection_group."+g)
	}
	fmt.Fprintf(&b, "\nrecovery_plan \"big\" {\n  protection_groups = [%s]\n  max_parallel      = 64\n  network_mapping {\n    from = \"Prod\"\n    to   = \"DR-Prod\"\n    test = \"DR-Test\"\n  }\n", strings.Join(refs, ", "))
	perTier := 250 / 100
	for t := 0; t*perTier < len(groups); t++ {
		var vms []string
		for _, g := range groups[t*perTier : min(len(groups), (t+1)*perTier)] {
			vms = append(vms, "protection_group."+g+".vms")
		}
		fmt.Fprintf(&b, "  tier \"t%02d\" {\n    priority = %d\n    vms      = concat(%s)\n  }\n", t, min(t+1, 5), strings.Join(vms, ", "))
	}
	fmt.Fprintf(&b, "}\n\nsimulation {\n  time_scale = 0.001\n  boot_time  = %q\n}\n", boot)
	return b.String()
}

type drillEnv struct {
	world *simulate.World
	plan  *plans.Plan
	sites map[string]providers.Site
}

func setup(b testing.TB, n int, boot string) *drillEnv {
	b.Helper()
	return setupSource(b, bigPlan(n, boot))
}

// setupSource builds the simulated world of a plan's source and opens
// its sites.
func setupSource(b testing.TB, source string) *drillEnv {
	b.Helper()
	dir := b.TempDir()
	src := map[string][]byte{dir + "/main.drplan.hcl": []byte(source)}
	p, diags := plans.LoadSources(dir, src, plans.LoadOptions{Environ: []string{}})
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	v := clock.NewVirtual(time.Now())
	b.Cleanup(v.Close)
	w, err := simulate.New(context.Background(), p, simulate.Options{Clock: v})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(w.Close)
	env := &drillEnv{world: w, plan: p, sites: map[string]providers.Site{}}
	for _, s := range w.Sites {
		site, err := vsphere.Connector{}.Open(context.Background(), s.Config())
		if err != nil {
			b.Fatal(err)
		}
		env.sites[s.Name] = site
		b.Cleanup(func() { site.Close(context.Background()) }) // before the world closes
	}
	return env
}

// compile reads the world through the provider, compiles test mode with
// a simulated world's operation costs and estimates it with the runner's
// scheduler.
func (e *drillEnv) compile(b testing.TB) *steps.Program {
	snap, err := snapshotOf(e)
	if err != nil {
		b.Fatal(err)
	}
	prog, diags := compiler.Compile(e.plan, snap, compiler.Options{Mode: plans.ModeTest, FreeOperations: true})
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	runner.Estimate(prog)
	return prog
}

func (e *drillEnv) run(b testing.TB, prog *steps.Program, id string) *runner.Result {
	res, err := runner.Run(context.Background(), prog, runner.Options{RunID: id, Clock: e.world.Clock,
		Open: func(_ context.Context, name string, _ bool) (providers.Site, error) { return e.sites[name], nil }})
	if err != nil {
		b.Fatal(err)
	}
	if !res.Passed {
		for _, s := range res.Steps {
			if s.Err != nil {
				b.Fatalf("%s: %v", s.Addr, s.Err)
			}
		}
		b.Fatal("run failed")
	}
	return res
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDrill drills generated worlds on the virtual clock through
// the real provider and runner, and reports the drill's wall time, CPU
// per VM, API calls per VM, the process's peak RSS, and achieved RTO ÷
// the estimate (a two-sided figure: 1 is exact). With zero boot time it
// also compares the drill's wall time with a raw govmomi loop doing
// clone + reconfigure + power-on of the same VMs.
//
//	go test ./runner -run '^$' -bench Drill -benchtime 1x
//	DRPLAN_BENCH_VMS=5000 go test ./runner -run '^$' -bench 'Drill/vms=' -benchtime 1x
func BenchmarkDrill(b *testing.B) {
	sizes := []int{1000}
	if v := os.Getenv("DRPLAN_BENCH_VMS"); v != "" {
		n, _ := strconv.Atoi(v)
		sizes = []int{n}
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("vms=%d", n), func(b *testing.B) {
			for range b.N {
				t0 := time.Now()
				stop := profile(b, "world")
				env := setup(b, n, "2m")
				stop()
				built := time.Since(t0)
				buildRSS := peakRSS()
				t0 = time.Now()
				prog := env.compile(b)
				compiled := time.Since(t0)
				calls := callsOf(env)
				cpu0 := cpuTime()
				start := time.Now()
				stop = profile(b, "drill")
				res := env.run(b, prog, "bench")
				stop()
				wall := time.Since(start)
				cpu := cpuTime() - cpu0
				achieved := res.End.Sub(res.Start)
				b.ReportMetric(wall.Seconds(), "wall-s")
				ratio := float64(achieved) / float64(prog.Estimate.Total)
				b.ReportMetric(ratio, "achieved/estimate")
				if ratio < 0.98 || ratio > 1.02 {
					b.Errorf("%d VMs: achieved RTO %s is not the estimate %s within ±2%% (%.3f)", n, achieved, time.Duration(prog.Estimate.Total), ratio)
				}
				b.ReportMetric(float64(callsOf(env)-calls)/float64(n), "calls/VM")
				b.ReportMetric(float64(cpu.Milliseconds())/float64(n), "CPU-ms/VM")
				b.ReportMetric(peakRSS()/(1<<20), "peak-RSS-MiB")
				b.Logf("%d VMs: achieved %s, estimate %s (plan time); wall: world %s (peak RSS %.0f MiB), compile+estimate %s, drill %s",
					n, achieved, time.Duration(prog.Estimate.Total), built.Round(time.Millisecond), buildRSS/(1<<20), compiled.Round(time.Millisecond), wall.Round(time.Millisecond))
			}
		})
	}
	b.Run(fmt.Sprintf("zero-boot-vs-raw-govmomi/vms=%d", sizes[0]), func(b *testing.B) {
		for range b.N {
			env := setup(b, sizes[0], "0s")
			prog := env.compile(b)
			cpu0 := cpuTime()
			start := time.Now()
			env.run(b, prog, "bench")
			drill, drillCPU := time.Since(start), cpuTime()-cpu0
			cpu0 = cpuTime()
			raw := rawLoop(b, env, 16)
			rawCPU := cpuTime() - cpu0
			n := float64(sizes[0])
			b.ReportMetric(float64(drill)/float64(raw), "drill/raw")
			b.ReportMetric(float64(drillCPU.Milliseconds())/n, "drill-CPU-ms/VM")
			b.ReportMetric(float64(rawCPU.Milliseconds())/n, "raw-CPU-ms/VM")
			b.Logf("drill %v, raw govmomi loop %v", drill, raw)
		}
	})
}

// profile writes a CPU profile and an execution trace of one part of a
// benchmark to $DRPLAN_BENCH_PROFILE/<part>.cpu and <part>.trace, when
// that is set; the returned func stops them.
func profile(b testing.TB, part string) func() {
	dir := os.Getenv("DRPLAN_BENCH_PROFILE")
	if dir == "" {
		return func() {}
	}
	cpu, err := os.Create(filepath.Join(dir, part+".cpu"))
	if err != nil {
		b.Fatal(err)
	}
	tr, err := os.Create(filepath.Join(dir, part+".trace"))
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(cpu); err != nil {
		b.Fatal(err)
	}
	if err := trace.Start(tr); err != nil {
		b.Fatal(err)
	}
	return func() {
		trace.Stop()
		pprof.StopCPUProfile()
		cpu.Close()
		tr.Close()
	}
}

// peakRSS is the process's peak resident set (VmHWM), in bytes.
func peakRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb * 1024
		}
	}
	return 0
}

func callsOf(e *drillEnv) int64 {
	var n int64
	for _, s := range e.sites {
		n += s.Calls()
	}
	return n
}

// rawLoop is the floor: plain govmomi clone + reconfigure + power-on of
// every replica at the given parallelism, with no journal, no graph and
// no readiness wait.
func rawLoop(b *testing.B, env *drillEnv, parallel int) time.Duration {
	ctx := context.Background()
	site := env.world.Site("west")
	c, err := connectRaw(ctx, site)
	if err != nil {
		b.Fatal(err)
	}
	finder := find.NewFinder(c)
	dc, err := finder.Datacenter(ctx, site.Datacenter)
	if err != nil {
		b.Fatal(err)
	}
	finder.SetDatacenter(dc)
	replicas, err := finder.VirtualMachineList(ctx, "drplan-replicas/*")
	if err != nil {
		b.Fatal(err)
	}
	folders, _ := dc.Folders(ctx)
	dst, err := folders.VmFolder.CreateFolder(ctx, "raw")
	if err != nil {
		b.Fatal(err)
	}
	netRef, err := finder.Network(ctx, "DR-Test")
	if err != nil {
		b.Fatal(err)
	}
	backing, err := netRef.EthernetCardBackingInfo(ctx)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(replicas) {
					return
				}
				if err := rawOne(ctx, replicas[i], dst, backing); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}

func rawOne(ctx context.Context, vm *object.VirtualMachine, dst *object.Folder, backing types.BaseVirtualDeviceBackingInfo) error {
	task, err := vm.Clone(ctx, dst, vm.Name()+"-raw", types.VirtualMachineCloneSpec{})
	if err != nil {
		return err
	}
	info, err := task.WaitForResult(ctx)
	if err != nil {
		return err
	}
	clone := object.NewVirtualMachine(vm.Client(), info.Result.(types.ManagedObjectReference))
	devices, err := clone.Device(ctx)
	if err != nil {
		return err
	}
	var changes []types.BaseVirtualDeviceConfigSpec
	for _, d := range devices.SelectByType((*types.VirtualEthernetCard)(nil)) {
		d.GetVirtualDevice().Backing = backing
		changes = append(changes, &types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationEdit, Device: d})
	}
	task, err = clone.Reconfigure(ctx, types.VirtualMachineConfigSpec{DeviceChange: changes})
	if err != nil {
		return err
	}
	if err := task.Wait(ctx); err != nil {
		return err
	}
	task, err = clone.PowerOn(ctx)
	if err != nil {
		return err
	}
	return task.Wait(ctx)
}

// snapshotOf reads the world's inventory through the provider.
func snapshotOf(e *drillEnv) (*inventory.Snapshot, error) {
	snap := &inventory.Snapshot{Taken: e.world.Clock.Now(), Sites: map[string]*inventory.Site{}}
	for name, s := range e.sites {
		inv, err := s.Inventory(context.Background())
		if err != nil {
			return nil, err
		}
		inv.Name, inv.Reachable = name, true
		snap.Sites[name] = inv
	}
	return snap, nil
}

// connectRaw logs in with plain govmomi, tuned as the provider is (one
// idle connection per parallel caller).
func connectRaw(ctx context.Context, s *simulate.Site) (*vim25.Client, error) {
	sc := soap.NewClient(s.URL, false)
	sc.SetThumbprint(s.URL.Host, s.Thumbprint)
	sc.DefaultTransport().MaxIdleConnsPerHost = 64
	vc, err := vim25.NewClient(ctx, sc)
	if err != nil {
		return nil, err
	}
	if err := session.NewManager(vc).Login(ctx, s.URL.User); err != nil {
		return nil, err
	}
	return vc, nil
}
