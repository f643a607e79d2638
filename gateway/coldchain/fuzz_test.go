package coldchain

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// FuzzVerify feeds arbitrary day-file and chain-head bytes (a damaged disk,
// a clumsy forgery) to Verify and to a recorder starting on them: neither
// may panic or fail, and the recorder must start and write the next day.
func FuzzVerify(f *testing.F) {
	f.Add([]byte(`{"date":"2026-11-20","device":"kuehlschrank","tz":"UTC","low_c":2,"high_c":8,"samples":0,"min_c":null,"max_c":null,"mean_c":null,"mkt_c":null,"minutes_out":0,"minutes_no_data":1440,"excursions":[],"prev":""}`+"\n"),
		[]byte("2026-11-20 9f3c7b0f8b3f4f5e2b1e7a7b1c9d0e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d\n"))
	f.Add([]byte("{not json\n"), []byte("! chain head file was missing\n"))
	f.Add([]byte(`{"date":"2026-1`), []byte("2026-11-2"))
	f.Add([]byte(`{"date":"x","device":"kuehlschrank","prev":"ab"}`+"\n"+`{"date":"","device":""}`+"\n"), []byte("2026-13-45 zz\n\n"))
	f.Fuzz(func(t *testing.T, records, head []byte) {
		dir := t.TempDir()
		ddir := filepath.Join(dir, "kuehlschrank")
		if err := os.MkdirAll(ddir, 0o750); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(ddir, "2026.jsonl"), records, 0o640)
		os.WriteFile(filepath.Join(ddir, headName), head, 0o640)
		if _, err := Verify(dir, "kuehlschrank"); err != nil {
			t.Fatalf("verify: %v", err)
		}
		r, err := New(Options{Dir: dir, Location: time.UTC, Now: func() time.Time { return day0 }, Log: slog.New(slog.DiscardHandler),
			Fridges: []Fridge{{ID: "kuehlschrank", Low: 2, High: 8, Interval: time.Minute}}})
		if err != nil {
			t.Fatalf("start on damaged files: %v", err)
		}
		r.Tick(day0)
		r.Observe(temp(day0.Add(time.Minute), 5))
		r.Tick(day0.Add(24*time.Hour + time.Second))
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := Verify(dir, "kuehlschrank"); err != nil {
			t.Fatalf("verify after a day: %v", err)
		}
	})
}

// FuzzAuditText feeds arbitrary names and comments (what staff type on the
// web page) to ConfirmCheck: it either refuses them with one of its input
// errors and records nothing, or records a name and comment that are clean
// text within the limits, which come back unchanged from the written,
// verified record.
func FuzzAuditText(f *testing.F) {
	f.Add("MW", "Tür war offen, Ware geprüft")
	f.Add("", "")
	f.Add("Dr. Anna Weber", "Zeile 1\r\nZeile 2\n")
	f.Add("M\x00W", "\xff")
	f.Fuzz(func(t *testing.T, user, comment string) {
		dir := t.TempDir()
		r, err := New(Options{Dir: dir, Location: time.UTC, SaveEvery: time.Hour, Log: slog.New(slog.DiscardHandler),
			Fridges: []Fridge{{ID: "kuehlschrank", Low: 2, High: 8, Interval: time.Minute}}})
		if err != nil {
			t.Fatal(err)
		}
		r.Tick(day0)
		c, err := r.ConfirmCheck("kuehlschrank", user, comment, day0.Add(time.Hour))
		if err != nil {
			if !errors.Is(err, ErrNoUser) && !errors.Is(err, ErrUserLong) && !errors.Is(err, ErrCommentLong) && !errors.Is(err, ErrBadText) {
				t.Fatalf("unexpected error %v", err)
			}
			if len(r.Today(day0.Add(time.Hour))[0].Checks) != 0 {
				t.Fatal("refused check recorded")
			}
			return
		}
		for _, s := range []string{c.User, c.Comment} {
			if !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl) || s != strings.TrimSpace(s) {
				t.Fatalf("unclean text recorded: %q", s)
			}
		}
		if c.User == "" || utf8.RuneCountInString(c.User) > MaxUserLen || utf8.RuneCountInString(c.Comment) > MaxCommentLen {
			t.Fatalf("check %+v", c)
		}
		r.Tick(day0.Add(24*time.Hour + time.Second))
		recs, err := Records(dir, "kuehlschrank", "", "")
		if err != nil || len(recs) != 1 || len(recs[0].Checks) != 1 || recs[0].Checks[0].User != c.User || recs[0].Checks[0].Comment != c.Comment {
			t.Fatalf("record %v %+v", err, recs)
		}
		if st, err := Check(dir, "kuehlschrank"); err != nil || !st.Intact() {
			t.Fatalf("verify %v %+v", err, st)
		}
	})
}
