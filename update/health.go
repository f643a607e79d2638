package update

import (
	"context"
	"fmt"
)

// Check is one named part of the trial health check, e.g. "uplink"
// (connected to the broker), "buffer" (a test append succeeded), "web"
// (the local page answers). The gateway supplies the functions; the
// update package never imports gateway.
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
}

// AllHealthy combines checks for TrialConfig.Health: healthy when every
// check passes; otherwise the error names the first that failed, which
// becomes the reason of a rollback ("not healthy within 5m0s: uplink: ...").
func AllHealthy(checks ...Check) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		for _, c := range checks {
			if err := c.Fn(ctx); err != nil {
				return fmt.Errorf("%s: %w", c.Name, err)
			}
		}
		return nil
	}
}
