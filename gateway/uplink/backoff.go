package uplink

import (
	"math/rand/v2"
	"time"
)

// backoff is exponential with full jitter: the n-th consecutive failure
// waits a uniformly random time in [0, min(max, min·2ⁿ)]. Full jitter
// spreads hundreds of boxes that lost the broker at the same moment, so
// they do not reconnect in lock-step and knock it over again.
type backoff struct {
	min, max time.Duration
	attempt  int
	// rand returns a value in [0, n); replaceable in tests.
	rand func(n int64) int64
}

func newBackoff(min, max time.Duration) *backoff {
	return &backoff{min: min, max: max, rand: rand.Int64N}
}

// ceiling is the upper bound of the next delay.
func (b *backoff) ceiling() time.Duration {
	c := b.min
	for i := 0; i < b.attempt && c < b.max; i++ {
		c *= 2
	}
	if c > b.max || c <= 0 {
		c = b.max
	}
	return c
}

// next returns the delay before the next attempt and counts the failure.
func (b *backoff) next() time.Duration {
	c := b.ceiling()
	b.attempt++
	if c <= 0 {
		return 0
	}
	return time.Duration(b.rand(int64(c) + 1))
}

// reset starts over after a connection proved stable.
func (b *backoff) reset() { b.attempt = 0 }
