package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/drplan/drplan/operations"
	"github.com/drplan/drplan/providers"
)

// The group locks are operations' (LockGroups, HeldLocks, ForceUnlock);
// here is how a refusal is shown, with the commands that go on.

// lockAdvice is what a refusal needs to say how to go on: the command
// that was refused.
type lockAdvice struct {
	verb, mode string
	sim        bool
	dir        string
	// resumed is the run a refused resume resumes.
	resumed string
}

// breakCmd is the refused command again, breaking the locks of run id.
func (a lockAdvice) breakCmd(id string) string {
	switch a.verb {
	case "drill":
		return fmt.Sprintf("drplan drill %s -force-unlock %s %s", targetFlag(a.sim), id, a.dir)
	case "resume":
		return fmt.Sprintf("drplan resume -force-unlock %s %s %s", id, a.resumed, a.dir)
	}
	return fmt.Sprintf("drplan run -mode %s %s -force-unlock %s %s", a.mode, targetFlag(a.sim), id, a.dir)
}

// refuseLocked says which locks keep the run out, who holds them, and
// how to go on: continue a dead holder (resume) or break its locks.
func refuseLocked(w io.Writer, redact func(string) string, verb string, held []operations.HeldLock, a lockAdvice) {
	fmt.Fprintf(w, "drplan %s: the protection groups are locked; nothing was done.\n", verb)
	var runs []providers.LockHolder
	corrupt := false
	for _, h := range held {
		fmt.Fprintf(w, "  %s\n", redact(h.Error()))
		if h.Holder.Run == "" {
			corrupt = true
			continue
		}
		if !slices.ContainsFunc(runs, func(r providers.LockHolder) bool { return r.Run == h.Holder.Run }) {
			runs = append(runs, h.Holder)
		}
	}
	host, _ := os.Hostname()
	for _, h := range runs {
		cont := fmt.Sprintf("drplan resume %s %s", h.Run, a.dir)
		if h.Mode == "drill" {
			cont = fmt.Sprintf("drplan run -mode cleanup -run %s %s %s", h.Run, targetFlag(a.sim), a.dir)
		}
		brk := a.breakCmd(h.Run)
		switch {
		case operations.HolderDead(h) && a.sim:
			fmt.Fprintf(w, "Run %s crashed: its process (pid %d) is gone from this host, and its simulated sites ended with it, so there is nothing to continue. Break its locks with: %s\n", h.Run, h.PID, brk)
		case operations.HolderDead(h):
			fmt.Fprintf(w, "Run %s crashed: its process (pid %d) is gone from this host, and its locks remain. Continue it with: %s\nor, to abandon it (after checking what it did), break its locks with: %s\n", h.Run, h.PID, cont, brk)
		case h.Host == host:
			fmt.Fprintf(w, "Run %s is still running (pid %d on this host): wait for it to end. If it dies, continue it with: %s\nor break its locks with: %s\n", h.Run, h.PID, cont, brk)
		default:
			fmt.Fprintf(w, "Run %s runs on host %s (pid %d): wait for it to end. If it is dead (its process is gone), continue it with: %s (on %s, with its state directory)\nor break its locks with: %s\n", h.Run, h.Host, h.PID, cont, h.Host, brk)
		}
	}
	if corrupt {
		fmt.Fprintf(w, "A lock without a readable holder is left by a run that crashed while taking it (before it changed anything). If no other run is starting, break it with -force-unlock and any run id: %s\n", a.breakCmd(operations.NewRunID()))
	}
}

// precheckLocks runs before a run is compiled: it breaks the locks
// -force-unlock names, then refuses, naming the holder, when another run
// holds a lock of groups. It reports whether the run may go on.
func (c *cli) precheckLocks(ctx context.Context, cp *operations.Compiled, stateDir string, groups map[string]string, runID, forceUnlock string, a lockAdvice, open bool) bool {
	if forceUnlock != "" {
		c.reportForceUnlock(ctx, cp, stateDir, groups, forceUnlock)
	}
	if held := operations.HeldLocks(ctx, cp.Target, stateDir, groups, runID, open); len(held) > 0 {
		refuseLocked(c.stderr, cp.Plan.Redact, a.verb, held, a)
		return false
	}
	return true
}

// reportForceUnlock breaks locks (see forceUnlock) and says which.
func (c *cli) reportForceUnlock(ctx context.Context, cp *operations.Compiled, stateDir string, groups map[string]string, id string) {
	broken, corrupt := operations.ForceUnlock(ctx, cp.Target, stateDir, groups, id)
	if len(broken) == 0 {
		fmt.Fprintf(c.stdout, "No lock of run %s to break.\n", id)
	} else {
		fmt.Fprintf(c.stdout, "Broke the locks of run %s: %s.\n", id, strings.Join(broken, ", "))
	}
	for _, s := range corrupt {
		fmt.Fprintf(c.stdout, "Broke the corrupt %s.\n", cp.Plan.Redact(s))
	}
}

// refuseLockError shows why the locks of a run could not be taken.
func (c *cli) refuseLockError(verb string, cp *operations.Compiled, err error, a lockAdvice) {
	var l *operations.LockedError
	if errors.As(err, &l) {
		refuseLocked(c.stderr, cp.Prog.Redact, verb, l.Held, a)
		return
	}
	fmt.Fprintf(c.stderr, "drplan %s: cannot take the group locks: %v\n", verb, cp.Prog.Redact(err.Error()))
	var pe *fs.PathError
	if errors.As(err, &pe) {
		// The state directory is not usable: nothing was changed.
		fmt.Fprintf(c.stderr, "Nothing was changed. The state directory (locks, runs, reports) must be a directory this user can write: give one with -state-dir DIR or DRPLAN_HOME.\n")
	}
}
