package errs

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestPolicyRetry(t *testing.T) {
	p := Policy{Retries: 2}
	busy := E("power_on", Transient, errors.New("busy"))
	for attempt, want := range map[int]bool{1: true, 2: true, 3: false} {
		if got := p.Retry(busy, attempt); got != want {
			t.Errorf("attempt %d of %d retries: Retry = %v", attempt, p.Retries, got)
		}
	}
	if p.Retry(E(Permanent, errors.New("no such VM")), 1) || p.Retry(errors.New("plain"), 1) {
		t.Error("a failure that is not transient is retried")
	}
}

func TestPauseDoublesUpToCap(t *testing.T) {
	p := Policy{Base: time.Second, Cap: 5 * time.Second}
	want := []time.Duration{0, time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
	for attempt, w := range want {
		if got := p.Pause("a", attempt); got != w {
			t.Errorf("attempt %d: pause %s, want %s", attempt, got, w)
		}
	}
	if got := (Policy{Base: time.Second}).Pause("a", 200); got <= 0 {
		t.Errorf("without a cap, attempt 200 pauses %s: it overflowed", got)
	}
}

func TestJitter(t *testing.T) {
	p := Policy{Base: time.Second, Cap: 8 * time.Second, Jitter: 0.5, Seed: 7}
	plain := p
	plain.Jitter = 0
	seen := map[time.Duration]bool{}
	for i := range 200 {
		key := fmt.Sprintf("group.db/power_on/db-%02d", i)
		for attempt := 1; attempt <= 6; attempt++ {
			d, full := p.Pause(key, attempt), plain.Pause(key, attempt)
			if d > full || d <= full/2 || d > p.Cap {
				t.Fatalf("%s attempt %d: pause %s outside (%s, %s]", key, attempt, d, full/2, full)
			}
			if d != p.Pause(key, attempt) {
				t.Fatalf("%s attempt %d: two pauses for the same inputs", key, attempt)
			}
			seen[d] = true
		}
		if a, b := p.Pause(key, 1), p.Pause(key, 2); b == 2*a {
			t.Errorf("%s: attempt 2's pause is exactly twice attempt 1's (%s, %s): no jitter drawn per attempt", key, a, b)
		}
	}
	if len(seen) < 1000 {
		t.Errorf("1200 pauses took only %d values", len(seen))
	}
	other := p
	other.Seed = 8
	same := 0
	for i := range 100 {
		key := fmt.Sprintf("s%d", i)
		if p.Pause(key, 1) == other.Pause(key, 1) {
			same++
		}
	}
	if same > 1 {
		t.Errorf("seeds 7 and 8 gave the same pause %d times in 100", same)
	}
}
