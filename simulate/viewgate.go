package simulate

import (
	"bytes"
	"io"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// viewGate keeps a client session's ModifyListView and ResetListView
// calls from running while a WaitForUpdatesEx of the same session, on a
// collector whose filter follows a ListView, is being served by vcsim's
// own wait (a world not on a virtual clock: `drplan sim serve`).
//
// Upstream defect (govmomi v0.56.0, simulator): the two calls take the
// locks of the ListView and of the PropertyFilter in opposite orders.
// ListView.ModifyListView and ResetListView (view_manager.go) run with
// the view locked (the handler lock of simulator.go) and call
// ListView.update, whose ctx.Update reaches PropertyFilter.UpdateObject
// (property_filter.go), which locks the filter. PropertyCollector
// .WaitForUpdatesEx (property_collector.go) calls PropertyFilter.update,
// which locks the filter and collects, and collect locks each object it
// traverses, the ListView among them. When the two meet, both block,
// and every later call on the view or the collector with them
// (TestListViewDeadlock shows it on bare vcsim in a few dozen calls).
// vCenter has no such problem, and the provider's task waiting makes
// exactly these calls, as it should.
//
// So the site's front lets a modification wait until the session's
// waits on such collectors have returned (a wait returns as soon as
// anything changes; after viewGrace it is cancelled, which its caller
// takes as a wait to make again) and holds new such waits until the
// modification is done. Waits on other collectors (readiness waits) are
// not touched.
type viewGate struct {
	mu       sync.Mutex
	sessions map[string]*sessionGate
}

type sessionGate struct {
	// views are the session's collectors with a filter that follows a
	// ListView (learnt from CreateFilter); only waits on those are gated.
	views     map[string]bool
	waits     map[string]int // WaitForUpdatesEx calls on them being served, by collector
	idle      chan struct{}  // closed when no wait is served
	modifying bool
	free      chan struct{} // closed when the modification is done
}

// viewGrace is how long a ModifyListView waits for the session's wait to
// return on its own before cancelling it.
const viewGrace = 2 * time.Millisecond

var (
	waitCall      = []byte("<WaitForUpdatesEx")
	modifyCall    = regexp.MustCompile(`<(Modify|Reset)ListView`)
	filterCall    = []byte("<CreateFilter")
	listView      = []byte(`type="ListView"`)
	collectorThis = regexp.MustCompile(`<_this type="PropertyCollector">([^<]+)</_this>`)
)

// serve serves a call of the session, gated when it is one of the two.
// It reports false when the call is neither, for the caller to serve.
func (g *viewGate) serve(w http.ResponseWriter, r *http.Request, body []byte, inner http.Handler) bool {
	isWait, isModify := bytes.Contains(body, waitCall), modifyCall.Match(body)
	isViewFilter := bytes.Contains(body, filterCall) && bytes.Contains(body, listView)
	if !isWait && !isModify && !isViewFilter {
		return false
	}
	collector := ""
	if m := collectorThis.FindSubmatch(body); m != nil {
		collector = string(m[1])
	}
	key := ""
	if c, err := r.Cookie("vmware_soap_session"); err == nil {
		key = c.Value
	}
	g.mu.Lock()
	if g.sessions == nil {
		g.sessions = map[string]*sessionGate{}
	}
	sg := g.sessions[key]
	if sg == nil {
		sg = &sessionGate{views: map[string]bool{}, waits: map[string]int{}}
		g.sessions[key] = sg
	}
	if isViewFilter {
		sg.views[collector] = true
		g.mu.Unlock()
		return false
	}
	if isWait && !sg.views[collector] {
		g.mu.Unlock()
		return false
	}
	for sg.modifying {
		free := sg.free
		g.mu.Unlock()
		<-free
		g.mu.Lock()
	}
	if isWait {
		sg.waits[collector]++
		if sg.idle == nil {
			sg.idle = make(chan struct{})
		}
		g.mu.Unlock()
		defer func() {
			g.mu.Lock()
			if sg.waits[collector]--; sg.waits[collector] == 0 {
				delete(sg.waits, collector)
			}
			if len(sg.waits) == 0 {
				close(sg.idle)
				sg.idle = nil
			}
			g.mu.Unlock()
		}()
		inner.ServeHTTP(w, r)
		return true
	}
	sg.modifying, sg.free = true, make(chan struct{})
	idle, waiting := sg.idle, slices.Collect(maps.Keys(sg.waits))
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		sg.modifying = false
		close(sg.free)
		g.mu.Unlock()
	}()
	if idle != nil {
		select {
		case <-idle:
		case <-time.After(viewGrace):
			for _, c := range waiting {
				cancelWait(r, c, inner)
			}
			<-idle
		}
	}
	inner.ServeHTTP(w, r)
	return true
}

// cancelWait calls CancelWaitForUpdates on a collector of the session
// that made r.
func cancelWait(r *http.Request, collector string, inner http.Handler) {
	body := `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>` +
		`<CancelWaitForUpdates xmlns="urn:vim25"><_this type="PropertyCollector">` + collector + `</_this></CancelWaitForUpdates></soapenv:Body></soapenv:Envelope>`
	req := r.Clone(r.Context())
	req.Body = io.NopCloser(strings.NewReader(body))
	req.ContentLength = int64(len(body))
	inner.ServeHTTP(&recorder{header: http.Header{}, status: http.StatusOK}, req)
}
