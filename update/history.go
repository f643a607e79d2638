package update

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"syscall"

	"github.com/google/renameio/v2"
)

// The update history: every reported update event of this box, so that a
// technician who comes once a year sees on the Update page what happened
// since (installed, committed, rolled back, refused, and why), not only the
// last check. It lives beside state.json as history.jsonl, one JSON event
// per line, appended with fsync. A power cut in the middle of an append
// leaves a torn last line, which the reader skips and the next append
// closes off, so the file never needs repair.

// DefaultHistoryMax is how many events the history keeps when Layout does
// not say otherwise: at two events a day for a daily check, months of
// routine checks, and years of installs and rollbacks (see pruneHistory).
const DefaultHistoryMax = 200

const (
	historyName = "history.jsonl"
	// maxHistoryRead bounds what one read takes in: a history of
	// DefaultHistoryMax events is about 60 KiB; a larger file (edited by
	// hand, or a bug) is read from its tail.
	maxHistoryRead = 1 << 20
	// maxHistoryReason cuts long reasons (go-tuf error chains) so one
	// line stays short.
	maxHistoryReason = 1000
	// maxHistoryLine: a longer line is not one this code wrote.
	maxHistoryLine = 8 << 10
)

var historyStateRE = regexp.MustCompile(`^[a-z][a-z_]{0,31}$`)

func (l *Layout) historyPath() string { return filepath.Join(l.Dir, historyName) }

func (l *Layout) historyMax() int {
	if l.HistoryMax > 0 {
		return l.HistoryMax
	}
	return DefaultHistoryMax
}

// ParseHistory reads history lines. It returns the events it understands,
// oldest first, and how many lines it skipped: a torn last line after a
// power cut, or any line that is not a complete event. It never fails,
// because a damaged history must not stop the page or an update.
func ParseHistory(b []byte) (events []Event, skipped int) {
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		ev, ok := parseHistoryLine(line)
		if !ok {
			skipped++
			continue
		}
		events = append(events, ev)
	}
	return events, skipped
}

func parseHistoryLine(line []byte) (Event, bool) {
	var ev Event
	if len(line) > maxHistoryLine || line[0] != '{' {
		return ev, false
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	if err := dec.Decode(&ev); err != nil {
		return ev, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return ev, false
	}
	if ev.Time.IsZero() || !historyStateRE.MatchString(ev.State) {
		return ev, false
	}
	return ev, true
}

// History returns the recorded events, oldest first. A box that never
// recorded one returns none and no error.
func (l *Layout) History() ([]Event, error) {
	b, err := readTail(l.historyPath(), maxHistoryRead)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("update: read history: %w", err)
	}
	evs, _ := ParseHistory(b)
	return evs, nil
}

// RecordEvent appends ev to the history durably. An event equal to one of
// the last few (a commit or rollback reported again after a crash, see
// TakeNote) is not recorded twice. When the file holds a quarter more than
// its maximum it is rewritten atomically with the events pruneHistory
// keeps. Two processes (the daemon and a technician's "praxisgate update
// install") may record at the same time: a lock file orders them.
func (l *Layout) RecordEvent(ev Event) error {
	ev.Time = ev.Time.UTC()
	if len(ev.Reason) > maxHistoryReason {
		ev.Reason = ev.Reason[:maxHistoryReason] + "…"
	}
	if !historyStateRE.MatchString(ev.State) || ev.Time.IsZero() {
		return fmt.Errorf("update: record history: event %q at %v is not recordable", ev.State, ev.Time)
	}
	unlock, err := l.lockHistory()
	if err != nil {
		return err
	}
	defer unlock()
	path := l.historyPath()
	old, err := readTail(path, maxHistoryRead)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("update: record history: %w", err)
	}
	evs, _ := ParseHistory(old)
	for i := len(evs) - 1; i >= 0 && i >= len(evs)-4; i-- {
		if sameEvent(evs[i], ev) {
			return nil
		}
	}
	if limit := l.historyMax(); len(evs)+1 > limit+limit/4 {
		return l.rewriteHistory(pruneHistory(append(evs, ev), limit))
	}
	line, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("update: record history: %w", err)
	}
	line = append(line, '\n')
	if len(old) > 0 && old[len(old)-1] != '\n' {
		// Close off a line torn by a power cut, so this event stands alone.
		line = append([]byte{'\n'}, line...)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("update: record history: %w", err)
	}
	if _, err := f.Write(line); err != nil {
		f.Close()
		return fmt.Errorf("update: record history: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("update: record history: sync: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("update: record history: %w", err)
	}
	if len(old) == 0 {
		return syncDir(l.Dir) // a new file: make its directory entry durable
	}
	return nil
}

func sameEvent(a, b Event) bool {
	return a.Time.Equal(b.Time) && a.State == b.State && a.From == b.From && a.To == b.To && a.Reason == b.Reason
}

// routine states repeat with every periodic check; they make way first
// when the history is pruned, so that installs, commits, rollbacks and
// refusals stay visible for years.
var routine = map[string]bool{StateChecking: true, StateUpToDate: true, StateAvailable: true,
	StateDeferred: true, StateFailed: true}

// pruneHistory keeps at most limit events, in order: it drops the oldest
// routine events first, then the oldest of the rest.
func pruneHistory(evs []Event, limit int) []Event {
	drop := len(evs) - limit
	if drop <= 0 {
		return evs
	}
	out := make([]Event, 0, limit)
	for _, e := range evs {
		if drop > 0 && routine[e.State] {
			drop--
			continue
		}
		out = append(out, e)
	}
	if len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out
}

func (l *Layout) rewriteHistory(evs []Event) error {
	var buf bytes.Buffer
	for _, e := range evs {
		b, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("update: rewrite history: %w", err)
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	if err := renameio.WriteFile(l.historyPath(), buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("update: rewrite history: %w", err)
	}
	return syncDir(l.Dir)
}

// lockHistory serialises writers across processes. The lock is on a file
// of its own because rewriteHistory replaces history.jsonl.
func (l *Layout) lockHistory() (func(), error) {
	f, err := os.OpenFile(filepath.Join(l.Dir, "history.lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("update: record history: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("update: record history: lock: %w", err)
	}
	return func() { f.Close() }, nil
}

// readTail reads a file, or its last limit bytes when it is larger (the
// first, partial line is then skipped by ParseHistory).
func readTail(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > limit {
		if _, err := f.Seek(st.Size()-limit, io.SeekStart); err != nil {
			return nil, err
		}
		b, err := io.ReadAll(io.LimitReader(f, limit))
		if err != nil {
			return nil, err
		}
		// Drop the partial first line.
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			return b[i+1:], nil
		}
		return nil, nil
	}
	return io.ReadAll(io.LimitReader(f, limit))
}
