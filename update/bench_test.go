package update_test

import (
	"fmt"
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

// BenchmarkRollback measures how long a box runs a bad release before the
// previous version runs again, with the shipped unit's limits as "update
// supervise" applies them by default (RestartSec 2 s, start timeout and
// watchdog 12 s, 3 starts on trial, trial timeout 90 s, health checked
// every 2 s): from the installed event to the previous version's next
// start, and to its report of the rollback. The targets: a hang
// (before or after READY=1) within 60 s, an unhealthy release within 2 min.
// Run: go test ./update -run '^$' -bench Rollback -benchtime 1x
func BenchmarkRollback(b *testing.B) {
	v2 := testapp(b, "2.0.0", "ok")
	for _, bad := range []string{"crash", "hang-before-ready", "hang", "unhealthy"} {
		b.Run(bad, func(b *testing.B) {
			v3 := testapp(b, "3.0.0", bad)
			var back, reported time.Duration
			for range b.N {
				r := newRepo(b)
				r.add(b, v3, "3.0.0", nil)
				box := newBox(b, v2, "2.0.0", rootOf(b, r))
				box.startTimeout = update.DefaultStartTimeout
				// Watchdog 0: the supervisor's default, as "update supervise" without -watchdog.
				box.start(r.URL, update.DefaultRestartDelay, 0, "-check-every", "1h",
					"-trial-interval", "2s", "-trial-timeout", update.DefaultTrialTimeout.String())
				inst := box.waitFor(waitLong, "installed", isState(update.StateInstalled, "2.0.0", "3.0.0"))
				again := box.waitFor(3*waitLong, "2.0.0 started again", func(e evLine) bool {
					return e.State == "started" && e.Running == "2.0.0" && e.Time.After(inst.Time)
				})
				rep := box.waitFor(waitLong, "rollback reported", func(e evLine) bool {
					return e.State == update.StateRolledBack && e.From == "3.0.0"
				})
				box.stop()
				back += again.Time.Sub(inst.Time)
				reported += rep.Time.Sub(inst.Time)
			}
			n := float64(b.N)
			b.ReportMetric(back.Seconds()/n, "s_installed_to_previous_started")
			b.ReportMetric(reported.Seconds()/n, "s_installed_to_rollback_decided")
			fmt.Printf("BenchmarkRollback/%s: installed -> 2.0.0 started again %.1f s, rollback decided %.1f s (mean of %d)\n",
				bad, back.Seconds()/n, reported.Seconds()/n, b.N)
		})
	}
}
