package coldchain

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/praxisgate/praxisgate/drivers"
)

// The audit trail: what staff confirmed, when and why. Inspectors ask who
// looked at the fridge each day and what was done about each alarm;
// both go into the day's record (Record.Checks, Record.Acks), so they are
// chained and verified like the temperatures, and each is also sent to
// the provider as an event at once.

// CheckEvent is the type of the event that reports a confirmed daily
// check.
const CheckEvent = "coldchain.check"

// DailyCheck is one confirmed daily check ("Tageskontrolle").
type DailyCheck struct {
	At time.Time `json:"at"`
	// User is the name or initials the person typed, as typed.
	User    string `json:"user"`
	Comment string `json:"comment,omitempty"`
	// TempC is the fridge's newest reading when the check was confirmed;
	// nil when there was none within the hold time.
	TempC *float64 `json:"temp_c,omitempty"`
}

// Ack is the acknowledgement of one of the fridge's alarms.
type Ack struct {
	At      time.Time `json:"at"`
	User    string    `json:"user"`
	Comment string    `json:"comment,omitempty"`
	// Alarm is the alarm's id; Kind, Metric and Message describe it as
	// the alarm engine did (Kind "threshold_high", Metric "temperature"
	// for a warm fridge), so a report can tie the acknowledgement to the
	// excursion it answered.
	Alarm   string `json:"alarm"`
	Kind    string `json:"kind,omitempty"`
	Metric  string `json:"metric,omitempty"`
	Message string `json:"message,omitempty"`
}

// Limits of what staff type: a name fits a line of the report, a comment
// a few sentences.
const (
	MaxUserLen    = 64
	MaxCommentLen = 500
)

// Errors of ConfirmCheck and AddAck; the web page words them for staff.
var (
	ErrNoUser      = errors.New("name or initials required")
	ErrUserLong    = fmt.Errorf("name longer than %d characters", MaxUserLen)
	ErrCommentLong = fmt.Errorf("comment longer than %d characters", MaxCommentLen)
	ErrBadText     = errors.New("control characters or invalid UTF-8 in the text")
	ErrNotFridge   = errors.New("not a recorded fridge")
)

// CleanText trims a name or comment and refuses what the record must not
// hold: invalid UTF-8 and control characters other than line breaks in a
// comment (which become spaces).
func CleanText(s string, limit int, multiline bool) (string, error) {
	if !utf8.ValidString(s) {
		return "", ErrBadText
	}
	if multiline {
		s = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
	}
	s = strings.TrimSpace(s)
	for _, r := range s {
		if unicode.IsControl(r) {
			return "", ErrBadText
		}
	}
	if utf8.RuneCountInString(s) > limit {
		if limit == MaxUserLen {
			return "", ErrUserLong
		}
		return "", ErrCommentLong
	}
	return s, nil
}

// ConfirmCheck records the daily check of device by user at the given
// time (the gateway clock) on that day's record, saves the day state at
// once (an audit entry must survive a power cut) and queues a CheckEvent.
func (r *Recorder) ConfirmCheck(device, user, comment string, at time.Time) (DailyCheck, error) {
	user, err := CleanText(user, MaxUserLen, false)
	if err != nil {
		return DailyCheck{}, err
	}
	if user == "" {
		return DailyCheck{}, ErrNoUser
	}
	if comment, err = CleanText(comment, MaxCommentLen, true); err != nil {
		return DailyCheck{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.fridges[device]
	if !ok {
		return DailyCheck{}, fmt.Errorf("coldchain: daily check of %q: %w", device, ErrNotFridge)
	}
	r.rollTo(t, at)
	c := DailyCheck{At: at.UTC(), User: user, Comment: comment}
	if t.st.HaveLast && !at.Before(t.st.LastAt) && at.Sub(t.st.LastAt) <= t.b.hold {
		v := t.st.LastValue
		c.TempC = &v
	}
	t.st.Checks = append(t.st.Checks, c)
	r.saveNow(t)
	msg := fmt.Sprintf("daily check confirmed by %s", user)
	if comment != "" {
		msg += ": " + comment
	}
	attrs := map[string]any{"user": user, "date": t.st.Date}
	if comment != "" {
		attrs["comment"] = comment
	}
	if c.TempC != nil {
		attrs["temperature_c"] = *c.TempC
	}
	r.pending = append(r.pending, drivers.Event{Device: device, Time: at, Type: CheckEvent, Severity: drivers.Info, Message: msg, Attrs: attrs})
	return c, nil
}

// AddAck records the acknowledgement of an alarm of device on that day's
// record; it reports false for a device that is not a recorded fridge
// (nothing is recorded then). The alarm.acked event itself is the alarm
// engine's.
func (r *Recorder) AddAck(device string, a Ack) (bool, error) {
	var err error
	if a.User, err = CleanText(a.User, MaxUserLen, false); err != nil {
		return false, err
	}
	if a.Comment, err = CleanText(a.Comment, MaxCommentLen, true); err != nil {
		return false, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.fridges[device]
	if !ok {
		return false, nil
	}
	r.rollTo(t, a.At)
	a.At = a.At.UTC()
	t.st.Acks = append(t.st.Acks, a)
	r.saveNow(t)
	return true, nil
}

// Today is a fridge's day in progress as the web page shows it.
type Today struct {
	Device string
	Date   string
	// Location is the record's time zone, for showing times of day.
	Location *time.Location
	Checks   []DailyCheck
	Acks     []Ack
	// CheckDue is when the daily check must be done by today (zero: no
	// time configured); CheckMissing says it is past and none was done.
	CheckDue     time.Time
	CheckMissing bool
	// Calibration is the probe's calibration state.
	Calibration Calibration
}

// Today returns every fridge's day in progress at now, sorted by id.
func (r *Recorder) Today(now time.Time) []Today {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Today, 0, len(r.order))
	for _, id := range r.order {
		t := r.fridges[id]
		d := Today{Device: id, Date: r.date(now), Location: r.o.Location, Calibration: t.cal.state(r.date(now))}
		if t.st.Date == d.Date {
			d.Checks = append([]DailyCheck(nil), t.st.Checks...)
			d.Acks = append([]Ack(nil), t.st.Acks...)
		}
		if due, ok := r.checkDue(now); ok {
			d.CheckDue = due
			d.CheckMissing = len(d.Checks) == 0 && !now.Before(due)
		}
		out = append(out, d)
	}
	return out
}

// checkDue is the time of now's local day by which the daily check is due.
func (r *Recorder) checkDue(now time.Time) (time.Time, bool) {
	if r.o.CheckBy == nil {
		return time.Time{}, false
	}
	l := now.In(r.o.Location)
	by := *r.o.CheckBy
	// Wall-clock time, so 10:00 stays 10:00 on the days the clocks change.
	return time.Date(l.Year(), l.Month(), l.Day(), int(by/time.Hour), int(by%time.Hour/time.Minute), 0, 0, r.o.Location), true
}

// saveNow writes the day state at once; a failure is logged and the state
// stays dirty for the next try.
func (r *Recorder) saveNow(t *tracked) {
	if err := saveState(r.o.Dir, &t.st); err != nil {
		r.o.Log.Error("coldchain: save the day state after an audit entry", "device", t.st.Device, "err", err)
		t.dirty = true
		return
	}
	t.dirty = false
}
