package operations

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/drplan/drplan/compiler"
	"github.com/drplan/drplan/plans"
)

// loadWebshop loads the webshop example against its simulated sites
// (of seed) and compiles mode.
func loadWebshop(t *testing.T, mode plans.Mode, seed int64) *Compiled {
	t.Helper()
	cp, err := Load(context.Background(), "../examples/webshop", Options{Sim: true, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cp.Target.Close)
	cp.Compile(t.TempDir(), compiler.Options{Mode: mode, Point: "latest"})
	if cp.Prog == nil {
		t.Fatalf("%s does not compile: %v", mode, cp.Diags)
	}
	return cp
}

// TestLocksFromGo: the group locks, taken from Go, keep another run out
// (locally and at the recovery site) and name their holder, let the
// same run back in, are broken by ForceUnlock, and leave nothing once
// released.
func TestLocksFromGo(t *testing.T) {
	ctx := context.Background()
	cp := loadWebshop(t, plans.ModeFailover, 1)
	state := t.TempDir()
	groups := cp.Groups()
	if len(groups) == 0 {
		t.Fatal("the program has no groups")
	}
	const a, b = "20260101T000000Z-000a", "20260101T000000Z-000b"
	la, err := LockGroups(ctx, cp.Target, state, groups, a, "failover")
	if err != nil {
		t.Fatal(err)
	}
	for g := range groups {
		if h, ok := ReadLockFile(lockFileName(lockDir(state), g)); !ok || h.Run != a {
			t.Errorf("lock file of %s: holder %+v (ok %v), want run %s", g, h, ok, a)
		}
	}
	held := HeldLocks(ctx, cp.Target, state, groups, b, true)
	if len(held) != 2*len(groups) {
		t.Errorf("HeldLocks for another run: %d locks, want %d (a file and a site lock per group): %v", len(held), 2*len(groups), held)
	}
	for _, h := range held {
		if h.Holder.Run != a {
			t.Errorf("%s: holder %q, want %s", h.Error(), h.Holder.Run, a)
		}
	}
	if held := HeldLocks(ctx, cp.Target, state, groups, a, true); len(held) != 0 {
		t.Errorf("HeldLocks for the holder itself: %v, want none", held)
	}

	// Another run is refused, naming the holder; the same run gets back in.
	_, err = LockGroups(ctx, cp.Target, state, groups, b, "failover")
	var le *LockedError
	if !errors.As(err, &le) || le.Held[0].Holder.Run != a {
		t.Fatalf("second run's LockGroups: %v, want a *LockedError naming %s", err, a)
	}
	if _, err := LockGroups(ctx, cp.Target, state, groups, a, "failover"); err != nil {
		t.Fatalf("the holder taking its locks again: %v", err)
	}

	// Run a dies holding them (la is never released): ForceUnlock
	// breaks them.
	_ = la
	broken, corrupt := ForceUnlock(ctx, cp.Target, state, groups, a)
	if len(broken) != 2*len(groups) || len(corrupt) != 0 {
		t.Errorf("ForceUnlock: broke %v and corrupt %v, want %d locks of run %s", broken, corrupt, 2*len(groups), a)
	}
	lb, err := LockGroups(ctx, cp.Target, state, groups, b, "failover")
	if err != nil {
		t.Fatalf("after ForceUnlock: %v", err)
	}
	lb.Release(ctx)
	entries, _ := os.ReadDir(lockDir(state))
	if len(entries) != 0 {
		t.Errorf("lock files after Release: %v", entries)
	}
	if held := HeldLocks(ctx, cp.Target, state, groups, a, true); len(held) != 0 {
		t.Errorf("locks after Release: %v", held)
	}
}
