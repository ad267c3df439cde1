package vsphere

import (
	"context"
	"net/http"
	"slices"
	"sync"

	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vapi/tags"
)

// tagCache holds the site's vAPI session and the names of the tags and
// categories it has seen: tags change rarely, so an inventory costs two
// vAPI calls (list the tags, list what each tag is attached to) once the
// names are known.
type tagCache struct {
	mu         sync.Mutex
	rc         *rest.Client
	names      map[string]string // tag ID -> CATEGORY:TAG
	categories map[string]string // category ID -> name
}

// vmTags returns the tags of every tagged VM, as CATEGORY:TAG sorted, by
// managed object ID.
func (s *site) vmTags(ctx context.Context) (map[string][]string, error) {
	c := &s.tags
	c.mu.Lock()
	defer c.mu.Unlock()
	var out map[string][]string
	err := s.withREST(ctx, func(m *tags.Manager) error {
		ids, err := m.ListTags(ctx)
		if err != nil {
			return err
		}
		if c.names == nil {
			c.names, c.categories = map[string]string{}, map[string]string{}
		}
		for _, id := range ids {
			if _, ok := c.names[id]; ok {
				continue
			}
			t, err := m.GetTag(ctx, id)
			if err != nil {
				return err
			}
			cat, ok := c.categories[t.CategoryID]
			if !ok {
				ct, err := m.GetCategory(ctx, t.CategoryID)
				if err != nil {
					return err
				}
				cat = ct.Name
				c.categories[t.CategoryID] = cat
			}
			c.names[id] = cat + ":" + t.Name
		}
		out = map[string][]string{}
		if len(ids) == 0 {
			return nil
		}
		attached, err := m.ListAttachedObjectsOnTags(ctx, ids)
		if err != nil {
			return err
		}
		for _, a := range attached {
			name, ok := c.names[a.TagID]
			if !ok {
				continue
			}
			for _, obj := range a.ObjectIDs {
				if ref := obj.Reference(); ref.Type == "VirtualMachine" {
					out[ref.Value] = append(out[ref.Value], name)
				}
			}
		}
		for _, list := range out {
			slices.Sort(list)
		}
		return nil
	})
	return out, err
}

// withREST runs f with a logged-in tag manager, logging in (again) once
// when the vAPI session is missing or expired. The caller holds c.mu.
func (s *site) withREST(ctx context.Context, f func(*tags.Manager) error) error {
	c := &s.tags
	if c.rc == nil {
		rc := rest.NewClient(s.vc)
		rc.Transport = &countingTransport{next: rc.Transport, calls: &s.calls}
		if err := rc.Login(ctx, s.user); err != nil {
			return err
		}
		c.rc = rc
	}
	err := f(tags.NewManager(c.rc))
	if err == nil || !rest.IsStatusError(err, http.StatusUnauthorized) {
		return err
	}
	if err := c.rc.Login(ctx, s.user); err != nil {
		return err
	}
	return f(tags.NewManager(c.rc))
}

// logout ends the vAPI session, if there is one.
func (c *tagCache) logout(ctx context.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rc != nil {
		c.rc.Logout(ctx)
		c.rc = nil
	}
}
