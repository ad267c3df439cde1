package vsphere

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"
)

// ensureFolder returns the VM folder at a path under the vm folder,
// creating what is missing. The last folder of the path is the run's own
// (drplan-drill/RUNID): when ensureFolder creates it, it marks it with the
// run id. The folders above it are shared between runs and stay
// unmarked, whoever creates them; a folder that exists already is never
// marked.
func (s *site) ensureFolder(ctx context.Context, p, runID string) (types.ManagedObjectReference, error) {
	p = strings.Trim(p, "/")
	if p == "" {
		return s.vmFolder, nil
	}
	if ref, ok := s.knownFolder(p); ok {
		return ref, nil
	}
	// One caller at a time finds or makes folders: parallel clones into a
	// new folder would otherwise all race to create it.
	s.folderMu.Lock()
	defer s.folderMu.Unlock()
	return s.makeFolder(ctx, p, runID)
}

// makeFolder finds or makes the folder at p, marking it with runID when
// it makes it. It tries to create the folder in its parent straight
// away, which for a new run's folder in an existing drill folder costs a
// lookup of the parent, the creation and the mark. The caller holds
// folderMu.
func (s *site) makeFolder(ctx context.Context, p, runID string) (types.ManagedObjectReference, error) {
	if ref, ok := s.knownFolder(p); ok {
		return ref, nil
	}
	parent := s.vmFolder
	dir, name := path.Split(p)
	if dir = strings.Trim(dir, "/"); dir != "" {
		var ok bool
		if parent, ok = s.knownFolder(dir); !ok {
			ref, err := s.lookup(ctx, dir)
			switch {
			case err != nil:
				return ref, err
			case ref.Value == "":
				if ref, err = s.makeFolder(ctx, dir, ""); err != nil {
					return ref, err
				}
			case ref.Type != "Folder":
				return types.ManagedObjectReference{}, fmt.Errorf("%s is a %s, not a folder", dir, ref.Type)
			}
			s.rememberFolder(dir, ref)
			parent = ref
		}
	}
	var child types.ManagedObjectReference
	f, err := object.NewFolder(s.vc, parent).CreateFolder(ctx, name)
	if err == nil {
		child = f.Reference()
		if runID != "" {
			if err := s.mark(ctx, child, runID); err != nil {
				if t, derr := f.Destroy(context.WithoutCancel(ctx)); derr == nil {
					s.wait(context.WithoutCancel(ctx), t)
				}
				return types.ManagedObjectReference{}, fmt.Errorf("marking folder %s: %w", p, err)
			}
		}
	} else {
		// It exists (DuplicateName), or we may not create folders here but
		// it may exist all the same.
		found, ferr := object.NewSearchIndex(s.vc).FindChild(ctx, object.NewFolder(s.vc, parent), name)
		switch {
		case ferr != nil:
			return types.ManagedObjectReference{}, ferr
		case found == nil && isFault(err, &types.DuplicateName{}):
			return types.ManagedObjectReference{}, fmt.Errorf("folder %s exists and does not", p)
		case found == nil:
			return types.ManagedObjectReference{}, fmt.Errorf("creating folder %s: %w", p, err)
		}
		child = found.Reference()
	}
	if child.Type != "Folder" {
		return types.ManagedObjectReference{}, fmt.Errorf("%s is a %s, not a folder", p, child.Type)
	}
	s.rememberFolder(p, child)
	return child, nil
}

func (s *site) knownFolder(p string) (types.ManagedObjectReference, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ref, ok := s.folderRefs[p]
	return ref, ok
}

func (s *site) rememberFolder(p string, ref types.ManagedObjectReference) {
	s.mu.Lock()
	s.folderRefs[p] = ref
	s.mu.Unlock()
}

// forgetFolders drops the known folders, after one turned out to be gone.
func (s *site) forgetFolders() {
	s.mu.Lock()
	clear(s.folderRefs)
	s.mu.Unlock()
}
