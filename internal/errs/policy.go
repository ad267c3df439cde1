package errs

import (
	"time"

	"github.com/drplan/drplan/internal/seeded"
)

// Policy says whether and when a step that failed is tried again.
type Policy struct {
	// Retries is how many times a step is tried again after its first
	// attempt (a step's Retries, from the plan).
	Retries int
	// Base is the pause before the first retry; each further retry
	// doubles it, up to Cap.
	Base time.Duration
	// Cap bounds every pause; 0 means no bound.
	Cap time.Duration
	// Jitter, from 0 to 1, is the part of each pause drawn away at
	// random: a pause p becomes one in (p×(1−Jitter), p]. Retries of
	// many steps that failed together (one vCenter hiccup) then spread
	// out instead of arriving together again.
	Jitter float64
	// Seed makes the jitter: with the same seed, key and attempt, the
	// same pause. A simulated run uses its world's seed.
	Seed int64
}

// Retry reports whether attempt (1 for the first) should be followed by
// another after failing with err: err is Retryable and the attempts
// are not used up.
func (p Policy) Retry(err error, attempt int) bool {
	return attempt <= p.Retries && Retryable(err)
}

// Pause is how long to wait after attempt (1 for the first) of what key
// names (a step's address) failed: Base×2^(attempt−1), at most Cap, less
// its jitter. It depends on nothing but the policy and its arguments.
func (p Policy) Pause(key string, attempt int) time.Duration {
	if attempt < 1 || p.Base <= 0 {
		return 0
	}
	d := p.Base
	for i := 1; i < attempt; i++ {
		if p.Cap > 0 && d >= p.Cap || d >= time.Duration(1<<62) {
			break
		}
		d *= 2
	}
	if p.Cap > 0 && d > p.Cap {
		d = p.Cap
	}
	j := min(max(p.Jitter, 0), 1)
	if j == 0 {
		return d
	}
	// u in [0, 1): the top 53 bits of the hash.
	u := seeded.New(p.Seed).Word(key).Int(uint64(attempt)).Float()
	return d - time.Duration(float64(d)*j*u)
}
