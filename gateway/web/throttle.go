package web

import (
	"sync"
	"time"
)

// throttle slows password and setup-code guessing without handing anyone
// on the LAN a way to lock the technician out (OWASP ASVS 2.2.1).
//
// Failures are counted apart for each thing an attacker controls, and
// each count doubles its own wait (1 s, 2 s, 4 s ... capped at maxDelay):
//   - per client address, so one host hammering slows only itself;
//   - per account, for browsers the account has never logged in from,
//     after accountGrace free failures (a technician mistyping from a new
//     laptop is not slowed by a stray guess someone else made);
//   - per device: a browser that logged in to the account before shows a
//     signed device cookie (devicecookie.go) and is judged only by its own
//     failures, so guesses against "admin" from elsewhere never delay it;
//   - a global budget of failures per window from unknown browsers, which
//     bounds guessing spread over many addresses and, when spent, slows
//     only unknown browsers.
//
// A zero globalMax turns the global budget off (setup codes are limited
// per address only: there is no account and no device to tell apart).
type throttle struct {
	now      func() time.Time
	base     time.Duration
	maxDelay time.Duration
	// globalMax failures of unknown browsers per globalWindow.
	globalMax    int
	globalWindow time.Duration

	mu       sync.Mutex
	accounts counts
	addrs    counts
	devices  counts
	global   []time.Time // failure times within the window, oldest first
}

// attempt names who is trying. account is "" where there is none (setup
// code); device is the id of a valid device cookie for account, or "".
type attempt struct {
	account, addr, device string
}

type failures struct {
	n    int
	last time.Time
}

// counts is one dimension of failures. maxTracked bounds memory under a
// flood of invented user names or addresses; the oldest entry goes first.
type counts map[string]*failures

const maxTracked = 1024

// accountGrace failures of an account from unknown browsers cost nothing;
// each further one doubles the wait.
const accountGrace = 3

func newThrottle(now func() time.Time) *throttle {
	return &throttle{now: now, base: time.Second, maxDelay: 5 * time.Minute,
		globalMax: 30, globalWindow: time.Minute,
		accounts: counts{}, addrs: counts{}, devices: counts{}}
}

// newSetupThrottle limits setup-code attempts per address only, so wrong
// codes from one host never make the technician's correct code wait.
func newSetupThrottle(now func() time.Time) *throttle {
	t := newThrottle(now)
	t.globalMax = 0
	return t
}

// wait returns how long a must still wait before its next attempt may be
// checked (0: go ahead).
func (t *throttle) wait(a attempt) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if a.device != "" {
		return max(t.waitOf(t.devices, a.device, now), 0)
	}
	w := t.waitOf(t.addrs, a.addr, now)
	if f, ok := t.accounts[a.account]; ok && a.account != "" && f.n > accountGrace {
		w = max(w, f.last.Add(t.delay(f.n-accountGrace)).Sub(now))
	}
	if t.globalMax > 0 {
		t.pruneGlobal(now)
		if len(t.global) >= t.globalMax {
			w = max(w, t.global[0].Add(t.globalWindow).Sub(now))
		}
	}
	return max(w, 0)
}

func (t *throttle) waitOf(c counts, key string, now time.Time) time.Duration {
	f, ok := c[key]
	if !ok || f.n == 0 {
		return 0
	}
	return f.last.Add(t.delay(f.n)).Sub(now)
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

// fail records a failed attempt: against the device alone for a known
// browser, else against the address, the account and the global budget.
func (t *throttle) fail(a attempt) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if a.device != "" {
		t.devices.add(a.device, now)
		return
	}
	t.addrs.add(a.addr, now)
	if a.account != "" {
		t.accounts.add(a.account, now)
	}
	if t.globalMax > 0 {
		t.pruneGlobal(now)
		t.global = append(t.global, now)
	}
}

func (c counts) add(key string, now time.Time) {
	f, ok := c[key]
	if !ok {
		if len(c) >= maxTracked {
			c.forgetOldest()
		}
		f = &failures{}
		c[key] = f
	}
	f.n++
	f.last = now
}

func (c counts) forgetOldest() {
	var oldest string
	var at time.Time
	for k, f := range c {
		if oldest == "" || f.last.Before(at) {
			oldest, at = k, f.last
		}
	}
	delete(c, oldest)
}

// succeed clears what the successful attempt proves innocent: its device,
// its address, and the account's count of failures from unknown browsers.
func (t *throttle) succeed(a attempt) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.devices, a.device)
	delete(t.addrs, a.addr)
	if a.account != "" {
		delete(t.accounts, a.account)
	}
}
