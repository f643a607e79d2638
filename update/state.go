package update

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/google/renameio/v2"
)

// State is the truth about installed versions; the symlinks are derived
// from it. It is small and rewritten atomically (temp file, fsync, rename)
// at every step, so a power cut leaves either the old or the new state.
type State struct {
	Committed string   `json:"committed"`        // last version that proved healthy
	Trial     *Trial   `json:"trial,omitempty"`  // version being tried, if any
	Failed    []string `json:"failed,omitempty"` // versions never to try again
	// Refused are versions whose binary was refused at install (it
	// reports another version or does not run): never downloaded again.
	Refused []string `json:"refused,omitempty"`
	// Note is the last commit or rollback, kept until a running version
	// has reported it: the state change is durable first and reported
	// after, so a power cut in between (or a version that crashed at start
	// and could not say anything) still gets reported at the next start.
	Note *Note `json:"note,omitempty"`
	// Doubt is a rollback that the world may have caused: the version
	// on trial failed only an external check (the broker could not be
	// reached). The version running again runs the same check: if it
	// passes, the release is to blame and stays failed; if it fails too,
	// the world was down and the release gets a Retry.
	Doubt *Doubt `json:"doubt,omitempty"`
	// Retry are releases rolled back while the world was down, with the
	// time from which they may be installed again.
	Retry []Retry `json:"retry,omitempty"`
}

// Doubt names the rolled-back version and the external check it failed.
type Doubt struct {
	Version string    `json:"version"`
	Check   string    `json:"check"`
	Reason  string    `json:"reason"`
	Since   time.Time `json:"since"`
}

// Retry is a release to try again, not before After. Tries counts the
// rollbacks blamed on the world, for the backoff.
type Retry struct {
	Version string    `json:"version"`
	After   time.Time `json:"after"`
	Tries   int       `json:"tries"`
	Reason  string    `json:"reason"`
}

// retryOf returns the retry entry of v, if any.
func (s *State) retryOf(v string) *Retry {
	for i := range s.Retry {
		if s.Retry[i].Version == v {
			return &s.Retry[i]
		}
	}
	return nil
}

// dropRetry forgets the retry entry of v.
func (s *State) dropRetry(v string) {
	s.Retry = slices.DeleteFunc(s.Retry, func(r Retry) bool { return r.Version == v })
}

// unfail takes v off the failed list.
func (s *State) unfail(v string) {
	s.Failed = slices.DeleteFunc(s.Failed, func(f string) bool { return f == v })
}

// Note records a commit or rollback as an event to report.
type Note struct {
	Event
	Reported bool `json:"reported"`
}

// Trial describes the version on trial.
type Trial struct {
	Version  string    `json:"version"`
	Previous string    `json:"previous"`
	Boots    int       `json:"boots"`   // starts counted by Layout.Boot
	Started  time.Time `json:"started"` // when it was switched to
	// LastExit is how its last start ended, when the supervisor knows
	// (killed by the watchdog or the start timeout).
	LastExit string `json:"last_exit,omitempty"`
}

// IsFailed tells whether v was rolled back before.
func (s *State) IsFailed(v string) bool { return slices.Contains(s.Failed, v) }

// abandon drops the trial of v, remembers v as failed and notes the rollback.
func (s *State) abandon(v, reason string, now time.Time) {
	s.Trial = nil
	s.Doubt = nil
	s.Note = &Note{Event: Event{Time: now.UTC(), State: StateRolledBack, From: v, To: s.Committed, Reason: reason}}
	s.markFailed(v)
}

func (s *State) markFailed(v string) {
	if !s.IsFailed(v) {
		s.Failed = append(s.Failed, v)
	}
	// Keep the list short: only versions that could still be offered matter.
	if len(s.Failed) > 32 {
		s.Failed = s.Failed[len(s.Failed)-32:]
	}
}

func (l *Layout) statePath() string { return filepath.Join(l.Dir, "state.json") }

// ReadState loads state.json. A missing file is an error: the box must be
// provisioned (Layout.Provision) before it can update.
func (l *Layout) ReadState() (State, error) {
	var s State
	b, err := os.ReadFile(l.statePath())
	if errors.Is(err, fs.ErrNotExist) {
		return s, fmt.Errorf("update: read state: %w (not provisioned?)", err)
	}
	if err != nil {
		return s, fmt.Errorf("update: read state: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("update: parse %s: %w", l.statePath(), err)
	}
	if _, err := ParseVersion(s.Committed); err != nil {
		return s, fmt.Errorf("update: %s: committed: %w", l.statePath(), err)
	}
	if s.Trial != nil {
		if _, err := ParseVersion(s.Trial.Version); err != nil {
			return s, fmt.Errorf("update: %s: trial: %w", l.statePath(), err)
		}
	}
	return s, nil
}

// WriteState replaces state.json atomically and durably.
func (l *Layout) WriteState(s State) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("update: encode state: %w", err)
	}
	if err := renameio.WriteFile(l.statePath(), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("update: write state: %w", err)
	}
	return syncDir(l.Dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("update: sync dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("update: sync dir %s: %w", dir, err)
	}
	return nil
}
