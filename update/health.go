package update

import (
	"context"
	"errors"
	"fmt"
)

// Check is one named part of the trial health check, e.g. "uplink"
// (connected to the broker), "buffer" (a test append succeeded), "web"
// (the local page answers). The gateway supplies the functions; the
// update package never imports gateway.
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
	// External marks a check that depends on the world outside the box
	// (the broker, the internet), not only on the release: a trial that
	// failed on it is not held against the release until the previous
	// version, running again, has passed the same check (see RunTrial).
	External bool
}

// HealthError is the first check that failed.
type HealthError struct {
	Check    string
	External bool
	Err      error
}

func (e *HealthError) Error() string { return e.Check + ": " + e.Err.Error() }
func (e *HealthError) Unwrap() error { return e.Err }

// AllHealthy combines checks for TrialConfig.Health: healthy when every
// check passes, in order; otherwise a *HealthError names the first that
// failed, which becomes the reason of a rollback ("not healthy within
// 1m30s: uplink: ...").
func AllHealthy(checks ...Check) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		for _, c := range checks {
			if err := c.Fn(ctx); err != nil {
				return &HealthError{Check: c.Name, External: c.External, Err: err}
			}
		}
		return nil
	}
}

// externalFailure returns the external check that err names, if any.
func externalFailure(err error, checks []Check) (Check, bool) {
	var he *HealthError
	if !errors.As(err, &he) || !he.External {
		return Check{}, false
	}
	for _, c := range checks {
		if c.Name == he.Check && c.External {
			return c, true
		}
	}
	return Check{}, false
}

// checkNamed runs the check of that name.
func checkNamed(ctx context.Context, checks []Check, name string) error {
	for _, c := range checks {
		if c.Name == name {
			if err := c.Fn(ctx); err != nil {
				return &HealthError{Check: c.Name, External: c.External, Err: err}
			}
			return nil
		}
	}
	return fmt.Errorf("no check named %q", name)
}
