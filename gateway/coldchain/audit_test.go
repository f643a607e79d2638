package coldchain

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

// auditRec is a recorder with a daily check due by 10:00 and a calibrated
// probe.
func auditRec(t *testing.T, dir string, offset *float64, due string) *Recorder {
	t.Helper()
	by := 10 * time.Hour
	r, err := New(Options{Dir: dir, Location: time.UTC, CheckBy: &by, SaveEvery: time.Hour,
		Fridges: []Fridge{{ID: "kuehlschrank", Low: 2, High: 8, Interval: time.Minute, Offset: offset, CalibrationDue: due}}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Three days, each with a daily check and an acknowledged alarm with a
// comment; the check of the first day survives a restart before the day
// is written.
func auditDays(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	r := auditRec(t, dir, nil, "")
	r.Tick(day0)
	for d := 0; d < 3; d++ {
		start := day0.Add(time.Duration(d) * 24 * time.Hour)
		feed(r, start, 10, func(int) float64 { return 5 })
		if _, err := r.ConfirmCheck("kuehlschrank", []string{"MW", "Dr. Weber", "AK"}[d], "Thermometer abgelesen", start.Add(9*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if ok, err := r.AddAck("kuehlschrank", Ack{At: start.Add(9*time.Minute + 30*time.Second), User: "MW", Comment: "Tür war offen, Ware geprüft",
			Alarm: "kuehlschrank/temperature/above", Kind: "threshold_high", Metric: "temperature"}); !ok || err != nil {
			t.Fatalf("ack: %v %v", ok, err)
		}
		if d == 0 {
			// A restart mid-day keeps the day's audit entries.
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			r = auditRec(t, dir, nil, "")
		}
	}
	r.Tick(day0.Add(3*24*time.Hour + time.Second))
	return dir
}

func TestAuditEntriesInTheChain(t *testing.T) {
	dir := auditDays(t)
	recs := records(t, dir)
	if len(recs) != 3 {
		t.Fatalf("%d records", len(recs))
	}
	for i, rec := range recs {
		if len(rec.Checks) != 1 || len(rec.Acks) != 1 {
			t.Fatalf("day %s: checks %+v acks %+v", rec.Date, rec.Checks, rec.Acks)
		}
		c := rec.Checks[0]
		if c.User != []string{"MW", "Dr. Weber", "AK"}[i] || c.Comment != "Thermometer abgelesen" || c.TempC == nil || *c.TempC != 5 ||
			!c.At.Equal(day0.Add(time.Duration(i)*24*time.Hour+9*time.Minute)) {
			t.Fatalf("day %s: check %+v", rec.Date, c)
		}
		if a := rec.Acks[0]; a.User != "MW" || a.Comment != "Tür war offen, Ware geprüft" || a.Alarm != "kuehlschrank/temperature/above" {
			t.Fatalf("day %s: ack %+v", rec.Date, a)
		}
	}
	if st, err := Check(dir, "kuehlschrank"); err != nil || !st.Intact() || st.Days != 3 {
		t.Fatalf("verify: %v %+v", err, st)
	}
}

// Changing, removing or adding an audit entry in a written day is a break,
// also when the forger redoes the chain of prev hashes.
func TestAuditTamperingFound(t *testing.T) {
	file := func(dir string) string { return filepath.Join(dir, "kuehlschrank", "2026.jsonl") }
	rewrite := func(t *testing.T, dir string, line int, f func(r *Record)) {
		b, err := os.ReadFile(file(dir))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		prev := ""
		for i := range lines {
			var r Record
			if err := json.Unmarshal([]byte(lines[i]), &r); err != nil {
				t.Fatal(err)
			}
			if i == line {
				f(&r)
			}
			if i > 0 {
				r.Prev = prev
			}
			nb, _ := json.Marshal(r)
			lines[i], prev = string(nb), Hash(nb)
		}
		if err := os.WriteFile(file(dir), []byte(strings.Join(lines, "\n")+"\n"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name   string
		line   int
		tamper func(r *Record)
	}{
		{"check user changed", 1, func(r *Record) { r.Checks[0].User = "XY" }},
		{"check moved to the morning", 0, func(r *Record) { r.Checks[0].At = r.Checks[0].At.Add(-2 * time.Hour) }},
		{"check removed", 2, func(r *Record) { r.Checks = nil }},
		{"check added to a day", 1, func(r *Record) { r.Checks = append(r.Checks, DailyCheck{At: r.Checks[0].At, User: "nachgetragen"}) }},
		{"ack comment changed", 0, func(r *Record) { r.Acks[0].Comment = "alles gut" }},
		{"ack removed", 2, func(r *Record) { r.Acks = nil }},
		{"calibration offset added", 1, func(r *Record) { o := -1.0; r.OffsetC = &o }},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			dir := auditDays(t)
			rewrite(t, dir, tt.line, tt.tamper)
			st, err := Check(dir, "kuehlschrank")
			if err != nil {
				t.Fatal(err)
			}
			if st.Intact() || st.Breaks[0].Line != tt.line+1 || !strings.Contains(st.Breaks[0].Reason, "differs from the chain head") {
				t.Fatalf("breaks %v", st.Breaks)
			}
			// At the next start the recorder reports it as an alarm.
			r := auditRec(t, dir, nil, "")
			cs := r.Conditions("kuehlschrank", day0.Add(3*24*time.Hour+time.Minute))
			if len(cs) == 0 || cs[0].Name != ConditionIntegrity || cs[0].Severity != drivers.Major {
				t.Fatalf("conditions after a restart: %+v", cs)
			}
			if !strings.HasPrefix(r.Integrity()[0].German(), "Protokoll geprüft: GEBROCHEN bei ") {
				t.Fatalf("verdict %q", r.Integrity()[0].German())
			}
		})
	}
}

func TestConfirmCheckInput(t *testing.T) {
	tests := []struct {
		name, device, user, comment string
		want                        error
		wantUser, wantComment       string
	}{
		{"ok", "kuehlschrank", " MW ", "", nil, "MW", ""},
		{"comment on one line", "kuehlschrank", "Dr. Weber", "Tür zu,\r\nWare ok ", nil, "Dr. Weber", "Tür zu, Ware ok"},
		{"no name", "kuehlschrank", "  ", "x", ErrNoUser, "", ""},
		{"long name", "kuehlschrank", strings.Repeat("ü", 65), "", ErrUserLong, "", ""},
		{"long comment", "kuehlschrank", "MW", strings.Repeat("x", 501), ErrCommentLong, "", ""},
		{"control character", "kuehlschrank", "M\x00W", "", ErrBadText, "", ""},
		{"invalid UTF-8", "kuehlschrank", "M\xffW", "", ErrBadText, "", ""},
		{"not a fridge", "usv", "MW", "", ErrNotFridge, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			r := auditRec(t, dir, nil, "")
			at := day0.Add(11 * time.Hour)
			c, err := r.ConfirmCheck(tt.device, tt.user, tt.comment, at)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
			if tt.want != nil {
				if today := r.Today(at); len(today[0].Checks) != 0 {
					t.Fatalf("recorded anyway: %+v", today)
				}
				return
			}
			if c.User != tt.wantUser || c.Comment != tt.wantComment || c.TempC != nil {
				t.Fatalf("check %+v", c)
			}
			// Saved at once: a restart (power cut) keeps it.
			r2 := auditRec(t, dir, nil, "")
			if today := r2.Today(at); len(today[0].Checks) != 1 || today[0].Checks[0].User != tt.wantUser {
				t.Fatalf("after restart: %+v", today)
			}
			evs := r.Tick(at)
			if len(evs) != 1 || evs[0].Type != CheckEvent || evs[0].Attrs["user"] != tt.wantUser {
				t.Fatalf("events %+v", evs)
			}
		})
	}
}

func TestRecordConditions(t *testing.T) {
	off := 0.0
	tests := []struct {
		name    string
		due     string
		check   *time.Time
		at      time.Time
		want    []string
		wantMsg string
	}{
		{name: "before the check time", at: day0.Add(9*time.Hour + 59*time.Minute)},
		{name: "check time passed", at: day0.Add(10 * time.Hour), want: []string{ConditionDailyCheck}, wantMsg: "daily check not confirmed by 10:00"},
		{name: "check done early", check: ptr(day0.Add(7 * time.Hour)), at: day0.Add(12 * time.Hour)},
		{name: "check of yesterday does not count", check: ptr(day0.Add(-3 * time.Hour)), at: day0.Add(12 * time.Hour), want: []string{ConditionDailyCheck}},
		{name: "calibration in 31 days", due: "2026-12-21", at: day0.Add(time.Hour)},
		{name: "calibration in 30 days", due: "2026-12-20", at: day0.Add(time.Hour), want: []string{ConditionCalibration}, wantMsg: "probe calibration due on 2026-12-20 (in 30 days)"},
		{name: "calibration overdue", due: "2026-11-19", at: day0.Add(time.Hour), want: []string{ConditionCalibration}, wantMsg: "probe calibration overdue since 2026-11-19"},
		{name: "both", due: "2026-11-01", at: day0.Add(23 * time.Hour), want: []string{ConditionDailyCheck, ConditionCalibration}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := auditRec(t, t.TempDir(), &off, tt.due)
			if tt.check != nil {
				r.Tick(*tt.check)
				if _, err := r.ConfirmCheck("kuehlschrank", "MW", "", *tt.check); err != nil {
					t.Fatal(err)
				}
			}
			r.Tick(tt.at)
			cs := r.Conditions("kuehlschrank", tt.at)
			var names []string
			for _, c := range cs {
				names = append(names, c.Name)
				if c.Severity != drivers.Minor {
					t.Fatalf("%s is %s, want minor", c.Name, c.Severity)
				}
			}
			if strings.Join(names, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("conditions %v, want %v", names, tt.want)
			}
			if tt.wantMsg != "" && cs[0].Message != tt.wantMsg {
				t.Fatalf("message %q, want %q", cs[0].Message, tt.wantMsg)
			}
			if r.Conditions("andere", tt.at) != nil {
				t.Fatal("conditions for a device that is no fridge")
			}
		})
	}
	// Without daily_check_by there is no daily-check alarm.
	r := newRec(t, t.TempDir())
	if cs := r.Conditions("kuehlschrank", day0.Add(23*time.Hour)); len(cs) != 0 {
		t.Fatalf("conditions without a check time: %+v", cs)
	}
}

func ptr[T any](v T) *T { return &v }

func TestCalibration(t *testing.T) {
	tests := []struct {
		name    string
		offset  *float64
		in      float64
		want    float64
		wantRaw bool
	}{
		{"no offset configured", nil, 4.2, 4.2, false},
		{"explicit zero: checked, reads true", ptr(0.0), 4.2, 4.2, true},
		{"probe reads warm", ptr(-0.3), 4.2, 3.9, true},
		{"probe reads cold", ptr(0.3), 7.9, 8.2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			r := auditRec(t, dir, tt.offset, "2027-03-01")
			in := temp(day0, tt.in)
			out := r.Calibrate(in)
			if v, _ := in.Metrics[0].Float(); v != tt.in || len(in.Metrics) != 2 {
				t.Fatalf("caller's sample changed: %+v", in.Metrics)
			}
			if v, _ := out.Metrics[0].Float(); v != tt.want {
				t.Fatalf("corrected %v, want %v", v, tt.want)
			}
			raw := false
			for _, m := range out.Metrics {
				if m.Name == "temperature.raw" {
					raw = true
					if v, _ := m.Float(); v != tt.in || m.Unit != "°C" {
						t.Fatalf("raw %+v", m)
					}
				}
			}
			if raw != tt.wantRaw {
				t.Fatalf("raw metric present %v, want %v: %+v", raw, tt.wantRaw, out.Metrics)
			}
			if other := r.Calibrate(drivers.Sample{Device: "usv", Metrics: []drivers.Metric{drivers.Num("temperature", 20, "°C")}}); len(other.Metrics) != 1 {
				t.Fatalf("other device calibrated: %+v", other.Metrics)
			}
			// The record notes the offset and the due date with the day.
			r.Tick(day0)
			feed(r, day0, 10, func(int) float64 { v, _ := r.Calibrate(temp(day0, tt.in)).Metrics[0].Float(); return v })
			r.Tick(day0.Add(24*time.Hour + time.Second))
			rec := records(t, dir)[0]
			if (rec.OffsetC == nil) != (tt.offset == nil) || (rec.OffsetC != nil && *rec.OffsetC != *tt.offset) || rec.CalibrationDue != "2027-03-01" {
				t.Fatalf("record calibration %v %q", rec.OffsetC, rec.CalibrationDue)
			}
			if *rec.Max != tt.want {
				t.Fatalf("record max %v, want the corrected %v", *rec.Max, tt.want)
			}
		})
	}
}
