package inventory

import (
	"testing"
	"time"
)

func TestChoosePoints(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	disc := func(ms ...int) RecoveryPoints {
		var p RecoveryPoints
		for _, m := range ms {
			p.Times = append(p.Times, at(m))
		}
		return p
	}
	cdp := func(start, latest int) RecoveryPoints {
		return RecoveryPoints{Continuous: true, JournalStart: at(start), Times: []time.Time{at(latest)}}
	}
	for _, tc := range []struct {
		name       string
		request    string
		consistent bool
		points     []RecoveryPoints
		want       []int // minutes; nil: an error
	}{
		{"latest per VM", "latest", false, []RecoveryPoints{disc(0, 10), disc(5, 15)}, []int{10, 15}},
		{"latest of a group is one point", "latest", true, []RecoveryPoints{disc(0, 10, 20), disc(0, 10, 20, 30)}, []int{20, 20}},
		{"a group with no common point", "latest", true, []RecoveryPoints{disc(0, 10), disc(5, 15)}, nil},
		{"latest-consistent", "latest-consistent", false, []RecoveryPoints{disc(0, 10, 20), disc(10, 25)}, []int{10, 10}},
		{"latest-consistent on CDP", "latest-consistent", false, []RecoveryPoints{cdp(0, 30), cdp(5, 28)}, []int{28, 28}},
		{"time inside a CDP journal is exact", "2026-12-05T10:07:30Z", true, []RecoveryPoints{cdp(0, 30), cdp(5, 28)}, nil},
		{"time: nearest at or before, per VM", "2026-12-05T10:12:00Z", false, []RecoveryPoints{disc(0, 10, 20), disc(5, 15)}, []int{10, 5}},
		{"time before every point", "2026-12-05T09:00:00Z", false, []RecoveryPoints{disc(0, 10)}, nil},
		{"exact discrete point", "2026-12-05T10:10:00Z", true, []RecoveryPoints{disc(0, 10, 20), disc(0, 10, 20)}, []int{10, 10}},
		{"not a point", "yesterday", false, []RecoveryPoints{disc(0)}, nil},
		{"no point yet", "latest", false, []RecoveryPoints{{}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ChoosePoints(tc.request, tc.consistent, tc.points)
			if tc.name == "time inside a CDP journal is exact" {
				// 10:07:30 lies in both journals: recovered exactly there.
				if err != nil || len(got) != 2 || !got[0].Equal(at(7).Add(30*time.Second)) || !got[1].Equal(got[0]) {
					t.Fatalf("got %v, %v; want 10:07:30 for both", got, err)
				}
				return
			}
			if tc.want == nil {
				if err == nil {
					t.Fatalf("got %v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, m := range tc.want {
				if !got[i].Equal(at(m)) {
					t.Errorf("replica %d: got %s, want %s", i, got[i].Format(time.TimeOnly), at(m).Format(time.TimeOnly))
				}
			}
		})
	}
}
