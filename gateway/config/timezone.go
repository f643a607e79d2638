package config

import (
	"time"
	_ "time/tzdata" // checked against the zone rules built in, as the daemon uses them
)

// validateTimezone checks the timezone key. Called from validate.
func (l *loader) validateTimezone() {
	if l.cfg.Timezone == "" {
		return
	}
	if _, err := time.LoadLocation(l.cfg.Timezone); err != nil || l.cfg.Timezone == "Local" {
		l.problem("timezone", "want an IANA time zone such as Europe/Berlin, got %q", l.cfg.Timezone)
	}
}
