package buffer

import (
	"log/slog"
	"time"
)

// Defaults for zero Options fields.
const (
	DefaultMaxBytes     = 2 << 30
	DefaultMaxAge       = 30 * 24 * time.Hour
	DefaultCommitWindow = 50 * time.Millisecond
	DefaultGCInterval   = 5 * time.Minute
)

// withDefaults fills zero fields so the rest of the package never checks
// for them again.
func (o Options) withDefaults() Options {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.CommitWindow <= 0 {
		o.CommitWindow = DefaultCommitWindow
	}
	if o.GCInterval <= 0 {
		o.GCInterval = DefaultGCInterval
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}
