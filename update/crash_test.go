package update_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/update"
)

// The daemon is SIGKILLed (as by a power cut) at each step of download,
// switch and trial; after the restart the box runs a good version and
// finally commits version 2.
func TestKillAtEachStep(t *testing.T) {
	v1, v2 := testapp(t, "1.0.0", "ok"), testapp(t, "2.0.0", "ok")
	steps := []string{
		"download-half",        // half the binary on disk (resume from there)
		"downloaded",           // verified, not yet in place
		"staged",               // binary in place, state not yet written
		"state-written:trial",  // state says trial, symlinks not switched
		"switched",             // switched, restart not yet requested
		"trial",                // new version on trial, before its health check
		"state-written:commit", // committed in state.json, symlinks not yet
	}
	for _, step := range steps {
		t.Run(step, func(t *testing.T) {
			r := newRepo(t)
			r.add(t, v2, "2.0.0", nil)
			b := newBox(t, v1, "1.0.0", rootOf(t, r))
			b.env = []string{"PRAXISGATE_TEST_CRASH_AT=" + step}
			b.start(r.URL, 100*time.Millisecond, 0)
			b.waitFor(waitLong, "commit of 2.0.0", isState(update.StateCommitted, "2.0.0", "2.0.0"))
			b.waitFor(waitLong, "2.0.0 up to date", isState(update.StateUpToDate, "2.0.0", ""))
			b.stop()
			if _, err := os.Stat(filepath.Join(b.layout.Dir, "crashed-"+step)); err != nil {
				t.Fatalf("the daemon never reached step %s: %v\n%s", step, err, b.dump())
			}
			if s := b.state(); s.Committed != "2.0.0" || s.Trial != nil {
				t.Fatalf("state: %+v", s)
			}
			if got := b.linked(); got != "2.0.0" {
				t.Fatalf("current -> %s", got)
			}
			// Every start ran a version that exists and is verified.
			for _, e := range b.readEvents() {
				if e.State == "started" && e.Running != "1.0.0" && e.Running != "2.0.0" {
					t.Fatalf("unexpected start %+v", e)
				}
			}
			if _, err := os.Stat(filepath.Join(b.layout.VersionDir("2.0.0"), update.BinaryName+".part")); err == nil {
				t.Fatal("a partial download was left behind")
			}
		})
	}
}
