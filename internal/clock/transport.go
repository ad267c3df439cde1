package clock

import "net/http"

// WorkHeader is the HTTP header in which a call to a simulated site
// carries its caller's Work (see WorkByID).
const WorkHeader = "X-Drplan-Work"

// Transport returns base for any clock but a Virtual one; for a Virtual
// clock it returns a RoundTripper that sends each request's Work (from
// its context, or a Work of the call's own when the context has none)
// in WorkHeader, so that the simulated site may pause it while it holds
// the call, and that resumes it once the answer has come.
func Transport(c Clock, base http.RoundTripper) http.RoundTripper {
	v, ok := c.(*Virtual)
	if !ok {
		return base
	}
	return &transport{v: v, base: base}
}

type transport struct {
	v    *Virtual
	base http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	w := t.v.workOf(req.Context())
	if w == nil {
		w = t.v.NewWork()
		defer w.Done()
	}
	req = req.Clone(req.Context())
	req.Header.Set(WorkHeader, w.ID())
	resp, err := t.base.RoundTrip(req)
	w.Resume()
	return resp, err
}
