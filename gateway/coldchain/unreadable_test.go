package coldchain

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A chain head that cannot be read (here a directory in its place) does
// not keep the recorder from starting; the record is reported broken.
func TestUnreadableHeadReported(t *testing.T) {
	dir := chainOfDays(t, 2)
	hf := filepath.Join(dir, "kuehlschrank", "head.log")
	if err := os.Remove(hf); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(hf, 0o750); err != nil {
		t.Fatal(err)
	}
	r := newRec(t, dir)
	st := r.Integrity()
	if st[0].Intact() || !strings.Contains(st[0].Breaks[0].Reason, "record unreadable") {
		t.Fatalf("status %+v", st)
	}
	evs := r.Tick(day0.Add(2*24*time.Hour + time.Minute))
	if len(evs) != 1 || evs[0].Type != IntegrityEvent {
		t.Fatalf("events %v", evs)
	}
}
