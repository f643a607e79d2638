package web

import (
	"sync"
	"time"
)

// throttle slows password guessing. Each account's consecutive failures
// double its wait (1 s, 2 s, 4 s ... capped at maxDelay), so an attacker
// gets a handful of guesses per hour while the technician, who knows the
// password, waits at most maxDelay: the account is never locked for good.
// On top, a global budget caps failures across all accounts per window,
// against guessing spread over many user names.
type throttle struct {
	now      func() time.Time
	base     time.Duration
	maxDelay time.Duration
	// globalMax failures per globalWindow, over all accounts.
	globalMax    int
	globalWindow time.Duration

	mu       sync.Mutex
	accounts map[string]*failures
	global   []time.Time // failure times within the window, oldest first
}

type failures struct {
	n    int
	last time.Time
}

// maxTrackedAccounts bounds memory under a flood of invented user names;
// the global budget still applies to them.
const maxTrackedAccounts = 1024

func newThrottle(now func() time.Time) *throttle {
	return &throttle{now: now, base: time.Second, maxDelay: 5 * time.Minute,
		globalMax: 30, globalWindow: time.Minute, accounts: map[string]*failures{}}
}

// wait returns how long account must still wait before its next attempt
// may be checked (0: go ahead).
func (t *throttle) wait(account string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.pruneGlobal(now)
	var w time.Duration
	if len(t.global) >= t.globalMax {
		w = t.global[0].Add(t.globalWindow).Sub(now)
	}
	if f, ok := t.accounts[account]; ok && f.n > 0 {
		if aw := f.last.Add(t.delay(f.n)).Sub(now); aw > w {
			w = aw
		}
	}
	if w < 0 {
		w = 0
	}
	return w
}

func (t *throttle) delay(n int) time.Duration {
	d := t.base
	for i := 1; i < n && d < t.maxDelay; i++ {
		d *= 2
	}
	return min(d, t.maxDelay)
}

func (t *throttle) pruneGlobal(now time.Time) {
	i := 0
	for i < len(t.global) && now.Sub(t.global[i]) >= t.globalWindow {
		i++
	}
	t.global = t.global[i:]
}

// fail records a failed attempt.
func (t *throttle) fail(account string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.pruneGlobal(now)
	t.global = append(t.global, now)
	f, ok := t.accounts[account]
	if !ok {
		if len(t.accounts) >= maxTrackedAccounts {
			t.forgetOldest()
		}
		f = &failures{}
		t.accounts[account] = f
	}
	f.n++
	f.last = now
}

func (t *throttle) forgetOldest() {
	var oldest string
	var at time.Time
	for k, f := range t.accounts {
		if oldest == "" || f.last.Before(at) {
			oldest, at = k, f.last
		}
	}
	delete(t.accounts, oldest)
}

// succeed clears an account's failures.
func (t *throttle) succeed(account string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.accounts, account)
}
