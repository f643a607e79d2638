// Package coldchain keeps the daily temperature record of medication
// fridges that inspections ask for: per fridge and local calendar day the
// minimum, maximum, time-weighted mean and mean kinetic temperature, the
// excursions out of the band (start, end, peak, minutes) and how much of
// the day no reading covers. Implausible readings (gateway/plausible) never
// enter it.
//
// The record is computed on the box from the readings the gateway sees, so
// it is continuous through uplink outages. Days are appended as JSON lines
// to <dir>/<device>/<year>.jsonl and never rewritten or deleted (a year is
// about 200 KB with the audit entries, so years fit on any box); each line carries the SHA-256 of
// the line before, and the chain head <dir>/<device>/head.log, a second
// append-only file, keeps every day's hash. The recorder checks the day
// files against the head at start and after every day and continues the
// chain from the head, so a changed, removed or reordered day stays a
// break (Verify, Integrity, IntegrityEvent). The day in progress is
// persisted in <dir>/<device>/day.json, so a restart mid-day continues it.
// Each finished day is also published as a coldchain.daily event carrying
// the exact line, which gives the provider an outside copy of every hash.
package coldchain

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway/config"
	"github.com/praxisgate/praxisgate/gateway/plausible"
)

// DailyEvent is the type of the event that publishes a finished day.
const DailyEvent = "coldchain.daily"

// DirName is the record directory below state_dir.
const DirName = "coldchain"

// Fridge is one device whose cold chain is recorded.
type Fridge struct {
	ID string
	// Metric is the temperature in °C, usually temperature.
	Metric    string
	Low, High float64
	// Hold is the longest time one reading stands for; readings further
	// apart leave the time between as "no data". FromConfig sets the
	// fridge profile's stale time; default 3 × Interval, at least one
	// minute.
	Hold     time.Duration
	Interval time.Duration
	// Plausible is the range a reading must lie in to be recorded;
	// default plausible.FridgeTemperature. Sentinels are refused in any
	// case.
	Plausible *plausible.Range
	// Offset is the probe's calibration offset, added to each reading
	// (Calibrate) and noted in each day's record; nil: none.
	Offset *float64
	// CalibrationDue is the probe's next calibration date (YYYY-MM-DD);
	// empty: none set.
	CalibrationDue string
}

// Options build a Recorder.
type Options struct {
	// Dir holds one directory per fridge; usually <state_dir>/coldchain.
	Dir     string
	Fridges []Fridge
	// Location decides where a day begins and ends; default
	// DefaultTimezone (Europe/Berlin), never the box's time.Local, which
	// the image leaves at UTC.
	Location *time.Location
	// SaveEvery bounds how often the day in progress is written to disk
	// (and so how many readings a power cut can lose from the day's
	// figures). Default one minute.
	SaveEvery time.Duration
	// CheckBy is the local time of day (since midnight, wall clock) by
	// which a daily check must be confirmed, else ConditionDailyCheck is
	// raised; nil: no such alarm. A pointer, since 0 (midnight) is a
	// time.
	CheckBy *time.Duration
	Log     *slog.Logger
	// Now is the gateway clock, used before the first Tick; default
	// time.Now.
	Now func() time.Time
}

// Recorder follows the fridges' readings. Observe and Tick may be called
// concurrently.
type Recorder struct {
	o Options

	mu      sync.Mutex
	fridges map[string]*tracked
	order   []string
	pending []drivers.Event
	// lastTick is the gateway clock at the last Tick; readings stamped far
	// beyond it come from a device's wrong clock.
	lastTick time.Time
}

// maxAhead is how far a reading's time may be ahead of the gateway clock.
// A sensor with a wrong clock (2030) must not close years of days.
const maxAhead = 10 * time.Minute

type tracked struct {
	st      dayState
	b       band
	metric  string
	dirty   bool
	savedAt time.Time
	// plaus is the plausible range; refusing says the newest reading
	// was refused (an invalid-reading episode is going on).
	plaus    plausible.Range
	refusing bool
	// headLag are chain head lines not yet written (a failed append).
	headLag []string
	// status is the last check of the record (Integrity).
	status Status
	// cal is the probe's calibration.
	cal calib
}

// maxCatchUp bounds the days one Tick closes (after a long power-off), so
// a Tick stays short; the next Tick goes on.
const maxCatchUp = 62

// FromConfig records every enabled device of kind fridge with the band of
// the config's fridge profile and the device's plausible range, in
// <state_dir>/coldchain, with days in the config's timezone.
func FromConfig(cfg *config.Config, log *slog.Logger) (*Recorder, error) {
	fp := cfg.Fridge.Effective()
	pc := plausible.New(cfg.Devices)
	var fr []Fridge
	for _, d := range cfg.Devices {
		if d.Disabled || d.Kind != config.FridgeKind {
			continue
		}
		// A reading holds until the sensor counts as stale, the moment the
		// alarm engine raises "sensor offline".
		f := Fridge{ID: d.ID, Metric: fp.Metric, Low: *fp.Low, High: *fp.High, Interval: d.Interval, Hold: fp.StaleFor(d.Interval)}
		if r, ok := pc.Range(d.ID, fp.Metric); ok {
			f.Plausible = &r
		}
		if c := d.Calibration; c != nil {
			f.Offset, f.CalibrationDue = c.Offset, c.Due
		}
		fr = append(fr, f)
	}
	loc, err := LoadTimezone(cfg.Timezone)
	if err != nil {
		return nil, err
	}
	o := Options{Dir: filepath.Join(cfg.StateDir, DirName), Fridges: fr, Log: log, Location: loc}
	if by, ok := cfg.Fridge.CheckBy(); ok {
		o.CheckBy = &by
	}
	return New(o)
}

// New loads each fridge's day in progress and the end of its record chain.
func New(o Options) (*Recorder, error) {
	if o.Location == nil {
		loc, err := LoadTimezone("")
		if err != nil {
			return nil, err
		}
		o.Location = loc
	}
	if o.SaveEvery <= 0 {
		o.SaveEvery = time.Minute
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	r := &Recorder{o: o, fridges: map[string]*tracked{}}
	for _, f := range o.Fridges {
		if f.Metric == "" {
			f.Metric = config.DefaultFridgeMetric
		}
		if f.Hold <= 0 {
			f.Hold = max(3*f.Interval, time.Minute)
		}
		t, err := r.load(f)
		if err != nil {
			return nil, err
		}
		r.fridges[f.ID] = t
		r.order = append(r.order, f.ID)
		r.check(t, r.now())
	}
	sort.Strings(r.order)
	return r, nil
}

func (r *Recorder) load(f Fridge) (*tracked, error) {
	if cut, err := repairTail(r.o.Dir, f.ID); err != nil {
		return nil, err
	} else if cut > 0 {
		r.o.Log.Warn("coldchain: cut a torn record (power cut while writing)", "device", f.ID, "bytes", cut)
	}
	st, ok, err := loadState(r.o.Dir, f.ID)
	if err != nil {
		// The figures of one day are lost, not the chain: it continues
		// from the records on disk.
		r.o.Log.Error("coldchain: day state unreadable, starting the day afresh", "device", f.ID, "err", err)
		ok = false
	}
	if _, derr := time.Parse(time.DateOnly, st.Date); ok && st.Date != "" && derr != nil {
		r.o.Log.Error("coldchain: day state names no valid day, starting the day afresh", "device", f.ID, "date", st.Date)
		ok = false
	}
	if !ok {
		st = dayState{Device: f.ID}
	}
	st.Device = f.ID
	st.TZ, st.Low, st.High, st.Hold = r.o.Location.String(), f.Low, f.High, f.Hold
	st.OffsetC, st.CalibrationDue = f.Offset, f.CalibrationDue
	// Unreadable files must not keep the daemon (and every other fridge)
	// down: the check after load reports them, and the chain goes on.
	if err := r.reconcileHead(f.ID, st); err != nil {
		r.o.Log.Error("coldchain: bring the chain head up to the records", "device", f.ID, "err", err)
	}
	// The chain goes on from the head, never from the day files: a newest
	// day edited or removed on disk stays a break instead of becoming the
	// new anchor.
	head, err := readHead(r.o.Dir, f.ID)
	if err != nil {
		r.o.Log.Error("coldchain: chain head unreadable; the chain continues without it", "device", f.ID, "err", err)
	}
	st.Prev, st.LastDate = "", ""
	if e, ok := head.last(); ok {
		st.Prev, st.LastDate = e.hash, e.date
		if st.Date != "" && st.Date <= e.date {
			// The day was written but the state not saved after it.
			st.resetDay(r.nextDate(e.date))
		}
	}
	pr := plausible.FridgeTemperature
	if f.Plausible != nil {
		pr = *f.Plausible
	}
	return &tracked{st: st, b: band{low: f.Low, high: f.High, hold: f.Hold}, metric: f.Metric, plaus: pr,
		cal: calib{offset: f.Offset, due: f.CalibrationDue}}, nil
}

// Observe takes a successful poll result; samples of other devices and
// without the fridge's temperature are ignored, as are readings older than
// the newest one taken (a clock stepping back).
func (r *Recorder) Observe(s drivers.Sample) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.fridges[s.Device]
	if !ok {
		return
	}
	var v float64
	found := false
	for _, m := range s.Metrics {
		if m.Name == t.metric {
			v, found = m.Float()
			break
		}
	}
	if !found {
		return
	}
	// Plausibility comes first: a refused value is neither recorded nor
	// attributed time, so the newest good reading only holds for the hold
	// time and the rest of the gap counts as no data.
	if why := plausible.Check(t.metric, v, t.plaus); why != "" {
		if !t.refusing {
			r.o.Log.Warn("coldchain: implausible reading refused", "device", s.Device, "reason", why)
			r.pending = append(r.pending, plausible.Event(s.Device, t.metric, v, why, s.Time))
		}
		t.refusing = true
		return
	}
	t.refusing = false
	if !r.lastTick.IsZero() && s.Time.After(r.lastTick.Add(maxAhead)) {
		r.o.Log.Warn("coldchain: reading from the future ignored (device clock wrong?)", "device", s.Device, "time", s.Time, "gateway_time", r.lastTick)
		return
	}
	r.rollTo(t, s.Time)
	if (t.st.HaveLast && !s.Time.After(t.st.LastAt)) || r.date(s.Time) < t.st.Date {
		return
	}
	ds, de := r.bounds(t.st.Date)
	t.st.attribute(s.Time, ds, de, t.b)
	t.st.add(s.Time, v, t.b)
	t.dirty = true
	r.maybeSave(t, s.Time)
}

// Tick closes the days that have ended, writes the day in progress now and
// then, and returns the coldchain.daily events of the days closed since the
// last Tick (by Tick or by a reading after midnight). The gateway calls it
// about once a second.
func (r *Recorder) Tick(now time.Time) []drivers.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lastTick = now
	for _, id := range r.order {
		t := r.fridges[id]
		r.rollTo(t, now)
		r.maybeSave(t, now)
	}
	out := r.pending
	r.pending = nil
	return out
}

// Close writes every day in progress.
func (r *Recorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var first error
	for _, id := range r.order {
		t := r.fridges[id]
		if !t.dirty {
			continue
		}
		if err := saveState(r.o.Dir, &t.st); err != nil && first == nil {
			first = err
		}
		t.dirty = false
	}
	return first
}

// Dir is where the records are, for Verify, Records and WriteCSV.
func (r *Recorder) Dir() string { return r.o.Dir }

// Fridges lists the recorded devices.
func (r *Recorder) Fridges() []string { return append([]string(nil), r.order...) }

func (r *Recorder) maybeSave(t *tracked, now time.Time) {
	if !t.dirty || now.Sub(t.savedAt) < r.o.SaveEvery {
		return
	}
	if err := saveState(r.o.Dir, &t.st); err != nil {
		r.o.Log.Error("coldchain: save the day in progress", "device", t.st.Device, "err", err)
		return
	}
	t.dirty, t.savedAt = false, now
}

// rollTo closes every day before now's day.
func (r *Recorder) rollTo(t *tracked, now time.Time) {
	today := r.date(now)
	if t.st.Date == "" {
		t.st.resetDay(today)
		t.dirty = true
		return
	}
	closed := false
	defer func() {
		if closed {
			r.check(t, now)
		}
	}()
	for i := 0; i < maxCatchUp && t.st.Date < today; i++ {
		if err := r.closeDay(t); err != nil {
			r.o.Log.Error("coldchain: write the day's record; trying again later", "device", t.st.Device, "date", t.st.Date, "err", err)
			return
		}
		closed = true
	}
}

func (r *Recorder) closeDay(t *tracked) error {
	ds, de := r.bounds(t.st.Date)
	t.st.attribute(de, ds, de, t.b)
	if t.st.Date > t.st.LastDate {
		rec := t.st.record(r.o.Location.String(), t.b, de.Sub(ds))
		line, err := appendRecord(r.o.Dir, rec)
		if err != nil {
			return err
		}
		t.headLag = append(t.headLag, headLine(rec.Date, Hash(line)))
		if err := appendHead(r.o.Dir, rec.Device, t.headLag...); err != nil {
			// The record is on disk and chains to the head: the lines are
			// added with the next day's, or at the next start
			// (reconcileHead).
			r.o.Log.Error("coldchain: add the day to the chain head", "device", rec.Device, "date", rec.Date, "err", err)
		} else {
			t.headLag = nil
		}
		t.st.Prev, t.st.LastDate = Hash(line), rec.Date
		r.pending = append(r.pending, dailyEvent(rec, line, de))
	}
	t.st.resetDay(r.nextDate(t.st.Date))
	if err := saveState(r.o.Dir, &t.st); err != nil {
		r.o.Log.Error("coldchain: save the day state after a record", "device", t.st.Device, "err", err)
		t.dirty = true
	} else {
		t.dirty = false
	}
	return nil
}

func dailyEvent(rec Record, line []byte, at time.Time) drivers.Event {
	msg := fmt.Sprintf("cold-chain record %s: no readings", rec.Date)
	if rec.Samples > 0 {
		msg = fmt.Sprintf("cold-chain record %s: min %.1f °C, max %.1f °C, mean %.1f °C, MKT %.1f °C, %d excursion(s), %.0f min out of %g–%g °C",
			rec.Date, *rec.Min, *rec.Max, *rec.Mean, *rec.MKT, len(rec.Excursions), rec.MinutesOut, rec.Low, rec.High)
	}
	return drivers.Event{Device: rec.Device, Time: at, Type: DailyEvent, Severity: drivers.Info, Message: msg,
		Attrs: map[string]any{"date": rec.Date, "hash": Hash(line), "record": json.RawMessage(line)}}
}

// now is the gateway clock: the last Tick, else Options.Now.
func (r *Recorder) now() time.Time {
	if !r.lastTick.IsZero() {
		return r.lastTick
	}
	return r.o.Now()
}

func (r *Recorder) date(t time.Time) string { return t.In(r.o.Location).Format(time.DateOnly) }

// bounds returns the start and end of a local day (23 to 25 hours long
// around the clock changes).
func (r *Recorder) bounds(date string) (time.Time, time.Time) {
	start, err := time.ParseInLocation(time.DateOnly, date, r.o.Location)
	if err != nil {
		// Dates are written by this package only; a damaged state file
		// is caught on load, so this is a programming error.
		panic(fmt.Sprintf("coldchain: bad date %q", date))
	}
	return start, start.AddDate(0, 0, 1)
}

func (r *Recorder) nextDate(date string) string {
	_, end := r.bounds(date)
	return end.Format(time.DateOnly)
}

// WriteCSV writes a device's records as German CSV (the package's
// WriteCSV on the recorder's directory), for the web page's download.
func (r *Recorder) WriteCSV(w io.Writer, device, from, to string) error {
	return WriteCSV(w, r.o.Dir, device, from, to)
}
