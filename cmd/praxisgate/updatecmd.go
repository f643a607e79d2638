package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/praxisgate/praxisgate/update"
)

// updateCmd is the box's side of the self-update for service managers and
// technicians: "praxisgate update boot|supervise|provision|status|check|install".
// The daemon itself checks on its own (timer, MQTT command, web page); see
// docs/update.md.
func updateCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const synopsis = "update boot|stopped|supervise|provision|status|check|install -state DIR [flags] [-- daemon args]"
	if len(args) == 0 {
		fmt.Fprintf(stderr, "Usage: praxisgate %s\n", synopsis)
		return errUsage
	}
	verb := args[0]
	fs := newFlags("update "+verb, synopsis, stderr)
	state := fs.String("state", "/var/lib/praxisgate", "update state directory")
	var (
		maxBoots                *int
		execCurrent             *bool
		restartDelay, watchdog  *time.Duration
		startTimeout            *time.Duration
		ver, binary             *string
		repo, root, channel, id *string
		force                   *bool
	)
	switch verb {
	case "boot":
		maxBoots = fs.Int("max-boots", 3, "starts of a version on trial before it is abandoned")
		execCurrent = fs.Bool("exec", false, "then replace this process with the current version, passing the arguments after --")
	case "stopped":
	case "supervise":
		maxBoots = fs.Int("max-boots", 3, "starts of a version on trial before it is abandoned")
		restartDelay = fs.Duration("restart-delay", update.DefaultRestartDelay, "pause before restarting the daemon (RestartSec)")
		watchdog = fs.Duration("watchdog", update.DefaultWatchdog, "after READY=1, kill the daemon when it stops pinging for this long (WatchdogSec; 0: off)")
		startTimeout = fs.Duration("start-timeout", update.DefaultStartTimeout, "kill the daemon when it has not said READY=1 this long after its start (TimeoutStartSec; 0: wait for ever)")
	case "provision":
		ver = fs.String("version", version, "version of the binary")
		binary = fs.String("binary", "", "binary to install (default: this one)")
	case "status":
	case "check", "install":
		repo = fs.String("repo", "", "update repository URL (https)")
		root = fs.String("root", "/etc/praxisgate/update-root.json", "trusted TUF root metadata provisioned on the box")
		channel = fs.String("channel", "stable", "release channel")
		id = fs.String("id", "", "gateway id (for the staged rollout)")
		force = fs.Bool("force", false, "install outside the maintenance window and rollout (install only)")
	default:
		fmt.Fprintf(stderr, "praxisgate update: unknown verb %q\nUsage: praxisgate %s\n", verb, synopsis)
		return errUsage
	}
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	l := &update.Layout{Dir: *state}
	switch verb {
	case "boot":
		res, err := l.Boot(*maxBoots)
		if err != nil {
			return err
		}
		if res.RolledBack != "" {
			fmt.Fprintf(stderr, "praxisgate update: rolled back %s: %s\n", res.RolledBack, res.Reason)
		}
		if !*execCurrent {
			fmt.Fprintf(stdout, "starting %s (on trial: %v)\n", res.Version, res.OnTrial)
			return nil
		}
		return update.Reexec(append([]string{l.CurrentBinary()}, fs.Args()...), os.Environ())
	case "stopped":
		// The unit's ExecStopPost: systemd says how the daemon ended, and a
		// version on trial keeps it for the rollback's reason.
		how := update.StopCause(os.Getenv("SERVICE_RESULT"), os.Getenv("EXIT_CODE"), os.Getenv("EXIT_STATUS"))
		if err := l.RecordStop(how); err != nil {
			return err
		}
		if how != "" {
			fmt.Fprintf(stdout, "daemon %s\n", how)
		}
		return nil
	case "supervise":
		// An explicit 0 turns a limit off; the Supervisor reads 0 as "default".
		off := func(d time.Duration) time.Duration {
			if d <= 0 {
				return -1
			}
			return d
		}
		s := &update.Supervisor{Layout: l, Args: fs.Args(), MaxBoots: *maxBoots, RestartDelay: *restartDelay,
			Watchdog: off(*watchdog), StartTimeout: off(*startTimeout), Stdout: stdout, Stderr: stderr,
			Log: slog.New(slog.NewTextHandler(stderr, nil)),
			OnBoot: func(r update.BootResult) {
				if r.RolledBack != "" {
					fmt.Fprintf(stderr, "praxisgate update: rolled back %s: %s\n", r.RolledBack, r.Reason)
				}
			}}
		return s.Run(ctx)
	case "provision":
		src := *binary
		if src == "" {
			exe, err := os.Executable()
			if err != nil {
				return fmt.Errorf("find own binary: %w", err)
			}
			src = exe
		}
		if err := l.Provision(*ver, src); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "provisioned %s in %s; start %s\n", *ver, *state, l.CurrentBinary())
		return nil
	case "status":
		s, err := l.ReadState()
		if err != nil {
			return err
		}
		cur, _ := l.Linked()
		hist, err := l.History()
		if err != nil {
			return err
		}
		// The history says what happened before (refusals, rollbacks),
		// which the state alone does not: a technician asks for both.
		out := struct {
			Current string `json:"current"`
			update.State
			History []update.Event `json:"history"`
		}{cur, s, hist}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	// check, install
	rootBytes, err := os.ReadFile(*root)
	if err != nil {
		return fmt.Errorf("read trusted root: %w", err)
	}
	running, err := l.Linked()
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	m, err := update.NewManager(update.Config{Layout: l, RepoURL: *repo, TrustedRoot: rootBytes, Channel: *channel,
		GatewayID: *id, Running: running, CheckOnly: verb == "check",
		OnEvent: func(e update.Event) { _ = enc.Encode(e) }})
	if err != nil {
		return err
	}
	last := m.Check(ctx, verb == "install" && *force)
	switch last.State {
	case update.StateInstalled:
		fmt.Fprintf(stderr, "installed %s; restart the service (systemctl restart praxisgate) to try it\n", last.To)
	case update.StateRefused, update.StateFailed:
		return exitError{code: 1}
	}
	return nil
}
