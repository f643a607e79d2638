package clock

import (
	"path/filepath"
	"testing"
	"time"
)

func TestUnsyncedClockNeverGoesBehindLastKnownGood(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "clock")
	truth := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

	// First life: synchronised, saves the time.
	sys := truth
	synced := true
	c := New(Options{StateFile: file, Now: func() time.Time { return sys }, Synced: func() bool { return synced }, CheckEvery: time.Nanosecond})
	if st := c.Now(); !st.Synced || !st.Time.Equal(truth) {
		t.Fatalf("synced clock: got %+v", st)
	}

	// Power cut; the Pi boots at 1970 with no NTP.
	boot := time.Unix(0, 0)
	sys = boot
	synced = false
	c2 := New(Options{StateFile: file, Now: func() time.Time { return sys }, Synced: func() bool { return synced }, CheckEvery: time.Nanosecond})
	sys = boot.Add(90 * time.Second)
	st := c2.Now()
	if st.Synced {
		t.Fatal("clock claims to be synced")
	}
	if want := truth.Add(90 * time.Second); !st.Time.Equal(want) {
		t.Fatalf("unsynced estimate %v, want %v", st.Time, want)
	}

	// NTP arrives.
	synced = true
	sys = truth.Add(time.Hour)
	if st := c2.Now(); !st.Synced || !st.Time.Equal(sys) {
		t.Fatalf("after sync: got %+v", st)
	}
}

func TestUnsyncedClockPrefersSystemTimeWhenAhead(t *testing.T) {
	sys := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := New(Options{Now: func() time.Time { return sys }, Synced: func() bool { return false }})
	sys = sys.Add(time.Second)
	if st := c.Now(); st.Synced || !st.Time.Equal(sys) {
		t.Fatalf("got %+v, want system time unsynced", st)
	}
}
