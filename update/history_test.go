package update_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/update"
)

var t0 = time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)

func ev(i int, state, from, to string) update.Event {
	return update.Event{Time: t0.Add(time.Duration(i) * time.Minute), State: state, From: from, To: to, Reason: fmt.Sprintf("step %d", i)}
}

func newLayout(t *testing.T) *update.Layout {
	t.Helper()
	l := &update.Layout{Dir: t.TempDir()}
	return l
}

func record(t *testing.T, l *update.Layout, evs ...update.Event) {
	t.Helper()
	for _, e := range evs {
		if err := l.RecordEvent(e); err != nil {
			t.Fatal(err)
		}
	}
}

func history(t *testing.T, l *update.Layout) []update.Event {
	t.Helper()
	h, err := l.History()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func states(evs []update.Event) string {
	var s []string
	for _, e := range evs {
		s = append(s, e.State)
	}
	return strings.Join(s, ",")
}

func TestHistoryRecordsInOrder(t *testing.T) {
	l := newLayout(t)
	if h := history(t, l); len(h) != 0 {
		t.Fatalf("empty box has history %+v", h)
	}
	want := []update.Event{ev(1, "checking", "1.0.0", ""), ev(2, "downloading", "1.0.0", "2.0.0"),
		ev(3, "installed", "1.0.0", "2.0.0"), ev(4, "trial", "1.0.0", "2.0.0"), ev(5, "committed", "1.0.0", "2.0.0")}
	record(t, l, want...)
	got := history(t, l)
	if len(got) != len(want) {
		t.Fatalf("history %+v", got)
	}
	for i := range want {
		if !got[i].Time.Equal(want[i].Time) || got[i].State != want[i].State || got[i].From != want[i].From ||
			got[i].To != want[i].To || got[i].Reason != want[i].Reason {
			t.Errorf("entry %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

// A commit or rollback reported again after a crash (TakeNote is
// at-least-once) is one entry, not two; the same state at another time is
// a new entry.
func TestHistoryDeduplicatesRepeatedReport(t *testing.T) {
	l := newLayout(t)
	c := ev(5, "committed", "1.0.0", "2.0.0")
	record(t, l, c, ev(6, "checking", "2.0.0", ""), c, ev(7, "checking", "2.0.0", ""))
	if got := states(history(t, l)); got != "committed,checking,checking" {
		t.Fatalf("history %s", got)
	}
}

// A power cut in the middle of an append leaves a torn last line: reading
// skips it, and the next append starts on a line of its own.
func TestHistoryTornLastLine(t *testing.T) {
	cases := []struct {
		name string
		tail string
	}{
		{"half a JSON object", `{"ts":"2026-11-22T03:10:00Z","state":"insta`},
		{"only an opening brace", `{`},
		{"zero bytes from a lost page", "\x00\x00\x00\x00"},
		{"complete object without newline", `{"ts":"2026-11-22T03:10:00Z","state":"installed","to":"2.0.0"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := newLayout(t)
			record(t, l, ev(1, "checking", "1.0.0", ""), ev(2, "downloading", "1.0.0", "2.0.0"))
			p := filepath.Join(l.Dir, "history.jsonl")
			f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString(tc.tail)
			f.Close()
			before := len(history(t, l))
			record(t, l, ev(20, "rolled_back", "2.0.0", "1.0.0"))
			h := history(t, l)
			if len(h) != before+1 || h[len(h)-1].State != "rolled_back" {
				t.Fatalf("after append: %s", states(h))
			}
			if before != 2 && before != 3 {
				t.Fatalf("read %d events before the append", before)
			}
		})
	}
}

// The file stays bounded; routine checks make way for installs, commits,
// rollbacks and refusals.
func TestHistoryBounded(t *testing.T) {
	l := newLayout(t)
	l.HistoryMax = 8
	record(t, l, ev(0, "committed", "1.0.0", "2.0.0"), ev(1, "rolled_back", "3.0.0", "2.0.0"), ev(2, "refused", "2.0.0", ""))
	for i := 3; i < 100; i++ {
		st := "checking"
		if i%2 == 1 {
			st = "up_to_date"
		}
		record(t, l, ev(i, st, "2.0.0", ""))
		b, err := os.ReadFile(filepath.Join(l.Dir, "history.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(b), "\n"); n > 10 {
			t.Fatalf("after %d events the file has %d lines, want at most 10", i+1, n)
		}
	}
	h := history(t, l)
	if len(h) < 8 || len(h) > 10 {
		t.Fatalf("%d events kept: %s", len(h), states(h))
	}
	if got := states(h[:3]); got != "committed,rolled_back,refused" {
		t.Fatalf("the important events were pruned: %s", states(h))
	}
	if last := h[len(h)-1]; !last.Time.Equal(t0.Add(99 * time.Minute)) {
		t.Fatalf("newest event lost: %+v", last)
	}
	// With only important events, the oldest go.
	for i := 100; i < 120; i++ {
		record(t, l, ev(i, "refused", "2.0.0", ""))
	}
	h = history(t, l)
	if len(h) > 10 || h[len(h)-1].Time != t0.Add(119*time.Minute) || h[0].State == "committed" {
		t.Fatalf("history %s (first %+v)", states(h), h[0])
	}
}

func TestHistoryRefusesUnrecordable(t *testing.T) {
	l := newLayout(t)
	for _, e := range []update.Event{{State: "checking"}, {Time: t0, State: "Not A State"}, {Time: t0}} {
		if err := l.RecordEvent(e); err == nil {
			t.Errorf("recorded %+v", e)
		}
	}
	long := ev(1, "refused", "1.0.0", "")
	long.Reason = strings.Repeat("x", 5000)
	record(t, l, long)
	if h := history(t, l); len(h) != 1 || len(h[0].Reason) > 1010 {
		t.Fatalf("long reason kept as is: %d events", len(h))
	}
}

// Every event the Manager and the trial report is in the history, in the
// order reported; a rollback decided by the boot accounting is recorded
// when the committed version reports it.
func TestHistoryFromManagerAndTrial(t *testing.T) {
	r := newRepo(t)
	m, p := newInproc(t, r, "1.0.0", rootOf(t, r), nil)
	r.add(t, fakeBinary(t, "1.1.0", 2000), "1.1.0", nil)
	if e := m.Check(context.Background(), false); e.State != update.StateInstalled {
		t.Fatalf("%+v", e)
	}
	// 1.1.0 crashes at every start: the boot accounting gives up on it.
	for range 4 {
		if _, err := p.layout.Boot(3); err != nil {
			t.Fatal(err)
		}
	}
	var reported []update.Event
	ok, err := p.layout.RunTrial(context.Background(), update.TrialConfig{Version: "1.0.0",
		OnEvent: func(e update.Event) { reported = append(reported, e) }})
	if err != nil || !ok {
		t.Fatalf("trial of the committed version: %v %v", ok, err)
	}
	want := append(p.events, reported...)
	h := history(t, p.layout)
	if states(h) != states(want) || states(h) != "checking,available,downloading,installed,rolled_back" {
		t.Fatalf("history %s, reported %s", states(h), states(want))
	}
	if rb := h[len(h)-1]; rb.From != "1.1.0" || rb.To != "1.0.0" || !strings.Contains(rb.Reason, "started 3 times") {
		t.Fatalf("rollback entry %+v", rb)
	}
}

func TestParseHistory(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		states  string
		skipped int
	}{
		{"empty", "", "", 0},
		{"two lines", `{"ts":"2026-11-22T03:00:00Z","state":"checking"}` + "\n" + `{"ts":"2026-11-22T03:00:01Z","state":"up_to_date","from":"1.0.0"}` + "\n", "checking,up_to_date", 0},
		{"blank lines", "\n\n" + `{"ts":"2026-11-22T03:00:00Z","state":"checking"}` + "\n\n", "checking", 0},
		{"torn last", `{"ts":"2026-11-22T03:00:00Z","state":"checking"}` + "\n" + `{"ts":"2026-11-22T03:0`, "checking", 1},
		{"no time", `{"state":"checking"}`, "", 1},
		{"bad state", `{"ts":"2026-11-22T03:00:00Z","state":"<script>"}`, "", 1},
		{"two objects on a line", `{"ts":"2026-11-22T03:00:00Z","state":"checking"}{"ts":"2026-11-22T03:00:00Z","state":"checking"}`, "", 1},
		{"not an object", `["checking"]`, "", 1},
		{"garbage between", `{"ts":"2026-11-22T03:00:00Z","state":"checking"}` + "\nxx\n" + `{"ts":"2026-11-22T03:00:00Z","state":"trial"}`, "checking,trial", 1},
		{"unknown field from a newer version", `{"ts":"2026-11-22T03:00:00Z","state":"trial","extra":1}`, "trial", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			evs, skipped := update.ParseHistory([]byte(tc.in))
			if states(evs) != tc.states || skipped != tc.skipped {
				t.Fatalf("got %q skipped %d, want %q skipped %d", states(evs), skipped, tc.states, tc.skipped)
			}
		})
	}
}

// FuzzParseHistory: whatever a power cut or a disk error leaves in the
// file, parsing never panics, every event it returns is usable, and what
// it returns reads back the same after being written again.
func FuzzParseHistory(f *testing.F) {
	f.Add([]byte(`{"ts":"2026-11-22T03:00:00Z","state":"checking"}` + "\n"))
	f.Add([]byte(`{"ts":"2026-11-22T03:00:00Z","state":"rolled_back","from":"3.0.0","to":"2.0.0","reason":"x"}` + "\n" + `{"ts":"2026`))
	f.Add([]byte("\x00\x00\n{}\n{\"ts\":null}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		evs, skipped := update.ParseHistory(b)
		if skipped < 0 || len(evs)+skipped > strings.Count(string(b), "\n")+1 {
			t.Fatalf("%d events and %d skipped from %d lines", len(evs), skipped, strings.Count(string(b), "\n")+1)
		}
		var again []byte
		for _, e := range evs {
			if e.Time.IsZero() || e.State == "" {
				t.Fatalf("unusable event %+v", e)
			}
			line, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			again = append(append(again, line...), '\n')
		}
		evs2, skipped2 := update.ParseHistory(again)
		if skipped2 != 0 || len(evs2) != len(evs) {
			t.Fatalf("round trip: %d events, %d skipped; first pass %d", len(evs2), skipped2, len(evs))
		}
		for i := range evs {
			if !evs[i].Time.Equal(evs2[i].Time) || evs[i].State != evs2[i].State || evs[i].Reason != evs2[i].Reason {
				t.Fatalf("round trip changed %+v into %+v", evs[i], evs2[i])
			}
		}
	})
}
