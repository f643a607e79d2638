package update_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/update"
)

// A release whose binary reports another version than its label (a
// 3.0.0 build published as 4.0.0) is refused before anything is switched:
// it would otherwise stay on trial for ever, since its own trial looks for
// 3.0.0, and defer every later update. It is not downloaded again.
func TestVersionMismatchRefused(t *testing.T) {
	v2, v3 := testapp(t, "2.0.0", "ok"), testapp(t, "3.0.0", "ok")
	r := newRepo(t)
	r.add(t, v3, "4.0.0", nil)
	b := newBox(t, v2, "2.0.0", rootOf(t, r))
	b.start(r.URL, 100*time.Millisecond, 0)
	ev := b.waitFor(waitLong, "refusal of 4.0.0", isState(update.StateRefused, "2.0.0", "4.0.0"))
	b.waitFor(waitLong, "4.0.0 not downloaded again", func(e evLine) bool {
		return e.State == update.StateUpToDate && strings.Contains(e.Reason, "4.0.0 was refused here before")
	})
	b.stop()
	if want := `the binary labelled 4.0.0 reports version "3.0.0"`; !strings.Contains(ev.Reason, want) {
		t.Fatalf("reason %q, want it to say %q", ev.Reason, want)
	}
	s := b.state()
	if s.Committed != "2.0.0" || s.Trial != nil {
		t.Fatalf("state: %+v", s)
	}
	if got := b.linked(); got != "2.0.0" {
		t.Fatalf("current -> %s", got)
	}
	downloads := 0
	for _, e := range b.readEvents() {
		switch {
		case e.State == "started" && e.Running != "2.0.0":
			t.Fatalf("another version ran: %+v", e)
		case e.State == update.StateInstalled:
			t.Fatalf("installed: %+v", e)
		case e.State == update.StateDownloading:
			downloads++
		}
	}
	if downloads != 1 {
		t.Fatalf("%d downloads of 4.0.0, want 1\n%s", downloads, b.dump())
	}
	for _, name := range []string{update.BinaryName, update.BinaryName + ".part"} {
		if _, err := os.Stat(filepath.Join(b.layout.VersionDir("4.0.0"), name)); err == nil {
			t.Fatalf("%s of the refused release left in place", name)
		}
	}
	t.Logf("refused: %s", ev.Reason)
}

// A box that is already on trial with a mislabelled binary (installed by
// an older version without the check above) gets out by itself: the
// binary sees that it is the trial version's binary under another
// version, rolls back at once, and the committed version reports it.
func TestMislabelledTrialRollsBack(t *testing.T) {
	v2, v3 := testapp(t, "2.0.0", "ok"), testapp(t, "3.0.0", "ok")
	r := newRepo(t)
	r.add(t, v2, "2.0.0", nil)
	b := newBox(t, v2, "2.0.0", rootOf(t, r))
	// What an older installer left: 3.0.0's binary as 4.0.0, on trial.
	dir := b.layout.VersionDir("4.0.0")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(v3)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b.layout.BinaryPath("4.0.0"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	s := b.state()
	s.Trial = &update.Trial{Version: "4.0.0", Previous: "2.0.0", Started: time.Now().UTC()}
	if err := b.layout.WriteState(s); err != nil {
		t.Fatal(err)
	}
	b.start(r.URL, 100*time.Millisecond, 0)
	ev := b.waitFor(waitLong, "rollback of 4.0.0", func(e evLine) bool {
		return e.State == update.StateRolledBack && e.From == "4.0.0" && e.To == "2.0.0"
	})
	b.waitFor(waitLong, "2.0.0 up to date", isState(update.StateUpToDate, "2.0.0", ""))
	b.stop()
	if want := "the binary of 4.0.0 reports version 3.0.0"; ev.Reason != want {
		t.Fatalf("reason %q, want %q", ev.Reason, want)
	}
	if s := b.state(); s.Committed != "2.0.0" || s.Trial != nil || !s.IsFailed("4.0.0") {
		t.Fatalf("state: %+v", s)
	}
	if got := b.linked(); got != "2.0.0" {
		t.Fatalf("current -> %s", got)
	}
}
