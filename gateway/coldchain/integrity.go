package coldchain

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

// IntegrityEvent is the type of the event raised when a fridge's record
// no longer verifies. It is major: the record is what the practice shows
// an inspector, and the provider's copy of the daily hashes is then the
// only intact evidence.
const IntegrityEvent = "coldchain.integrity"

// reconcileHead brings the chain head up to the day files after a crash
// between writing a record and its head line: a record after the head's
// newest entry is added only when it chains to the head and the day state
// vouches for it (it is the day that was in progress, or the state already
// counts it as written while its head line failed). Anything else is left
// for Verify to report. The one forgery this cannot tell from a crash is a
// made-up record of the day in progress written while the box was off; the
// provider's copy of the daily hashes catches that one. A head file missing while records exist is rebuilt from them,
// with a "!" note that Verify keeps reporting: from then on later changes
// are found again, earlier ones no longer can be.
func (r *Recorder) reconcileHead(device string, st dayState) error {
	if cut, err := repairHeadTail(r.o.Dir, device); err != nil {
		return err
	} else if cut > 0 {
		r.o.Log.Warn("coldchain: cut a torn chain head line (power cut while writing)", "device", device, "bytes", cut)
	}
	lines, err := readLines(r.o.Dir, device)
	if err != nil {
		return err
	}
	head, err := readHead(r.o.Dir, device)
	if err != nil {
		return err
	}
	if len(lines) == 0 {
		return nil
	}
	var add []string
	prevHash, prevDate := "", ""
	if !head.exists {
		var entries []string
		lastHash := ""
		for _, l := range lines {
			var rec Record
			if json.Unmarshal(l.raw, &rec) != nil || rec.Date <= prevDate {
				continue
			}
			entries = append(entries, headLine(rec.Date, Hash(l.raw)))
			prevDate, lastHash = rec.Date, Hash(l.raw)
		}
		stamp := r.now().UTC().Format(time.RFC3339)
		if st.Prev != "" && st.Prev == lastHash && st.LastDate == prevDate {
			// Records from a version without a chain head: the day state
			// confirms the newest of them, as far as that version could.
			r.o.Log.Warn("coldchain: chain head created from the records on disk (first start with a chain head)", "device", device, "days", len(entries))
			add = append(add, fmt.Sprintf("# chain head created at %s from %d record(s) written before it existed; the day state confirmed the newest", stamp, len(entries)))
		} else {
			r.o.Log.Error("coldchain: chain head file missing; rebuilt from the records on disk and reported as a break", "device", device)
			add = append(add, fmt.Sprintf("! chain head file was missing at %s; rebuilt from %d record line(s) on disk, which are not confirmed by it", stamp, len(lines)))
		}
		return appendHead(r.o.Dir, device, append(add, entries...)...)
	}
	last, ok := head.last()
	if ok {
		prevHash, prevDate = last.hash, last.date
	}
	start := 0
	if ok {
		start = len(lines)
		for i, l := range lines {
			if Hash(l.raw) == last.hash {
				start = i + 1
			}
		}
	}
	for _, l := range lines[start:] {
		var rec Record
		if json.Unmarshal(l.raw, &rec) != nil || rec.Prev != prevHash || rec.Date <= prevDate || rec.Device != device ||
			(rec.Date != st.Date && rec.Date > st.LastDate) {
			break
		}
		prevHash, prevDate = Hash(l.raw), rec.Date
		add = append(add, headLine(rec.Date, prevHash))
	}
	if len(add) == 0 {
		return nil
	}
	r.o.Log.Warn("coldchain: chain head completed with records written just before a crash", "device", device, "days", len(add))
	return appendHead(r.o.Dir, device, add...)
}

// check verifies a fridge's record, keeps the result for Integrity and
// queues an IntegrityEvent when it is broken in a new way.
func (r *Recorder) check(t *tracked, at time.Time) {
	st, err := Check(r.o.Dir, t.st.Device)
	if err != nil {
		st = Status{Device: t.st.Device, Breaks: []Break{newBreak("", 0, "", "record unreadable: %s", err.Error())}}
	}
	before := t.status
	t.status = st
	if st.Intact() || (len(before.Breaks) == len(st.Breaks) && before.Breaks[0] == st.Breaks[0]) {
		return
	}
	b := st.Breaks[0]
	r.o.Log.Error("coldchain: record does not verify", "device", st.Device, "breaks", len(st.Breaks), "first", b.String())
	msg := fmt.Sprintf("cold-chain record does not verify: %s (%d break(s))", b.String(), len(st.Breaks))
	breaks := make([]string, 0, len(st.Breaks))
	for _, b := range st.Breaks {
		breaks = append(breaks, b.String())
	}
	r.pending = append(r.pending, drivers.Event{Device: st.Device, Time: at, Type: IntegrityEvent, Severity: drivers.Major,
		Message: msg, Attrs: map[string]any{"breaks": breaks, "days": st.Days, "verdict": st.German()}})
}

// Integrity returns the last check of every fridge's record: at start and
// after every day written. The web page and the provider's command show
// it; a broken record also raised an IntegrityEvent.
func (r *Recorder) Integrity() []Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Status, 0, len(r.order))
	for _, id := range r.order {
		s := r.fridges[id].status
		s.Breaks = append([]Break(nil), s.Breaks...)
		out = append(out, s)
	}
	return out
}
