package update

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DefaultWindow lies outside the consultation hours of a typical practice:
// nobody is at the reception desk when the box restarts.
const DefaultWindow = "20:00-06:00"

// Window is a set of weekly maintenance periods in local time. A box only
// installs inside one, unless the command forces it.
type Window struct {
	spans []span
}

type span struct {
	days       [7]bool // by time.Weekday of the start
	start, end int     // minutes of the day; end <= start means past midnight
}

var dayNames = map[string]time.Weekday{"mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday, "sun": time.Sunday}

// ParseWindow reads "20:00-06:00", "Sat,Sun 00:00-24:00" or
// "Mon-Fri 19:30-06:30; Sat 13:00-24:00". Days name the day a period
// starts on; a period past midnight ends on the next day.
func ParseWindow(spec string) (Window, error) {
	var w Window
	if len(spec) > 512 {
		return w, fmt.Errorf("maintenance window: longer than 512 characters")
	}
	for _, part := range strings.Split(spec, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			return w, fmt.Errorf("maintenance window %q: empty period", spec)
		}
		sp := span{}
		times := part
		if i := strings.IndexByte(part, ' '); i >= 0 {
			days, err := parseDays(part[:i])
			if err != nil {
				return w, fmt.Errorf("maintenance window %q: %w", spec, err)
			}
			sp.days = days
			times = strings.TrimSpace(part[i+1:])
		} else {
			for d := range sp.days {
				sp.days[d] = true
			}
		}
		from, to, ok := strings.Cut(times, "-")
		if !ok {
			return w, fmt.Errorf("maintenance window %q: want HH:MM-HH:MM in %q", spec, part)
		}
		var err error
		if sp.start, err = parseClock(from); err != nil {
			return w, fmt.Errorf("maintenance window %q: %w", spec, err)
		}
		if sp.end, err = parseClock(to); err != nil {
			return w, fmt.Errorf("maintenance window %q: %w", spec, err)
		}
		if sp.start == 24*60 || sp.start == sp.end {
			return w, fmt.Errorf("maintenance window %q: period %q is empty", spec, times)
		}
		w.spans = append(w.spans, sp)
	}
	return w, nil
}

func parseDays(s string) ([7]bool, error) {
	var days [7]bool
	for _, item := range strings.Split(s, ",") {
		a, b, isRange := strings.Cut(item, "-")
		da, ok := dayNames[strings.ToLower(a)]
		if !ok {
			return days, fmt.Errorf("unknown day %q (Mon..Sun)", a)
		}
		if !isRange {
			days[da] = true
			continue
		}
		db, ok := dayNames[strings.ToLower(b)]
		if !ok {
			return days, fmt.Errorf("unknown day %q (Mon..Sun)", b)
		}
		for d := da; ; d = (d + 1) % 7 {
			days[d] = true
			if d == db {
				break
			}
		}
	}
	return days, nil
}

func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || len(h) != 2 || len(m) != 2 {
		return 0, fmt.Errorf("time %q: want HH:MM", s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("time %q: want 00:00..24:00", s)
	}
	return hh*60 + mm, nil
}

// Contains tells whether t (in its own location) lies in the window.
func (w Window) Contains(t time.Time) bool {
	min := t.Hour()*60 + t.Minute()
	today, yesterday := t.Weekday(), (t.Weekday()+6)%7
	for _, s := range w.spans {
		if s.end > s.start {
			if s.days[today] && min >= s.start && min < s.end {
				return true
			}
			continue
		}
		// Past midnight: the evening part today, the morning part if it started yesterday.
		if s.days[today] && min >= s.start {
			return true
		}
		if s.days[yesterday] && min < s.end {
			return true
		}
	}
	return false
}
