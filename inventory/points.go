package inventory

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Recovery-point requests, as -point takes them (besides an RFC 3339
// time).
const (
	PointLatest           = "latest"
	PointLatestConsistent = "latest-consistent"
)

// AtOrBefore returns the newest point at or before t: t itself inside a
// journal's window, else the newest discrete point not after t (or the
// journal's latest when t is past it). ok is false when every point is
// after t.
func (p RecoveryPoints) AtOrBefore(t time.Time) (time.Time, bool) {
	if p.Continuous {
		switch l := p.Latest(); {
		case l.IsZero() || t.Before(p.JournalStart):
			return time.Time{}, false
		case t.After(l):
			return l, true
		}
		return t, true
	}
	for i := len(p.Times) - 1; i >= 0; i-- {
		if !p.Times[i].After(t) {
			return p.Times[i], true
		}
	}
	return time.Time{}, false
}

// ParsePoint checks a recovery-point request: latest, latest-consistent
// or an RFC 3339 time (returned).
func ParsePoint(request string) (time.Time, error) {
	switch request {
	case "", PointLatest, PointLatestConsistent:
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, request)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a recovery point; use latest, latest-consistent or an RFC 3339 time such as 2026-11-21T10:15:00Z", request)
	}
	return t, nil
}

// ChoosePoints resolves a recovery-point request for the replicas of one
// protection group, one point per replica in order. consistent says the
// group must be recovered from one point in time (consistency = "group",
// or a request of latest-consistent): every replica then gets the same
// point, the newest all of them hold that the request allows. Otherwise
// each replica gets its own: its latest, or its newest at or before the
// requested time (the time itself inside a CDP journal's window).
//
// The compiler (drplan plan) and the runner both choose with it, so that
// a point plan accepts is the point the run recovers.
func ChoosePoints(request string, consistent bool, points []RecoveryPoints) ([]time.Time, error) {
	at, err := ParsePoint(request)
	if err != nil {
		return nil, err
	}
	if len(points) == 0 {
		return nil, nil
	}
	for _, p := range points {
		if p.Latest().IsZero() {
			return nil, errors.New("a replica holds no recovery point yet")
		}
	}
	consistent = consistent || request == PointLatestConsistent
	out := make([]time.Time, len(points))
	if !consistent {
		for i, p := range points {
			if at.IsZero() {
				out[i] = p.Latest()
				continue
			}
			t, ok := p.AtOrBefore(at)
			if !ok {
				return nil, fmt.Errorf("no point at or before %s (the oldest is %s)", at.UTC().Format(time.RFC3339Nano), oldest(p).UTC().Format(time.RFC3339Nano))
			}
			out[i] = t
		}
		return out, nil
	}
	// The newest time every replica holds, not after the request.
	limit := at
	if limit.IsZero() {
		limit = points[0].Latest()
		for _, p := range points[1:] {
			if l := p.Latest(); l.Before(limit) {
				limit = l
			}
		}
	}
	candidates := []time.Time{limit}
	for _, p := range points {
		if !p.Continuous {
			candidates = append(candidates, p.Times...)
		} else {
			candidates = append(candidates, p.Latest())
		}
	}
	slices.SortFunc(candidates, func(a, b time.Time) int { return b.Compare(a) })
	for _, c := range candidates {
		if c.After(limit) {
			continue
		}
		all := true
		for _, p := range points {
			all = all && p.Has(c)
		}
		if all {
			for i := range out {
				out[i] = c
			}
			return out, nil
		}
	}
	if !at.IsZero() {
		return nil, fmt.Errorf("the replicas have no point in common at or before %s", at.UTC().Format(time.RFC3339Nano))
	}
	return nil, errors.New("the replicas have no point in common")
}

// Span returns the oldest and newest of chosen points (zero times for
// none): a group's one point twice, or the range of independently
// recovered VMs' points.
func Span(ts []time.Time) (oldest, newest time.Time) {
	for i, t := range ts {
		if i == 0 || t.Before(oldest) {
			oldest = t
		}
		if i == 0 || t.After(newest) {
			newest = t
		}
	}
	return oldest, newest
}

func oldest(p RecoveryPoints) time.Time {
	if p.Continuous {
		return p.JournalStart
	}
	if len(p.Times) == 0 {
		return time.Time{}
	}
	return p.Times[0]
}
