package update_test

import (
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/update"
)

// BenchmarkUpdateToCommitted measures, with real binaries on loopback and
// production-like pacing (1 s restart delay as RestartSec=1, health checked
// every 2 s), the time from the box seeing "update available" to the new
// version committed. The target: at most 30 s plus download time.
// Run: go test ./update -run '^$' -bench UpdateToCommitted -benchtime 3x
func BenchmarkUpdateToCommitted(b *testing.B) {
	v1, v2 := testapp(b, "1.0.0", "ok"), testapp(b, "2.0.0", "ok")
	var total, dl time.Duration
	for range b.N {
		r := newRepo(b)
		r.add(b, v2, "2.0.0", nil)
		box := newBox(b, v1, "1.0.0", rootOf(b, r))
		box.start(r.URL, time.Second, 0, "-check-every", "1h", "-trial-interval", "2s", "-trial-timeout", "5m")
		avail := box.waitFor(waitLong, "available", isState(update.StateAvailable, "1.0.0", "2.0.0"))
		down := box.waitFor(waitLong, "downloading", isState(update.StateDownloading, "1.0.0", "2.0.0"))
		inst := box.waitFor(waitLong, "installed", isState(update.StateInstalled, "1.0.0", "2.0.0"))
		done := box.waitFor(waitLong, "committed", isState(update.StateCommitted, "2.0.0", "2.0.0"))
		box.stop()
		total += done.Time.Sub(avail.Time)
		dl += inst.Time.Sub(down.Time)
	}
	n := float64(b.N)
	b.ReportMetric(total.Seconds()/n, "s_available_to_committed")
	b.ReportMetric(dl.Seconds()/n, "s_download_and_install")
	b.Logf("available -> committed %.2f s (of which download+install %.2f s); target <= 30 s + download", total.Seconds()/n, dl.Seconds()/n)
}

// BenchmarkRollbackCrash measures how long a box runs a version that exits
// at start before the previous version is back and reports the rollback,
// with the recommended unit settings (RestartSec=2, 3 starts on trial).
// The target: at most 60 s.
func BenchmarkRollbackCrash(b *testing.B) {
	v2, v3 := testapp(b, "2.0.0", "ok"), testapp(b, "3.0.0", "crash")
	var total time.Duration
	for range b.N {
		r := newRepo(b)
		r.add(b, v3, "3.0.0", nil)
		box := newBox(b, v2, "2.0.0", rootOf(b, r))
		box.start(r.URL, 2*time.Second, 0, "-check-every", "1h")
		inst := box.waitFor(waitLong, "installed", isState(update.StateInstalled, "2.0.0", "3.0.0"))
		back := box.waitFor(2*waitLong, "rollback reported", func(e evLine) bool {
			return e.State == update.StateRolledBack && e.From == "3.0.0" && e.Running == "2.0.0"
		})
		box.stop()
		total += back.Time.Sub(inst.Time)
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s_crash_to_rolled_back")
	b.Logf("installed crashing version -> previous version back and reporting: %.2f s; target <= 60 s", total.Seconds()/float64(b.N))
}
