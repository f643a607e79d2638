// Command testapp is a small stand-in for the praxisgate daemon in the
// update package's end-to-end tests: built several times with different
// -ldflags (version and behaviour), it runs the real trial/commit and
// check/install code against a repository on loopback, so tests exercise
// real binaries, real restarts and real SIGKILLs in seconds instead of
// building the whole gateway.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/praxisgate/praxisgate/update"
)

// Set with -ldflags "-X main.version=2.0.0 -X main.behaviour=crash".
var (
	version = "0.0.0"
	// ok | crash (exit at start) | unhealthy (its uplink never works) |
	// hang (says READY=1, then stops pinging the watchdog) |
	// hang-before-ready (pings the watchdog but never says READY=1)
	behaviour = "ok"
)

// line is one record in the events file the test reads.
type line struct {
	update.Event
	Running string `json:"running"`
	PID     int    `json:"pid"`
}

func main() {
	if len(os.Args) == 2 && os.Args[1] == "version" {
		// What the installer asks before it switches to this binary.
		fmt.Printf("praxisgate %s\n", version)
		return
	}
	state := flag.String("state", "", "state directory")
	repo := flag.String("repo", "", "repository URL")
	root := flag.String("root", "", "trusted root.json")
	id := flag.String("id", "gw-test", "gateway id")
	events := flag.String("events", "", "events file (JSON lines)")
	every := flag.Duration("check-every", 200*time.Millisecond, "check interval")
	trialTimeout := flag.Duration("trial-timeout", 2*time.Second, "time to become healthy")
	trialInterval := flag.Duration("trial-interval", 100*time.Millisecond, "health check interval")
	force := flag.Bool("force", true, "bypass gates and rollout")
	uplink := flag.String("uplink", "", "TCP address the uplink health check connects to (the world); empty: always reachable")
	retryAfter := flag.Duration("retry-after", 0, "backoff before a release rolled back while the world was down is tried again")
	flag.Parse()

	f, err := os.OpenFile(*events, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	log := func(ev update.Event) {
		b, _ := json.Marshal(line{Event: ev, Running: version, PID: os.Getpid()})
		_, _ = f.Write(append(b, '\n'))
	}
	log(update.Event{Time: time.Now().UTC(), State: "started", To: version, Reason: behaviour})
	if behaviour == "crash" {
		os.Exit(3)
	}
	crash := crasher(*state)
	ctx := context.Background()
	go update.Watchdog(ctx, func() bool { return behaviour != "hang" }) //nolint:errcheck // test program
	if behaviour == "hang-before-ready" {
		select {}
	}
	if err := update.NotifyReady(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	if behaviour == "hang" {
		select {}
	}
	l := &update.Layout{Dir: *state, Hook: crash}
	exit := func() error { os.Exit(0); return nil }
	ok, err := l.RunTrial(ctx, update.TrialConfig{
		Version: version, Timeout: *trialTimeout, Interval: *trialInterval, RetryAfter: *retryAfter,
		Checks: []update.Check{{Name: "uplink", External: true, Fn: func(ctx context.Context) error {
			if behaviour == "unhealthy" {
				return errors.New("not connected (this release's own fault)")
			}
			if *uplink == "" {
				return nil
			}
			c, err := (&net.Dialer{}).DialContext(ctx, "tcp", *uplink)
			if err != nil {
				return fmt.Errorf("not connected: %w", err)
			}
			return c.Close()
		}}},
		OnEvent: log, Restart: exit, Hook: crash,
	})
	if err != nil || !ok {
		fmt.Fprintln(os.Stderr, "trial:", ok, err)
		os.Exit(1)
	}
	rootBytes, err := os.ReadFile(*root)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	m, err := update.NewManager(update.Config{
		Layout: l, RepoURL: *repo, TrustedRoot: rootBytes, GatewayID: *id, Running: version,
		OnEvent: log, Restart: exit, Hook: crash,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for {
		m.Check(ctx, *force)
		time.Sleep(*every)
	}
}

// crasher returns a hook that SIGKILLs this process at the step named by
// PRAXISGATE_TEST_CRASH_AT, once: a marker file keeps the next start from
// dying at the same step, so the test sees recovery, not a crash loop.
func crasher(state string) func(string) {
	at := os.Getenv("PRAXISGATE_TEST_CRASH_AT")
	return func(step string) {
		if step != at {
			return
		}
		marker := filepath.Join(state, "crashed-"+step)
		if _, err := os.Stat(marker); err == nil {
			return
		}
		if err := os.WriteFile(marker, []byte(version), 0o644); err != nil {
			return
		}
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		time.Sleep(time.Hour)
	}
}
