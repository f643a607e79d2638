// Package clock gives the gateway timestamps it can stand behind. A
// Raspberry Pi has no real-time clock: after a power cut it boots with the
// time it last saved (or 1970) until NTP answers, which may be never while
// the practice's internet is down. Until the kernel reports the clock as
// synchronised, times are derived from a persisted last-known-good time plus
// the monotonic clock and marked unsynced, so the cloud can tell them apart.
package clock

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/renameio/v2"

	"github.com/praxisgate/praxisgate/gateway/contract"
)

// Clock stamps readings and events.
type Clock struct {
	// SyncedFunc reports whether the system clock is synchronised; it is
	// consulted at most once per CheckEvery. Default: the kernel's view via
	// adjtimex (see sync_linux.go).
	syncedFn   func() bool
	checkEvery time.Duration
	now        func() time.Time
	file       string
	log        *slog.Logger

	mu        sync.Mutex
	start     time.Time // monotonic reading at creation
	lkg       time.Time // last-known-good wall time, from the file
	synced    bool
	checkedAt time.Time
	savedAt   time.Time
}

// Options configure a Clock; zero values mean the defaults.
type Options struct {
	// StateFile keeps the last-known-good time across restarts. Empty
	// disables persistence.
	StateFile string
	// Synced reports whether the system clock is synchronised. Default:
	// KernelSynced.
	Synced func() bool
	// CheckEvery bounds how often Synced is called. Default 10s.
	CheckEvery time.Duration
	// Now is the system clock. Default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// New reads the last-known-good time and returns a Clock.
func New(o Options) *Clock {
	c := &Clock{syncedFn: o.Synced, checkEvery: o.CheckEvery, now: o.Now, file: o.StateFile, log: o.Logger}
	if c.syncedFn == nil {
		c.syncedFn = KernelSynced
	}
	if c.checkEvery <= 0 {
		c.checkEvery = 10 * time.Second
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	c.start = c.now()
	if c.file != "" {
		if b, err := os.ReadFile(c.file); err == nil {
			if ms, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil {
				c.lkg = time.UnixMilli(ms)
			} else {
				c.log.Warn("clock: ignoring unreadable last-known-good time", "file", c.file, "err", err)
			}
		}
	}
	c.synced = c.syncedFn()
	c.checkedAt = c.start
	return c
}

// Now returns the best estimate of the current time and whether it comes
// from a synchronised clock.
func (c *Clock) Now() contract.Stamp {
	c.mu.Lock()
	defer c.mu.Unlock()
	sys := c.now()
	if sys.Sub(c.checkedAt) >= c.checkEvery || sys.Before(c.checkedAt) {
		was := c.synced
		c.synced = c.syncedFn()
		c.checkedAt = sys
		if c.synced != was {
			c.log.Info("clock: synchronisation changed", "synced", c.synced, "time", sys.UTC())
		}
	}
	if c.synced {
		c.maybeSave(sys)
		return contract.Stamp{Time: sys, Synced: true}
	}
	// Unsynced: never go behind what we knew to be true, advancing with
	// the monotonic clock since our start.
	est := c.lkg.Add(sys.Sub(c.start))
	if sys.After(est) {
		est = sys
	}
	return contract.Stamp{Time: est, Synced: false}
}

// Synced reports the last known synchronisation state.
func (c *Clock) Synced() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.synced
}

// maybeSave persists the wall time once a minute while synchronised, so a
// reboot without network starts from a recent truth. Called with mu held.
func (c *Clock) maybeSave(t time.Time) {
	if c.file == "" || t.Sub(c.savedAt) < time.Minute {
		return
	}
	c.savedAt = t
	c.lkg = t
	if err := os.MkdirAll(filepath.Dir(c.file), 0o750); err != nil {
		c.log.Warn("clock: save last-known-good time", "err", err)
		return
	}
	if err := renameio.WriteFile(c.file, []byte(strconv.FormatInt(t.UnixMilli(), 10)+"\n"), 0o640); err != nil {
		c.log.Warn("clock: save last-known-good time", "err", fmt.Errorf("write %s: %w", c.file, err))
	}
}
