package operations

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/drplan/drplan/internal/fsutil"
	"github.com/drplan/drplan/plans"
	"github.com/drplan/drplan/providers"
)

// lockTTL is how long a lock holds without its run: an expired lock is
// broken by the next run that wants it.
const lockTTL = 24 * time.Hour

// lockGrace is how old a local lock file without a readable holder must
// be before it counts as left by a crash: a run writes its holder right
// after creating the file, so an older empty file is a run that died
// while taking it (and had done nothing yet).
const lockGrace = 30 * time.Second

// Locks are the protection-group locks a run holds: a file in the state
// directory's locks folder for each group (seen by every drplan process
// on this machine using the same state) and a lock at the group's
// recovery site (seen by every drplan process anywhere; see the
// provider's Lock). A lock the same run holds is taken again, so a
// resumed run gets back in.
type Locks struct {
	dir    string
	holder providers.LockHolder
	files  []string
	sites  []siteLock
	// Warn says which lock files without a readable holder were
	// broken.
	Warn []string
}

type siteLock struct {
	site providers.Site
	name string
}

// HeldLock is a lock that keeps a run out: another run holds it, or it
// has no readable holder (Holder.Run is "").
type HeldLock struct {
	Group  string
	Where  string // "local file …", "site west"
	Holder providers.LockHolder
	// For a lock without a holder: what is wrong with it, its age when
	// known (a local file's), and what that means.
	Corrupt string
	Age     time.Duration
	Why     string
}

func (h *HeldLock) Error() string {
	switch {
	case h.Holder.Run != "":
		return fmt.Sprintf("lock %s at %s is held by %s", h.Group, h.Where, h.Holder)
	case h.Age > 0:
		return fmt.Sprintf("lock %s at %s %s and %s old: %s", h.Group, h.Where, h.Corrupt, age(h.Age), h.Why)
	}
	return fmt.Sprintf("lock %s at %s %s: %s", h.Group, h.Where, h.Corrupt, h.Why)
}

// youngLock is what a local lock file without a holder, younger than
// lockGrace, means.
const youngLock = "another run is taking it right now, or one crashed while taking it"

// LockedError is the error of a run kept out by locks.
type LockedError struct{ Held []HeldLock }

func (l *LockedError) Error() string {
	var s []string
	for _, h := range l.Held {
		s = append(s, h.Error())
	}
	return strings.Join(s, "; ")
}

func age(d time.Duration) string {
	switch {
	case d >= time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	case d >= time.Minute:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	}
	return fmt.Sprintf("%ds", int(d.Seconds()))
}

// PlanGroups are the protection groups (name → recovery site) of the
// recovery plan a run of p with -recovery-plan rp runs, as the compiler
// picks it; nil when it cannot tell (the compiler then says why).
func PlanGroups(p *plans.Plan, rp string) map[string]string {
	pick := p.RecoveryPlan(rp)
	if pick == nil {
		return nil
	}
	groups := map[string]string{}
	for _, g := range p.ProtectionGroups {
		if slices.Contains(pick.ProtectionGroups, g.Name) {
			groups[g.Name] = g.RecoverySite
		}
	}
	return groups
}

// Groups are the protection groups (name → recovery site) of the
// compiled program.
func (cp *Compiled) Groups() map[string]string {
	groups := map[string]string{}
	for _, g := range cp.Plan.ProtectionGroups {
		if cp.Prog.Group(g.Name) != nil {
			groups[g.Name] = g.RecoverySite
		}
	}
	return groups
}

// lockFile is what a local lock file holds.
type lockFile struct {
	exists bool
	holder providers.LockHolder
	// For a file without a readable holder: what is wrong with it and
	// how old it is.
	corrupt string
	age     time.Duration
	info    os.FileInfo
}

func inspectLockFile(name string) lockFile {
	info, err := os.Stat(name)
	if err != nil {
		return lockFile{}
	}
	lf := lockFile{exists: true, info: info, age: time.Since(info.ModTime())}
	b, err := os.ReadFile(name)
	switch {
	case err != nil:
		lf.corrupt = fmt.Sprintf("cannot be read (%v)", err)
	case len(strings.TrimSpace(string(b))) == 0:
		lf.corrupt = "is empty"
	case json.Unmarshal(b, &lf.holder) != nil || lf.holder.Run == "":
		lf.holder, lf.corrupt = providers.LockHolder{}, "holds no readable holder"
	}
	return lf
}

// ReadLockFile reads the holder of a local lock file.
func ReadLockFile(name string) (providers.LockHolder, bool) {
	lf := inspectLockFile(name)
	return lf.holder, lf.exists && lf.corrupt == ""
}

// lockDir is the folder of the local lock files in the state directory.
func lockDir(stateDir string) string { return filepath.Join(stateDir, "locks") }

// lockFileName is the local lock file of group in dir (lockDir).
func lockFileName(dir, group string) string { return filepath.Join(dir, group+".lock") }

// LockGroups takes the locks of groups (name → recovery site) for run
// runID of mode; on a refusal it releases what it took and returns a
// *LockedError that says who holds the lock. The caller releases them.
func LockGroups(ctx context.Context, t *Target, stateDir string, groups map[string]string, runID, mode string) (*Locks, error) {
	host, _ := os.Hostname()
	now := time.Now().UTC()
	l := &Locks{dir: lockDir(stateDir),
		holder: providers.LockHolder{Run: runID, Mode: mode, Host: host, PID: os.Getpid(), Since: now, Expires: now.Add(lockTTL)}}
	if err := os.MkdirAll(l.dir, 0o755); err != nil {
		return nil, err
	}
	names := slices.Sorted(maps.Keys(groups))
	for _, g := range names {
		if err := l.file(g); err != nil {
			l.Release(ctx)
			return nil, err
		}
	}
	for _, g := range names {
		// The recovery site's lock is what keeps a run from another
		// machine out: a run that cannot take it does not start (every
		// mode needs the recovery site anyway).
		site, err := t.Site(ctx, groups[g], false)
		if err != nil {
			l.Release(ctx)
			return nil, fmt.Errorf("the lock of group %s cannot be taken at site %s, which does not answer: %w; nothing was changed", g, groups[g], err)
		}
		if err := site.Lock(ctx, g, l.holder); err != nil {
			l.Release(ctx)
			var le *providers.LockedError
			if errors.As(err, &le) {
				return nil, &LockedError{[]HeldLock{siteHeld(g, le.Where, le.Holder)}}
			}
			return nil, err
		}
		l.sites = append(l.sites, siteLock{site, g})
	}
	return l, nil
}

// siteHeld describes a lock at a site held by holder.
func siteHeld(group, where string, holder providers.LockHolder) HeldLock {
	h := HeldLock{Group: group, Where: where, Holder: holder}
	if holder.Run == "" {
		h.Corrupt = "has no readable holder (its drplan.lock attribute is empty or unreadable)"
		h.Why = "a run crashed while taking it, or one is taking it right now"
	}
	return h
}

// file takes the local lock of a group. A file without a readable holder
// older than lockGrace is broken, with a warning.
func (l *Locks) file(group string) error {
	name := lockFileName(l.dir, group)
	b, _ := json.Marshal(l.holder)
	var young lockFile
	for attempt := 0; attempt < 5; attempt++ {
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			_, err = f.Write(b)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				os.Remove(name)
				return err
			}
			l.files = append(l.files, name)
			return nil
		}
		if !errors.Is(err, os.ErrExist) {
			return err
		}
		cur := inspectLockFile(name)
		switch {
		case !cur.exists:
			continue // just removed
		case cur.corrupt != "" && cur.age < lockGrace:
			young = cur // being written: look again in a moment
			time.Sleep(100 * time.Millisecond)
			continue
		case cur.corrupt != "":
			if removeSame(name, cur.info) {
				l.Warn = append(l.Warn, fmt.Sprintf("lock file %s %s and %s old: a run crashed while taking it (before it changed anything); broke it", name, cur.corrupt, age(cur.age)))
			}
			continue
		case cur.holder.Run == l.holder.Run:
			if err := fsutil.WriteFile(name, b, 0o644); err != nil {
				return err
			}
			l.files = append(l.files, name)
			return nil
		case time.Now().After(cur.holder.Expires):
			removeSame(name, cur.info)
			continue
		}
		return &LockedError{[]HeldLock{{Group: group, Where: "local file " + name, Holder: cur.holder}}}
	}
	if young.exists {
		return &LockedError{[]HeldLock{{Group: group, Where: "local file " + name, Corrupt: young.corrupt, Age: max(young.age, time.Second), Why: youngLock}}}
	}
	return fmt.Errorf("cannot take the lock file %s", name)
}

// removeSame removes the file name if it is still the file info
// describes.
func removeSame(name string, info os.FileInfo) bool {
	if cur, err := os.Stat(name); err != nil || !os.SameFile(cur, info) {
		return false
	}
	return os.Remove(name) == nil
}

// Release gives every lock back.
func (l *Locks) Release(ctx context.Context) {
	if l == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	for _, s := range l.sites {
		s.site.Unlock(ctx, s.name, l.holder.Run)
	}
	for _, f := range l.files {
		if cur, ok := ReadLockFile(f); !ok || cur.Run == l.holder.Run {
			os.Remove(f)
		}
	}
	l.sites, l.files = nil, nil
}

// HeldLocks reads, without taking them, the locks of groups that keep
// run runID out: local files held by another run, or without a holder
// and younger than lockGrace (older ones are broken when the run takes
// its locks), and the locks at the recovery sites. A site is read
// through the session the target has open, or, when open is set, one it
// opens (the one the run then locks and runs with); a site that cannot
// be read is left to the taking of the locks.
func HeldLocks(ctx context.Context, t *Target, stateDir string, groups map[string]string, runID string, open bool) []HeldLock {
	var held []HeldLock
	now := time.Now()
	for _, g := range slices.Sorted(maps.Keys(groups)) {
		name := lockFileName(lockDir(stateDir), g)
		switch cur := inspectLockFile(name); {
		case !cur.exists:
		case cur.corrupt != "":
			if cur.age < lockGrace {
				held = append(held, HeldLock{Group: g, Where: "local file " + name, Corrupt: cur.corrupt, Age: max(cur.age, time.Second), Why: youngLock})
			}
		case cur.holder.Run != runID && now.Before(cur.holder.Expires):
			held = append(held, HeldLock{Group: g, Where: "local file " + name, Holder: cur.holder})
		}
	}
	for _, g := range slices.Sorted(maps.Keys(groups)) {
		site := t.cached(groups[g])
		if site == nil && open {
			site, _ = t.Site(ctx, groups[g], false)
		}
		if site == nil {
			continue
		}
		h, found, err := site.ReadLock(ctx, g)
		if err != nil || !found {
			continue
		}
		if h.Run == "" || h.Run != runID && (h.Expires.IsZero() || now.Before(h.Expires)) {
			held = append(held, siteHeld(g, "site "+groups[g], h))
		}
	}
	return held
}

// ForceUnlock breaks the locks of groups that run id holds, locally and
// at the sites, and every lock of groups without a readable holder
// (whatever id), and says which it broke.
func ForceUnlock(ctx context.Context, t *Target, stateDir string, groups map[string]string, id string) (broken, corrupt []string) {
	for _, g := range slices.Sorted(maps.Keys(groups)) {
		name := lockFileName(lockDir(stateDir), g)
		switch cur := inspectLockFile(name); {
		case !cur.exists:
		case cur.corrupt != "":
			if removeSame(name, cur.info) {
				corrupt = append(corrupt, fmt.Sprintf("lock file %s (it %s, %s old)", name, cur.corrupt, age(max(cur.age, time.Second))))
			}
		case cur.holder.Run == id:
			if os.Remove(name) == nil {
				broken = append(broken, "group "+g+" (local)")
			}
		}
		site, err := t.Site(ctx, groups[g], false)
		if err != nil {
			continue
		}
		h, found, err := site.ReadLock(ctx, g)
		if err != nil || !found || h.Run != "" && h.Run != id {
			continue
		}
		if released, err := site.Unlock(ctx, g, id); err == nil && released {
			if h.Run == "" {
				corrupt = append(corrupt, fmt.Sprintf("the lock of group %s at site %s (it had no readable holder)", g, groups[g]))
			} else {
				broken = append(broken, "group "+g+" at site "+groups[g])
			}
		}
	}
	return broken, corrupt
}

// HolderDead reports whether a lock's holder is a process of this host
// that is gone.
func HolderDead(h providers.LockHolder) bool {
	host, _ := os.Hostname()
	return h.Host == host && h.PID > 0 && errors.Is(syscall.Kill(h.PID, 0), syscall.ESRCH)
}
