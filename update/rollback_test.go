package update_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/update"
)

// A version 3 that exits at start, one that never becomes healthy (its
// own uplink fails while version 2 reaches the same one), one that hangs
// after READY=1 (stops pinging the watchdog) and one that hangs before
// READY=1 (pings, but is never ready: the supervisor's start timeout, as
// systemd's TimeoutStartSec) are all rolled back to version 2 without
// help, reported by version 2, and not tried again.
func TestRollback(t *testing.T) {
	v2 := testapp(t, "2.0.0", "ok")
	cases := []struct {
		behaviour string
		reason    string
	}{
		{"crash", "started 3 times"},
		{"unhealthy", "not healthy within 1s: uplink: not connected (this release's own fault)"},
		{"hang", "started 3 times without becoming healthy (last start: stopped pinging the watchdog, killed)"},
		{"hang-before-ready", "started 3 times without becoming healthy (last start: no READY=1 within the start timeout, killed)"},
	}
	for _, tc := range cases {
		t.Run(tc.behaviour, func(t *testing.T) {
			r := newRepo(t)
			r.add(t, testapp(t, "3.0.0", tc.behaviour), "3.0.0", nil)
			b := newBox(t, v2, "2.0.0", rootOf(t, r))
			b.startTimeout = 3 * time.Second
			b.start(r.URL, 100*time.Millisecond, 2*time.Second, "-trial-timeout", "1s", "-trial-interval", "100ms")
			b.waitFor(waitLong, "install of 3.0.0", isState(update.StateInstalled, "2.0.0", "3.0.0"))
			ev := b.waitFor(waitLong, "rollback reported", func(e evLine) bool {
				return e.State == update.StateRolledBack && e.From == "3.0.0"
			})
			b.waitFor(waitLong, "2.0.0 refusing to retry", func(e evLine) bool {
				return e.Running == "2.0.0" && e.State == update.StateUpToDate && strings.Contains(e.Reason, "rolled back here before")
			})
			b.stop()
			if !strings.Contains(ev.Reason, tc.reason) {
				t.Fatalf("rollback reason %q, want %q", ev.Reason, tc.reason)
			}
			s := b.state()
			if s.Committed != "2.0.0" || s.Trial != nil || !slices.Contains(s.Failed, "3.0.0") {
				t.Fatalf("state: %+v", s)
			}
			if got := b.linked(); got != "2.0.0" {
				t.Fatalf("current -> %s", got)
			}
			n := 0
			for _, e := range b.readEvents() {
				if e.State == "started" && e.Running == "3.0.0" {
					n++
				}
			}
			if tc.behaviour != "unhealthy" && n != 3 {
				t.Fatalf("3.0.0 started %d times, want 3 (MaxBoots)\n%s", n, b.dump())
			}
			if s.Doubt != nil || len(s.Retry) != 0 {
				t.Fatalf("the release is blamed, yet a retry is planned: %+v", s)
			}
			t.Logf("%s: %s", tc.behaviour, ev.Reason)
		})
	}
}
