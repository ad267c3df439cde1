package command

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/drplan/drplan/providers"
)

// lockTTL is how long a lock holds without its run: an expired lock is
// broken by the next run that wants it.
const lockTTL = 24 * time.Hour

// locks are the protection-group locks a run holds: a file in the state
// directory's locks folder for each group (seen by every drplan process
// on this machine using the same state) and a lock at the group's
// recovery site (seen by every drplan process anywhere; see the
// provider's Lock). A lock the same run holds is taken again, so a
// resumed run gets back in.
type locks struct {
	dir    string
	holder providers.LockHolder
	files  []string
	sites  []siteLock
	warn   []string // sites whose lock could not be taken (unreachable)
}

type siteLock struct {
	site providers.Site
	name string
}

// lockGroups takes the locks of groups (name → recovery site) for the
// run; on a refusal it releases what it took and says who holds the lock.
func (c *cli) lockGroups(ctx context.Context, t *target, stateDir string, groups map[string]string, runID, mode string) (*locks, error) {
	host, _ := os.Hostname()
	now := time.Now().UTC()
	l := &locks{dir: filepath.Join(stateDir, "locks"),
		holder: providers.LockHolder{Run: runID, Mode: mode, Host: host, PID: os.Getpid(), Since: now, Expires: now.Add(lockTTL)}}
	if err := os.MkdirAll(l.dir, 0o755); err != nil {
		return nil, err
	}
	names := sortedNames(groups)
	for _, g := range names {
		if err := l.file(g); err != nil {
			l.release(ctx)
			return nil, err
		}
	}
	for _, g := range names {
		site, err := t.site(ctx, groups[g], false)
		if err != nil {
			l.warn = append(l.warn, fmt.Sprintf("the lock of group %s at site %s was not taken: the site is unreachable (%v); the local lock holds", g, groups[g], err))
			continue
		}
		if err := site.Lock(ctx, g, l.holder); err != nil {
			l.release(ctx)
			return nil, err
		}
		l.sites = append(l.sites, siteLock{site, g})
	}
	return l, nil
}

// file takes the local lock of a group.
func (l *locks) file(group string) error {
	name := filepath.Join(l.dir, group+".lock")
	b, _ := json.Marshal(l.holder)
	for attempt := 0; attempt < 3; attempt++ {
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
		cur, ok := readLockFile(name)
		switch {
		case !ok:
			continue // being written, or just removed
		case cur.Run == l.holder.Run:
			if err := writeFileAtomic(name, b, 0o644); err != nil {
				return err
			}
			l.files = append(l.files, name)
			return nil
		case time.Now().After(cur.Expires):
			os.Remove(name)
			continue
		}
		return &providers.LockedError{Lock: group, Where: "local file " + name, Holder: cur}
	}
	return fmt.Errorf("cannot take the lock file %s", name)
}

func readLockFile(name string) (providers.LockHolder, bool) {
	var h providers.LockHolder
	b, err := os.ReadFile(name)
	if err != nil || json.Unmarshal(b, &h) != nil || h.Run == "" {
		return h, false
	}
	return h, true
}

// release gives every lock back.
func (l *locks) release(ctx context.Context) {
	if l == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	for _, s := range l.sites {
		s.site.Unlock(ctx, s.name, l.holder.Run)
	}
	for _, f := range l.files {
		if cur, ok := readLockFile(f); !ok || cur.Run == l.holder.Run {
			os.Remove(f)
		}
	}
	l.sites, l.files = nil, nil
}

// forceUnlock breaks the locks of groups that run id holds, locally and
// at the sites, and says which it broke.
func (c *cli) forceUnlock(ctx context.Context, t *target, stateDir string, groups map[string]string, id string) []string {
	var broken []string
	for _, g := range sortedNames(groups) {
		name := filepath.Join(stateDir, "locks", g+".lock")
		if cur, ok := readLockFile(name); ok && cur.Run == id {
			if os.Remove(name) == nil {
				broken = append(broken, "group "+g+" (local)")
			}
		}
		site, err := t.site(ctx, groups[g], false)
		if err != nil {
			continue
		}
		if released, err := site.Unlock(ctx, g, id); err == nil && released {
			broken = append(broken, "group "+g+" at site "+groups[g])
		}
	}
	return broken
}
