package coldchain

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Berlin without the system's zoneinfo

	"github.com/praxisgate/praxisgate/drivers"
)

// A worked example, computed by hand: three hours at 5 °C and one at
// 25 °C. T = 278.15 K and 298.15 K;
// exp(−10000/278.15) = 2.4340e−16, exp(−10000/298.15) = 2.7145e−15;
// mean of the four terms = (3·2.4340e−16 + 2.7145e−15)/4 = 8.6118e−16;
// −ln(8.6118e−16) = 34.68823; 10000/34.68823 = 288.2822 K = 15.13 °C,
// five degrees above the arithmetic mean of 10 °C: warm hours weigh more.
func TestMKTWorkedExample(t *testing.T) {
	got := MKT([]float64{5, 5, 5, 25})
	if math.Abs(got-15.1322) > 0.001 {
		t.Fatalf("MKT = %.4f °C, want 15.1322 °C", got)
	}
}

// MKT is never below the arithmetic mean and equals a constant
// temperature (Jensen's inequality on the convex Arrhenius term).
func TestMKTProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 500; trial++ {
		n := 1 + rng.IntN(200)
		vs := make([]float64, n)
		var sum float64
		for i := range vs {
			vs[i] = -20 + rng.Float64()*60
			sum += vs[i]
		}
		if m, mean := MKT(vs), sum/float64(n); m < mean-1e-9 {
			t.Fatalf("trial %d: MKT %.4f below the mean %.4f", trial, m, mean)
		}
		c := vs[0]
		if m := MKT([]float64{c, c, c}); math.Abs(m-c) > 1e-9 {
			t.Fatalf("MKT of constant %.3f is %.6f", c, m)
		}
	}
}

var day0 = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

func newRec(t *testing.T, dir string) *Recorder {
	t.Helper()
	r, err := New(Options{Dir: dir, Location: time.UTC, Fridges: []Fridge{{ID: "kuehlschrank", Low: 2, High: 8, Interval: time.Minute}}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func temp(at time.Time, v float64) drivers.Sample {
	return drivers.Sample{Device: "kuehlschrank", Time: at, Metrics: []drivers.Metric{drivers.Num("temperature", v, "°C"), drivers.Num("door.open", 0, "")}}
}

// feed sends one reading a minute from start for n minutes, value by
// minute index, with the gateway's clock ticking along.
func feed(r *Recorder, start time.Time, n int, value func(i int) float64) {
	for i := 0; i < n; i++ {
		at := start.Add(time.Duration(i) * time.Minute)
		r.Tick(at)
		r.Observe(temp(at, value(i)))
	}
}

func records(t *testing.T, dir string) []Record {
	t.Helper()
	rs, err := Records(dir, "kuehlschrank", "", "")
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestDailyRecord(t *testing.T) {
	dir := t.TempDir()
	r := newRec(t, dir)
	r.Tick(day0)
	// 5 °C all day, the door left open 19:00–19:30 (10 °C), a freezer
	// fault 22:00–22:10 (1 °C).
	feed(r, day0, 24*60, func(i int) float64 {
		switch {
		case i == 19*60+10:
			return 12
		case i >= 19*60 && i < 19*60+30:
			return 10
		case i >= 22*60 && i < 22*60+10:
			return 1
		}
		return 5
	})
	r.Observe(temp(day0.Add(19*time.Hour+10*time.Minute), 12)) // duplicate time: ignored
	evs := r.Tick(day0.Add(24*time.Hour + time.Second))
	if len(evs) != 1 || evs[0].Type != DailyEvent || evs[0].Device != "kuehlschrank" || evs[0].Attrs["date"] != "2026-11-20" {
		t.Fatalf("events %+v", evs)
	}
	rs := records(t, dir)
	if len(rs) != 1 {
		t.Fatalf("%d records", len(rs))
	}
	rec := rs[0]
	if rec.Samples != 1440 || *rec.Min != 1 || *rec.Max != 12 || rec.MinutesOut != 40 || rec.MinutesNoData != 0 || rec.Prev != "" {
		t.Fatalf("record %+v", rec)
	}
	wantMean := (1440*5.0 + 29*5 + 7 + 10*-4) / 1440 // 29 at 10, one at 12, 10 at 1
	if math.Abs(*rec.Mean-round(wantMean, 2)) > 1e-9 {
		t.Fatalf("mean %.2f, want %.2f", *rec.Mean, wantMean)
	}
	var vs []float64
	for i := 0; i < 1440; i++ {
		v := 5.0
		switch {
		case i == 19*60+10:
			v = 12
		case i >= 19*60 && i < 19*60+30:
			v = 10
		case i >= 22*60 && i < 22*60+10:
			v = 1
		}
		vs = append(vs, v)
	}
	if math.Abs(*rec.MKT-round(MKT(vs), 2)) > 1e-9 || *rec.MKT <= *rec.Mean {
		t.Fatalf("MKT %.2f, want %.2f", *rec.MKT, MKT(vs))
	}
	if len(rec.Excursions) != 2 {
		t.Fatalf("excursions %+v", rec.Excursions)
	}
	warm, cold := rec.Excursions[0], rec.Excursions[1]
	if warm.Direction != "above" || !warm.Start.Equal(day0.Add(19*time.Hour)) || warm.End == nil || !warm.End.Equal(day0.Add(19*time.Hour+30*time.Minute)) ||
		warm.Peak != 12 || warm.Minutes != 30 {
		t.Fatalf("warm excursion %+v", warm)
	}
	if cold.Direction != "below" || cold.Peak != 1 || cold.Minutes != 10 {
		t.Fatalf("cold excursion %+v", cold)
	}
	// The event carries the stored line and its hash.
	lines, _ := readLines(dir, "kuehlschrank")
	if raw, _ := evs[0].Attrs["record"].(json.RawMessage); !bytes.Equal(raw, lines[0].raw) || evs[0].Attrs["hash"] != Hash(lines[0].raw) {
		t.Fatalf("event attrs %v", evs[0].Attrs)
	}
}

func TestExcursionOverMidnightAndDaysWithoutReadings(t *testing.T) {
	dir := t.TempDir()
	r := newRec(t, dir)
	r.Tick(day0)
	// Warm from 23:30 to 00:20, then the sensor falls silent for two
	// whole days.
	start := day0.Add(23*time.Hour + 30*time.Minute)
	feed(r, start, 60, func(i int) float64 {
		if i < 50 {
			return 9 + float64(i)/100
		}
		return 6
	})
	r.Tick(day0.Add(4*24*time.Hour + time.Hour))
	rs := records(t, dir)
	if len(rs) != 4 {
		t.Fatalf("%d records, want 4: %+v", len(rs), rs)
	}
	d1, d2 := rs[0], rs[1]
	if len(d1.Excursions) != 1 || d1.Excursions[0].End != nil || d1.Excursions[0].Minutes != 30 || d1.MinutesOut != 30 {
		t.Fatalf("day 1 excursion %+v", d1.Excursions)
	}
	if math.Abs(d1.MinutesNoData-(23*60+30)) > 0.01 {
		t.Fatalf("day 1 no data %.1f min", d1.MinutesNoData)
	}
	e := d2.Excursions[0]
	if !e.Start.Equal(start) || e.End == nil || !e.End.Equal(start.Add(50*time.Minute)) || e.Minutes != 20 || e.Peak != 9.49 {
		t.Fatalf("day 2 excursion %+v", e)
	}
	// Readings until 00:29, the last standing for 3 more minutes.
	if math.Abs(d2.MinutesNoData-(24*60-32)) > 0.01 {
		t.Fatalf("day 2 no data %.1f min", d2.MinutesNoData)
	}
	for _, d := range rs[2:] {
		if d.Samples != 0 || d.Min != nil || d.MKT != nil || d.MinutesNoData != 1440 || len(d.Excursions) != 0 {
			t.Fatalf("silent day %+v", d)
		}
	}
	if breaks, err := Verify(dir, "kuehlschrank"); err != nil || len(breaks) != 0 {
		t.Fatalf("verify: %v %v", breaks, err)
	}
}

// A restart in the middle of a day gives the same record as a day without
// one (the gap of the restart aside).
func TestRestartMidDay(t *testing.T) {
	value := func(i int) float64 { return 4 + 3*math.Sin(float64(i)/50) + float64(i%7)/10 }
	run := func(restart bool) Record {
		dir := t.TempDir()
		r := newRec(t, dir)
		r.Tick(day0)
		feed(r, day0, 700, value)
		if restart {
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			r = newRec(t, dir)
		}
		feed(r, day0.Add(700*time.Minute), 1440-700, func(i int) float64 { return value(i + 700) })
		r.Tick(day0.Add(25 * time.Hour))
		rs := records(t, dir)
		if len(rs) != 1 {
			t.Fatalf("restart=%v: %d records", restart, len(rs))
		}
		return rs[0]
	}
	a, b := run(false), run(true)
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		t.Fatalf("records differ:\n%s\n%s", ja, jb)
	}
}

// A record written just before a power cut (state not yet saved) is not
// written twice, and a torn line is cut.
func TestCrashAroundTheRecord(t *testing.T) {
	dir := t.TempDir()
	r := newRec(t, dir)
	r.Tick(day0)
	feed(r, day0, 10, func(int) float64 { return 5 })
	r.Close()
	saved, _ := os.ReadFile(stateFile(dir, "kuehlschrank"))
	r.Tick(day0.Add(24*time.Hour + time.Minute))
	// Back to the state before the record and a head without its line
	// (the crash came between the record and the head), plus half a
	// record line and half a head line.
	os.WriteFile(stateFile(dir, "kuehlschrank"), saved, 0o640)
	os.WriteFile(headFile(dir, "kuehlschrank"), []byte("2026-11-2"), 0o640)
	f, _ := os.OpenFile(filepath.Join(dir, "kuehlschrank", "2026.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"date":"2026-11-2`)
	f.Close()
	r2 := newRec(t, dir)
	if st := r2.Integrity(); !st[0].Intact() {
		t.Fatalf("after the crash: %+v", st)
	}
	r2.Tick(day0.Add(48*time.Hour + time.Minute))
	rs := records(t, dir)
	if len(rs) != 2 || rs[0].Date != "2026-11-20" || rs[1].Date != "2026-11-21" {
		t.Fatalf("records %+v", rs)
	}
	if breaks, err := Verify(dir, "kuehlschrank"); err != nil || len(breaks) != 0 {
		t.Fatalf("verify: %v %v", breaks, err)
	}
}

func TestDaylightSavingDayLength(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	r, _ := New(Options{Dir: dir, Location: berlin, Fridges: []Fridge{{ID: "kuehlschrank", Low: 2, High: 8, Interval: time.Minute}}})
	// 25 October 2026: clocks go back, the day has 25 hours.
	r.Tick(time.Date(2026, 10, 25, 12, 0, 0, 0, berlin))
	r.Tick(time.Date(2026, 10, 26, 0, 0, 1, 0, berlin))
	rs := records(t, dir)
	if len(rs) != 1 || rs[0].Date != "2026-10-25" || rs[0].MinutesNoData != 25*60 || rs[0].TZ != "Europe/Berlin" {
		t.Fatalf("records %+v", rs)
	}
}

func chainOfDays(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	r := newRec(t, dir)
	r.Tick(day0)
	for d := 0; d < n; d++ {
		feed(r, day0.Add(time.Duration(d)*24*time.Hour), 5, func(i int) float64 { return 3 + float64(d) })
	}
	r.Tick(day0.Add(time.Duration(n)*24*time.Hour + time.Second))
	if got := len(records(t, dir)); got != n {
		t.Fatalf("%d records, want %d", got, n)
	}
	return dir
}

func TestVerifyFindsTampering(t *testing.T) {
	file := func(dir string) string { return filepath.Join(dir, "kuehlschrank", "2026.jsonl") }
	edit := func(path string, f func(lines []string) []string) {
		b, _ := os.ReadFile(path)
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		os.WriteFile(path, []byte(strings.Join(f(lines), "\n")+"\n"), 0o640)
	}
	// rechain rewrites every prev after a change so the day files agree
	// with themselves, as a careful forger would.
	rechain := func(l []string) []string {
		prev := ""
		for i := range l {
			var r Record
			json.Unmarshal([]byte(l[i]), &r)
			r.Prev = prev
			b, _ := json.Marshal(r)
			l[i] = string(b)
			prev = Hash(b)
		}
		return l
	}
	cases := []struct {
		name   string
		tamper func(dir string)
		want   string // in the first break's reason
		line   int    // of the first break, 0: not checked
		after  string // in a break after the restarts, if not want
	}{
		{"untouched", func(string) {}, "", 0, ""},
		{"a warm day made cool", func(dir string) {
			edit(file(dir), func(l []string) []string { l[2] = strings.Replace(l[2], `"max_c":5`, `"max_c":4.5`, 1); return l })
		}, "differs from the chain head", 3, ""},
		{"the newest day edited", func(dir string) {
			edit(file(dir), func(l []string) []string { l[4] = strings.Replace(l[4], `"max_c":7`, `"max_c":6`, 1); return l })
		}, "differs from the chain head", 5, ""},
		{"the newest day edited and the chain redone", func(dir string) {
			edit(file(dir), func(l []string) []string {
				l[4] = strings.Replace(l[4], `"max_c":7`, `"max_c":6`, 1)
				return rechain(l)
			})
		}, "differs from the chain head", 5, ""},
		{"a day removed", func(dir string) { edit(file(dir), func(l []string) []string { return append(l[:2], l[3:]...) }) }, "is not the hash", 3, ""},
		{"a day removed and the chain redone", func(dir string) {
			edit(file(dir), func(l []string) []string { return rechain(append(l[:2], l[3:]...)) })
		}, "differs from the chain head", 3, ""},
		{"a day removed from records and head, chain redone", func(dir string) {
			edit(file(dir), func(l []string) []string { return rechain(append(l[:2], l[3:]...)) })
			edit(filepath.Join(dir, "kuehlschrank", "head.log"), func(l []string) []string {
				b, _ := os.ReadFile(file(dir))
				recs := strings.Split(strings.TrimSpace(string(b)), "\n")
				var out []string
				for _, r := range recs {
					var rec Record
					json.Unmarshal([]byte(r), &rec)
					out = append(out, rec.Date+" "+Hash([]byte(r)))
				}
				return out
			})
		}, "days 2026-11-22 to 2026-11-22 missing", 3, ""},
		{"days swapped", func(dir string) {
			edit(file(dir), func(l []string) []string { l[1], l[2] = l[2], l[1]; return l })
		}, "is not the hash", 2, ""},
		{"the first day removed", func(dir string) { edit(file(dir), func(l []string) []string { return l[1:] }) }, "first record refers to a predecessor", 1, ""},
		{"the newest day removed", func(dir string) { edit(file(dir), func(l []string) []string { return l[:len(l)-1] }) }, "has no record (removed)", 5, ""},
		{"a line of garbage", func(dir string) { edit(file(dir), func(l []string) []string { l[1] = "{not json"; return l }) }, "not a record", 2, ""},
		{"the head removed and the newest day edited", func(dir string) {
			os.Remove(filepath.Join(dir, "kuehlschrank", "head.log"))
			edit(file(dir), func(l []string) []string { l[4] = strings.Replace(l[4], `"max_c":7`, `"max_c":6`, 1); return l })
		}, "chain head file", 0, ""},
		{"the head and the day state removed", func(dir string) {
			os.Remove(filepath.Join(dir, "kuehlschrank", "head.log"))
			os.Remove(filepath.Join(dir, "kuehlschrank", "day.json"))
		}, "chain head file", 0, ""},
		{"days added", func(dir string) {
			// Two made-up days: the first is the day in progress and
			// passes for a record whose head line a crash lost; the one
			// after it cannot.
			edit(file(dir), func(l []string) []string {
				for _, date := range []string{"2026-11-25", "2026-11-26"} {
					var r Record
					json.Unmarshal([]byte(l[len(l)-1]), &r)
					r.Date, r.Prev = date, Hash([]byte(l[len(l)-1]))
					b, _ := json.Marshal(r)
					l = append(l, string(b))
				}
				return l
			})
		}, "not in the chain head", 6, "differs from the chain head"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := chainOfDays(t, 5)
			c.tamper(dir)
			check := func(when string) {
				t.Helper()
				breaks, err := Verify(dir, "kuehlschrank")
				if err != nil {
					t.Fatal(err)
				}
				if c.want == "" {
					if len(breaks) != 0 {
						t.Fatalf("%s: breaks in an untouched chain: %v", when, breaks)
					}
					return
				}
				for _, b := range breaks {
					if b.Grund == "" || b.Grund == b.Reason {
						t.Fatalf("%s: break without German wording: %+v", when, b)
					}
				}
				if when == "before a restart" {
					if len(breaks) == 0 || !strings.Contains(breaks[0].Reason, c.want) || (c.line != 0 && breaks[0].Line != c.line) {
						t.Fatalf("%s: breaks %v, want the first at line %d saying %q", when, breaks, c.line, c.want)
					}
					return
				}
				want, found := c.want, false
				if c.after != "" {
					want = c.after
				}
				for _, b := range breaks {
					found = found || strings.Contains(b.Reason, want)
				}
				if !found {
					t.Fatalf("%s: breaks %v, want one saying %q", when, breaks, want)
				}
			}
			check("before a restart")
			// A restart must neither re-anchor the chain on the tampered
			// files nor stop reporting: the break is raised at once and
			// is still there after more days were written.
			r := newRec(t, dir)
			evs := r.Tick(day0.Add(5*24*time.Hour + time.Minute))
			st := r.Integrity()
			if c.want == "" {
				if len(evs) != 0 || len(st) != 1 || !st[0].Intact() || st[0].Days != 5 {
					t.Fatalf("untouched: events %v, status %+v", evs, st)
				}
			} else {
				var raised bool
				for _, e := range evs {
					raised = raised || (e.Type == IntegrityEvent && e.Severity == drivers.Major)
				}
				if !raised || st[0].Intact() || !strings.Contains(st[0].German(), "Protokoll geprüft: GEBROCHEN") {
					t.Fatalf("after a restart: events %v, status %+v", evs, st)
				}
			}
			feed(r, day0.Add(5*24*time.Hour+time.Hour), 3, func(int) float64 { return 5 })
			r.Tick(day0.Add(8*24*time.Hour + time.Minute))
			r.Close()
			r = newRec(t, dir)
			r.Tick(day0.Add(8*24*time.Hour + 2*time.Minute))
			check("after restarts and more days")
			if c.want == "" && r.Integrity()[0].German() != "Protokoll geprüft: intakt (8 Tage)" {
				t.Fatalf("verdict %q", r.Integrity()[0].German())
			}
		})
	}
}

// Records of a version without a chain head: the first start creates the
// head from them (the day state vouches for the newest), and from then on
// they are protected.
func TestChainHeadCreatedOnUpgrade(t *testing.T) {
	dir := chainOfDays(t, 3)
	hf := filepath.Join(dir, "kuehlschrank", "head.log")
	os.Remove(hf)
	r := newRec(t, dir)
	if evs := r.Tick(day0.Add(3*24*time.Hour + time.Minute)); len(evs) != 0 {
		t.Fatalf("events %v", evs)
	}
	if st := r.Integrity(); !st[0].Intact() || st[0].Days != 3 {
		t.Fatalf("after the upgrade: %+v", st)
	}
	b, _ := os.ReadFile(hf)
	if !strings.HasPrefix(string(b), "# chain head created at ") || strings.Count(string(b), "\n") != 4 {
		t.Fatalf("head:\n%s", b)
	}
	r.Close()
	path := filepath.Join(dir, "kuehlschrank", "2026.jsonl")
	y, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.Replace(string(y), `"max_c":3`, `"max_c":2.5`, 1)), 0o640)
	r = newRec(t, dir)
	if st := r.Integrity(); st[0].Intact() || !strings.Contains(st[0].Breaks[0].Reason, "differs from the chain head") {
		t.Fatalf("an edit after the upgrade: %+v", st)
	}
}

func TestWriteCSV(t *testing.T) {
	dir := t.TempDir()
	r := newRec(t, dir)
	r.Tick(day0)
	feed(r, day0.Add(10*time.Hour), 30, func(i int) float64 {
		if i >= 10 && i < 20 {
			return 9.5
		}
		return 5.25
	})
	r.Tick(day0.Add(2*24*time.Hour + time.Second))
	// Today, 23 November, has readings from 06:00 to 06:59 so far.
	feed(r, day0.Add(3*24*time.Hour+6*time.Hour), 60, func(int) float64 { return 4 })
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	now := day0.Add(3*24*time.Hour + 12*time.Hour)
	lines, _ := readLines(dir, "kuehlschrank")
	tests := []struct {
		name   string
		o      CSVOptions
		prefix string
		comma  rune
		rows   [][]string // date, samples, max, minutes out, details, status, hash
	}{
		{"German", CSVOptions{From: "2026-11-20", Now: now}, "\ufeffDatum;Gerät;Zeitzone;Sollbereich von (°C);", ';', [][]string{
			{"20.11.2026", "30", "9,5", "10", "zu warm 20.11.2026 10:10 – 20.11.2026 10:20, Spitze 9,5 °C, 10 min", "vollständig", Hash(lines[0].raw)},
			{"21.11.2026", "0", "", "0", "", "vollständig", Hash(lines[1].raw)},
			{"22.11.2026", "0", "", "0", "", "vollständig", Hash(lines[2].raw)},
			{"23.11.2026", "60", "4", "0", "", "unvollständig", ""},
		}},
		{"ISO", CSVOptions{From: "2026-11-20", To: "2026-11-21", Format: ISO, Now: now}, "date,device,tz,low_c,", ',', [][]string{
			{"2026-11-20", "30", "9.5", "10", "above 2026-11-20 10:10 – 2026-11-20 10:20 peak 9.5 °C 10 min", "complete", Hash(lines[0].raw)},
			{"2026-11-21", "0", "", "0", "", "complete", Hash(lines[1].raw)},
		}},
		{"today only", CSVOptions{From: "2026-11-23", Format: ISO, Now: now}, "date,", ',', [][]string{
			{"2026-11-23", "60", "4", "0", "", "incomplete", ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteCSVWith(&buf, dir, "kuehlschrank", tt.o); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(buf.String(), tt.prefix) {
				t.Fatalf("CSV starts %q", buf.String()[:min(60, buf.Len())])
			}
			if tt.o.Format == German && !strings.Contains(buf.String(), "\r\n") {
				t.Fatal("German CSV without CRLF line ends")
			}
			cr := csv.NewReader(strings.NewReader(strings.TrimPrefix(buf.String(), "\ufeff")))
			cr.Comma = tt.comma
			rows, err := cr.ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			head := CSVHeader(tt.o.Format)
			if len(rows) != 1+len(tt.rows) || strings.Join(rows[0], "|") != strings.Join(head, "|") {
				t.Fatalf("rows %q", rows)
			}
			for i, want := range tt.rows {
				row := rows[i+1]
				got := []string{row[0], row[5], row[7], row[10], row[13], row[14], row[15]}
				if strings.Join(got, "|") != strings.Join(want, "|") {
					t.Errorf("row %d:\n got %q\nwant %q", i+1, got, want)
				}
				if row[2] != "UTC" || row[1] != "kuehlschrank" {
					t.Errorf("row %d: device/tz %q %q", i+1, row[1], row[2])
				}
			}
			if tt.name == "German" {
				// The partial day: mean 4, 06:00–07:02 covered (the last
				// reading holds 3 minutes), so 12 h − 62 min without data.
				today := rows[4]
				if today[8] != "4" || today[11] != "658" || today[6] != "4" {
					t.Errorf("today's row %q", today)
				}
				if rows[1][6] != "5,25" || rows[1][3] != "2" {
					t.Errorf("decimal commas: %q", rows[1])
				}
			}
		})
	}
}

// Days follow local midnight in Berlin: 29 March 2026 has 23 hours and
// 25 October 25; one reading a minute fills each of them exactly.
func TestDaylightSavingDaysWithReadings(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		date  string
		hours int
	}{{"2026-03-29", 23}, {"2026-10-25", 25}, {"2026-06-01", 24}} {
		dir := t.TempDir()
		// No Location: the package default is Europe/Berlin.
		r, err := New(Options{Dir: dir, Fridges: []Fridge{{ID: "kuehlschrank", Low: 2, High: 8, Interval: time.Minute}}})
		if err != nil {
			t.Fatal(err)
		}
		start, _ := time.ParseInLocation(time.DateOnly, tt.date, berlin)
		r.Tick(start)
		n := int(start.AddDate(0, 0, 1).Sub(start) / time.Minute)
		feed(r, start, n, func(i int) float64 { return 5 + float64(i%2) })
		r.Tick(start.AddDate(0, 0, 1).Add(time.Second))
		rs := records(t, dir)
		if n != tt.hours*60 || len(rs) != 1 || rs[0].Date != tt.date || rs[0].TZ != "Europe/Berlin" || rs[0].Samples != n ||
			rs[0].MinutesNoData != 0 || *rs[0].Mean != 5.5 {
			t.Fatalf("%s: %d minutes, records %+v", tt.date, n, rs)
		}
	}
}

func TestIgnoresOtherDevicesAndOldReadings(t *testing.T) {
	dir := t.TempDir()
	r := newRec(t, dir)
	r.Tick(day0)
	r.Observe(drivers.Sample{Device: "raum", Time: day0.Add(time.Minute), Metrics: []drivers.Metric{drivers.Num("temperature", 30, "°C")}})
	r.Observe(temp(day0.Add(2*time.Minute), 5))
	r.Observe(temp(day0.Add(time.Minute), 20)) // older than the newest: a clock step back
	r.Observe(drivers.Sample{Device: "kuehlschrank", Time: day0.Add(3 * time.Minute), Metrics: []drivers.Metric{drivers.Text("temperature", "n/a")}})
	r.Observe(temp(day0.AddDate(4, 0, 0), 5)) // a device clock in 2030: would close four years of days
	r.Tick(day0.Add(24 * time.Hour))
	rs := records(t, dir)
	if len(rs) != 1 || rs[0].Samples != 1 || *rs[0].Max != 5 {
		t.Fatalf("records %+v", rs)
	}
}
