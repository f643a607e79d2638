package web

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

const (
	auditFile     = "audit.log"
	auditMaxBytes = 1 << 20 // then the file is rotated to audit.log.1
	auditKeep     = 200     // entries kept in memory for the diagnostics page
)

// AuditEntry is one change made through the page: who, when, what.
type AuditEntry struct {
	Time   time.Time `json:"time"`
	User   string    `json:"user"`
	Remote string    `json:"remote"`
	Action string    `json:"action"`
	Detail string    `json:"detail,omitempty"`
}

// auditLog appends JSON lines to <dir>/audit.log (fsynced: an audit trail
// that loses its last line on a power cut is no trail) and hands every
// entry to emit, which sends it to the provider as an event.
type auditLog struct {
	path string
	emit func(drivers.Event)

	mu     sync.Mutex
	recent []AuditEntry
}

func openAudit(dir string, emit func(drivers.Event)) (*auditLog, error) {
	a := &auditLog{path: filepath.Join(dir, auditFile), emit: emit}
	data, err := os.ReadFile(a.path)
	if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("web: read audit log: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var e AuditEntry
		if json.Unmarshal(sc.Bytes(), &e) == nil {
			a.remember(e)
		}
	}
	return a, nil
}

func (a *auditLog) remember(e AuditEntry) {
	a.recent = append(a.recent, e)
	if len(a.recent) > auditKeep {
		a.recent = a.recent[len(a.recent)-auditKeep:]
	}
}

// record writes the entry and emits it. A write failure is returned so the
// caller can report it, but the change itself has already happened.
func (a *auditLog) record(e AuditEntry) error {
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.remember(e)
	err = a.appendLocked(append(line, '\n'))
	a.mu.Unlock()
	if a.emit != nil {
		msg := e.Action
		if e.Detail != "" {
			msg += ": " + e.Detail
		}
		a.emit(drivers.Event{Time: e.Time, Type: "web.change", Severity: drivers.Info, Message: msg,
			Attrs: map[string]any{"user": e.User, "remote": e.Remote, "action": e.Action}})
	}
	return err
}

func (a *auditLog) appendLocked(line []byte) error {
	if st, err := os.Stat(a.path); err == nil && st.Size()+int64(len(line)) > auditMaxBytes {
		if err := os.Rename(a.path, a.path+".1"); err != nil {
			return fmt.Errorf("web: rotate audit log: %w", err)
		}
	}
	f, err := os.OpenFile(a.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("web: open audit log: %w", err)
	}
	if _, err := f.Write(line); err != nil {
		f.Close()
		return fmt.Errorf("web: write audit log: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("web: sync audit log: %w", err)
	}
	return f.Close()
}

// entries returns the most recent entries, newest first.
func (a *auditLog) entries() []AuditEntry {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]AuditEntry, len(a.recent))
	for i, e := range a.recent {
		out[len(out)-1-i] = e
	}
	return out
}
