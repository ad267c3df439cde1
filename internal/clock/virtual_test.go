package clock

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// run starts f as clock work and waits for it.
func run(v *Virtual, f func(context.Context)) {
	done := make(chan struct{})
	v.Go(context.Background(), func(ctx context.Context) {
		defer close(done)
		f(ctx)
	})
	<-done
}

func TestSleepJumps(t *testing.T) {
	v := NewVirtual(epoch)
	defer v.Close()
	start := time.Now()
	run(v, func(ctx context.Context) {
		if err := v.Sleep(ctx, 6*time.Hour); err != nil {
			t.Error(err)
		}
	})
	if got := v.Since(epoch); got != 6*time.Hour {
		t.Fatalf("after sleeping 6h the clock moved %s", got)
	}
	if wall := time.Since(start); wall > 5*time.Second {
		t.Fatalf("6h of virtual sleep took %s of wall time", wall)
	}
}

// Time stands still while any actor has work, however long it takes.
func TestBusyWorkHoldsTime(t *testing.T) {
	v := NewVirtual(epoch)
	defer v.Close()
	var seen time.Duration
	var wg sync.WaitGroup
	wg.Add(2)
	v.Go(context.Background(), func(ctx context.Context) {
		defer wg.Done()
		v.Sleep(ctx, time.Second)
	})
	v.Go(context.Background(), func(ctx context.Context) {
		defer wg.Done()
		time.Sleep(30 * time.Millisecond) // real work: no clock time passes
		seen = v.Since(epoch)
	})
	wg.Wait()
	if seen != 0 {
		t.Fatalf("the clock moved %s while an actor was busy", seen)
	}
	if got := v.Since(epoch); got != time.Second {
		t.Fatalf("clock at %s, want 1s", got)
	}
}

func TestOrderAndInstants(t *testing.T) {
	v := NewVirtual(epoch)
	defer v.Close()
	var mu sync.Mutex
	var got []string
	var wg sync.WaitGroup
	for _, c := range []struct {
		name string
		d    time.Duration
	}{{"c", 3 * time.Second}, {"a", time.Second}, {"b", 2 * time.Second}} {
		wg.Add(1)
		v.Go(context.Background(), func(ctx context.Context) {
			defer wg.Done()
			v.Sleep(ctx, c.d)
			mu.Lock()
			got = append(got, c.name+"@"+v.Since(epoch).String())
			mu.Unlock()
		})
	}
	wg.Wait()
	want := []string{"a@1s", "b@2s", "c@3s"}
	for i := range want {
		if i >= len(got) || got[i] != want[i] {
			t.Fatalf("wake-ups %v, want %v", got, want)
		}
	}
}

func TestWithTimeout(t *testing.T) {
	v := NewVirtual(epoch)
	defer v.Close()
	run(v, func(ctx context.Context) {
		tctx, cancel := v.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		child, ccancel := context.WithCancel(tctx)
		defer ccancel()
		if err := v.Sleep(tctx, time.Hour); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Sleep past the deadline: %v", err)
		}
		if got := v.Since(epoch); got != 5*time.Second {
			t.Errorf("deadline at %s, want 5s", got)
		}
		<-child.Done()
		if !errors.Is(tctx.Err(), context.DeadlineExceeded) || !errors.Is(child.Err(), context.DeadlineExceeded) {
			t.Errorf("errors %v, %v; want deadline exceeded", tctx.Err(), child.Err())
		}
		if _, ok := tctx.Deadline(); ok {
			t.Error("a virtual deadline shows as a wall-clock one")
		}
	})
}

// A deadline resumes the Work of a caller that something else holds
// (a long-poll): the clock cannot move on before the caller runs.
func TestDeadlineResumesParkedWork(t *testing.T) {
	v := NewVirtual(epoch)
	defer v.Close()
	v.AfterFunc(time.Hour, func() {}) // something later to jump to
	run(v, func(ctx context.Context) {
		tctx, cancel := v.WithTimeout(ctx, time.Minute)
		defer cancel()
		WorkOf(ctx).Pause() // parked by a server
		<-tctx.Done()
		time.Sleep(20 * time.Millisecond)
		if got := v.Since(epoch); got != time.Minute {
			t.Errorf("woken by the deadline at %s, want 1m", got)
		}
	})
}

func TestAfterFuncStop(t *testing.T) {
	v := NewVirtual(epoch)
	defer v.Close()
	fired := make(chan string, 2)
	a := v.AfterFunc(time.Second, func() { fired <- "a" })
	v.AfterFunc(2*time.Second, func() { fired <- "b" })
	if !a.Stop() {
		t.Fatal("Stop of a pending timer reported false")
	}
	run(v, func(ctx context.Context) { v.Sleep(ctx, 3*time.Second) })
	if got := <-fired; got != "b" {
		t.Fatalf("fired %s", got)
	}
	if a.Stop() {
		t.Fatal("Stop of a removed timer reported true")
	}
}

// A server that holds a call pauses the caller's Work; the clock moves
// to the server's timer and the call returns at that instant.
func TestTransportParks(t *testing.T) {
	v := NewVirtual(epoch)
	defer v.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		work := v.WorkByID(r.Header.Get(WorkHeader))
		if work == nil {
			http.Error(w, "no work", 400)
			return
		}
		wake := make(chan struct{})
		v.AfterFunc(90*time.Second, func() { work.Resume(); close(wake) })
		work.PauseUnless(r.Context())
		<-wake
		w.Write([]byte(v.Now().Sub(epoch).String()))
	}))
	defer srv.Close()
	client := &http.Client{Transport: Transport(v, http.DefaultTransport)}
	run(v, func(ctx context.Context) {
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b := make([]byte, 16)
		n, _ := resp.Body.Read(b)
		if string(b[:n]) != "1m30s" {
			t.Errorf("answered at %q, want 1m30s", b[:n])
		}
	})
	if got := v.Active(); got != 0 {
		t.Fatalf("%d Works left active", got)
	}
}

func TestScaled(t *testing.T) {
	s := NewScaled(0.001)
	if got := s.Wall(2 * time.Minute); got != 120*time.Millisecond {
		t.Fatalf("2m at scale 0.001 is %s of wall time", got)
	}
	if got := s.Plan(time.Second); got != 1000*time.Second {
		t.Fatalf("1s of wall time is %s of plan time", got)
	}
}

// A world's own timers do not run its time forward when nobody waits.
func TestNobodyWaitingKeepsTime(t *testing.T) {
	v := NewVirtual(epoch)
	defer v.Close()
	var tick func()
	ticks := 0
	var mu sync.Mutex
	tick = func() {
		mu.Lock()
		ticks++
		mu.Unlock()
		v.AfterFunc(time.Minute, tick)
	}
	v.AfterFunc(time.Minute, tick)
	time.Sleep(30 * time.Millisecond)
	if got := v.Since(epoch); got != 0 {
		t.Fatalf("with nobody waiting the clock moved %s", got)
	}
	run(v, func(ctx context.Context) { v.Sleep(ctx, 10*time.Minute) })
	mu.Lock()
	defer mu.Unlock()
	if ticks != 10 {
		t.Fatalf("%d ticks in 10 minutes of someone waiting, want 10", ticks)
	}
}
