// Package configguard applies a config pushed by the provider (command
// set-config) like a router's "confirm or revert": the new file is
// validated, written atomically with the old one kept beside it, and the
// daemon restarts with it. If the uplink is not back within the confirm
// timeout, or the new file does not even load, the previous file is put
// back and the daemon restarts again; the outcome is reported once the
// uplink is up. The state survives restarts and crashes in a marker file
// next to the config, because the process that must judge the new config
// is not the one that received it.
package configguard

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/google/renameio/v2"

	"github.com/praxisgate/praxisgate/gateway/config"
)

// States of a pending change.
const (
	// StateApplying: the new file is in place; the daemon must reach the
	// broker before Deadline or revert.
	StateApplying = "applying"
	// StateReverted: the previous file was restored; the outcome is still
	// to be reported.
	StateReverted = "reverted"
)

// ErrBusy is returned by Stage while another change awaits confirmation.
var ErrBusy = errors.New("another config change is still awaiting confirmation")

// Pending is the marker file's content.
type Pending struct {
	// ID is the set-config command's id, quoted in the report.
	ID       string    `json:"id"`
	State    string    `json:"state"`
	Staged   time.Time `json:"staged"`
	Deadline time.Time `json:"deadline"`
	// NewSHA256 identifies the file that was staged, so a crash between
	// writing the marker and the file is not reported as "applied".
	NewSHA256 string `json:"new_sha256"`
	Reason    string `json:"reason,omitempty"`
}

// Outcome is what the provider is told.
type Outcome struct {
	ID      string
	Applied bool
	// Reason says why the change was reverted.
	Reason string
}

// Guard owns the config file at Path and its two companions:
// Path+".previous" (the file before the last change) and Path+".pending"
// (the marker).
type Guard struct {
	Path string
	Log  *slog.Logger
	// Now is the wall clock (tests inject one). The deadline survives a
	// restart, so it must be wall time, not monotonic.
	Now func() time.Time
	// Poll is how often Watch looks at the uplink. Default 200ms.
	Poll time.Duration
}

// New returns a Guard for the config file at path.
func New(path string, log *slog.Logger) *Guard {
	if log == nil {
		log = slog.Default()
	}
	return &Guard{Path: path, Log: log, Now: time.Now, Poll: 200 * time.Millisecond}
}

func (g *Guard) previousPath() string { return g.Path + ".previous" }
func (g *Guard) markerPath() string   { return g.Path + ".pending" }

// Stage validates data as a complete config file, fills in secrets the
// sender left as "[redacted]" (from get-config) from the current file,
// keeps the current file as .previous and puts the new one in place.
// The caller then restarts the daemon; Load and Watch do the rest.
func (g *Guard) Stage(id string, data []byte, timeout time.Duration) error {
	if p, err := g.readMarker(); err != nil {
		return err
	} else if p != nil {
		return fmt.Errorf("%w (command %s, %s)", ErrBusy, p.ID, p.State)
	}
	old, err := os.ReadFile(g.Path)
	if err != nil {
		return fmt.Errorf("set-config: read current config: %w", err)
	}
	// Keep the file's mode: it may be group-readable for a web UI user.
	mode := os.FileMode(0o600)
	if st, err := os.Stat(g.Path); err == nil {
		mode = st.Mode().Perm()
	}
	data, err = Unredact(data, old)
	if err != nil {
		return fmt.Errorf("set-config: %w", err)
	}
	if _, err := config.Parse(data, g.Path); err != nil {
		return fmt.Errorf("set-config: new config refused, nothing changed: %w", err)
	}
	if bytes.Equal(data, old) {
		return errors.New("set-config: new config is identical to the current one, nothing to do")
	}
	if err := renameio.WriteFile(g.previousPath(), old, mode); err != nil {
		return fmt.Errorf("set-config: keep previous config: %w", err)
	}
	now := g.Now()
	sum := sha256.Sum256(data)
	p := Pending{ID: id, State: StateApplying, Staged: now, Deadline: now.Add(timeout), NewSHA256: hex.EncodeToString(sum[:])}
	if err := g.writeMarker(&p); err != nil {
		return err
	}
	if err := renameio.WriteFile(g.Path, data, mode); err != nil {
		os.Remove(g.markerPath())
		return fmt.Errorf("set-config: write new config: %w", err)
	}
	g.Log.Warn("config replaced by set-config; restarting to apply, reverting unless the uplink is back in time", "id", id, "confirm_timeout", timeout)
	return nil
}

// Load loads the config at start-up through load (normally config.Load)
// and settles a pending change first: a change whose deadline passed (the
// daemon crash-looped) or whose file does not load is reverted here, so a
// bad push can never keep the box from starting. The returned Pending,
// when not nil, must be given to Watch.
func (g *Guard) Load(load func(path string) (*config.Config, error)) (*config.Config, *Pending, error) {
	p, err := g.readMarker()
	if err != nil {
		g.Log.Error("unreadable config change marker ignored", "err", err)
		os.Remove(g.markerPath())
		p = nil
	}
	if p != nil && p.State == StateApplying {
		if cur, rerr := os.ReadFile(g.Path); rerr == nil {
			sum := sha256.Sum256(cur)
			if hex.EncodeToString(sum[:]) != p.NewSHA256 {
				p.State, p.Reason = StateReverted, "the new config was never written (interrupted); the previous one stays"
				g.writeMarker(p)
			}
		}
	}
	if p != nil && p.State == StateApplying && g.Now().After(p.Deadline) {
		g.revert(p, "the daemon did not reach the broker with the new config within the confirm timeout")
	}
	cfg, err := load(g.Path)
	if err != nil && p != nil && p.State == StateApplying {
		g.revert(p, fmt.Sprintf("the new config could not be loaded: %v", err))
		cfg, err = load(g.Path)
	}
	return cfg, p, err
}

// Watch settles a pending change once the daemon runs. For a change being
// applied it waits until connected reports true or the deadline passes:
// then the change is confirmed and reported, or reverted and restart is
// called. A reverted change is reported as soon as the uplink is up.
// report must make the outcome durable (the gateway appends an event to
// its buffer); the marker is removed after it returns.
func (g *Guard) Watch(ctx context.Context, p *Pending, connected func() bool, report func(Outcome), restart func()) {
	if p == nil {
		return
	}
	t := time.NewTicker(g.Poll)
	defer t.Stop()
	for {
		if connected() {
			break
		}
		if p.State == StateApplying && g.Now().After(p.Deadline) {
			g.revert(p, fmt.Sprintf("the uplink did not come back within %s after the change", p.Deadline.Sub(p.Staged).Round(time.Second)))
			restart()
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
	o := Outcome{ID: p.ID, Applied: p.State == StateApplying, Reason: p.Reason}
	report(o)
	if err := os.Remove(g.markerPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		g.Log.Error("remove config change marker", "err", err)
	}
	if o.Applied {
		g.Log.Info("config change confirmed: uplink is up", "id", p.ID)
	}
}

// revert restores the previous file and records why.
func (g *Guard) revert(p *Pending, reason string) {
	g.Log.Error("config change reverted", "id", p.ID, "reason", reason)
	prev, err := os.ReadFile(g.previousPath())
	if err == nil {
		mode := os.FileMode(0o600)
		if st, serr := os.Stat(g.previousPath()); serr == nil {
			mode = st.Mode().Perm()
		}
		err = renameio.WriteFile(g.Path, prev, mode)
	}
	if err != nil {
		reason += fmt.Sprintf("; restoring the previous config failed: %v", err)
		g.Log.Error("restore previous config", "err", err)
	}
	p.State, p.Reason = StateReverted, reason
	if err := g.writeMarker(p); err != nil {
		g.Log.Error("record config revert", "err", err)
	}
}

func (g *Guard) readMarker() (*Pending, error) {
	b, err := os.ReadFile(g.markerPath())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read config change marker: %w", err)
	}
	var p Pending
	if err := json.Unmarshal(b, &p); err != nil || (p.State != StateApplying && p.State != StateReverted) {
		return nil, fmt.Errorf("config change marker %s is damaged", g.markerPath())
	}
	return &p, nil
}

func (g *Guard) writeMarker(p *Pending) error {
	b, _ := json.Marshal(p)
	if err := renameio.WriteFile(g.markerPath(), b, 0o600); err != nil {
		return fmt.Errorf("write config change marker: %w", err)
	}
	return nil
}
