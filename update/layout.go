package update

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/google/renameio/v2"
)

// BinaryName is the file name of the gateway binary inside a version directory.
const BinaryName = "praxisgate"

// Layout is the install tree below one state directory (see the package
// comment). All methods are safe against a power cut between any two
// steps; they are not safe for concurrent use by two processes, which the
// service manager rules out (one daemon, boot accounting before it starts).
type Layout struct {
	Dir string
	Now func() time.Time // injectable clock; nil means time.Now
	// Hook is called with "state-written:<op>" (op: provision, boot,
	// trial, commit, rollback) after state.json is replaced
	// and before the symlinks follow; crash tests SIGKILL the process there.
	Hook func(step string)
	// HistoryMax is how many events history.jsonl keeps; 0 means
	// DefaultHistoryMax.
	HistoryMax int
}

func (l *Layout) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// VersionDir is where version v is installed.
func (l *Layout) VersionDir(v string) string { return filepath.Join(l.Dir, "versions", v) }

// BinaryPath is the binary of version v.
func (l *Layout) BinaryPath(v string) string { return filepath.Join(l.VersionDir(v), BinaryName) }

// CurrentBinary is the path the service manager starts.
func (l *Layout) CurrentBinary() string { return filepath.Join(l.Dir, "current", BinaryName) }

// CommittedBinary is the last known good binary; it runs the boot
// accounting (ExecStartPre) because the version on trial may not even start.
func (l *Layout) CommittedBinary() string { return filepath.Join(l.Dir, "committed", BinaryName) }

// Provision installs the first version from a binary file and commits it.
// The box's image or package does this once; later versions come through
// Manager.
func (l *Layout) Provision(version, binary string) error {
	v, err := ParseVersion(version)
	if err != nil {
		return fmt.Errorf("update: provision: %w", err)
	}
	f, err := os.Open(binary)
	if err != nil {
		return fmt.Errorf("update: provision: %w", err)
	}
	defer f.Close()
	if err := os.MkdirAll(l.Dir, 0o755); err != nil {
		return fmt.Errorf("update: provision: %w", err)
	}
	if err := l.installFile(v.String(), f); err != nil {
		return fmt.Errorf("update: provision: %w", err)
	}
	return l.save(State{Committed: v.String()}, "provision")
}

// installFile writes r as the binary of version v: temp file, fsync,
// chmod, rename, fsync of the directory.
func (l *Layout) installFile(v string, r io.Reader) error {
	dir := l.VersionDir(v)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	t, err := renameio.NewPendingFile(l.BinaryPath(v), renameio.WithStaticPermissions(0o755))
	if err != nil {
		return fmt.Errorf("install %s: %w", v, err)
	}
	defer t.Cleanup()
	if _, err := io.Copy(t, r); err != nil {
		return fmt.Errorf("install %s: %w", v, err)
	}
	if err := t.CloseAtomicallyReplace(); err != nil {
		return fmt.Errorf("install %s: %w", v, err)
	}
	return syncDir(dir)
}

// save writes the state, then makes the symlinks follow it. op names the
// step for Hook.
func (l *Layout) save(s State, op string) error {
	if err := l.WriteState(s); err != nil {
		return err
	}
	if l.Hook != nil {
		l.Hook("state-written:" + op)
	}
	return l.reconcile(s)
}

// reconcile points current at the trial version (or the committed one) and
// committed at the committed one, switching each with an atomic rename of
// a temporary symlink.
func (l *Layout) reconcile(s State) error {
	cur := s.Committed
	if s.Trial != nil {
		cur = s.Trial.Version
	}
	for _, link := range []struct{ name, version string }{{"committed", s.Committed}, {"current", cur}} {
		target := filepath.Join("versions", link.version)
		path := filepath.Join(l.Dir, link.name)
		if got, err := os.Readlink(path); err == nil && got == target {
			continue
		}
		if err := renameio.Symlink(target, path); err != nil {
			return fmt.Errorf("update: switch %s to %s: %w", link.name, link.version, err)
		}
		if err := syncDir(l.Dir); err != nil {
			return err
		}
	}
	return nil
}

// Linked returns the version the current symlink points at.
func (l *Layout) Linked() (string, error) {
	t, err := os.Readlink(filepath.Join(l.Dir, "current"))
	if err != nil {
		return "", fmt.Errorf("update: read current: %w", err)
	}
	return filepath.Base(t), nil
}

// BootResult says what Boot decided.
type BootResult struct {
	Version    string // the version that will start
	OnTrial    bool   // it is a version on trial
	RolledBack string // a trial version abandoned by this boot, if any
	Reason     string
}

// Boot does the accounting before each start of the daemon: it counts a
// start of the version on trial and abandons that version once it has
// started maxBoots times without committing (it crashes, hangs until the
// watchdog kills it, or power fails while it runs). It also repairs the
// symlinks after a power cut. It must run from the committed binary
// (systemd ExecStartPre, or Supervisor), never from the trial binary.
func (l *Layout) Boot(maxBoots int) (BootResult, error) {
	s, err := l.ReadState()
	if err != nil {
		return BootResult{}, err
	}
	var res BootResult
	if t := s.Trial; t != nil {
		if _, err := os.Stat(l.BinaryPath(t.Version)); err != nil {
			res.RolledBack, res.Reason = t.Version, fmt.Sprintf("binary of %s is missing: %v", t.Version, err)
			s.abandon(t.Version, res.Reason, l.now())
			s.dropRetry(t.Version)
		} else if t.Boots >= maxBoots {
			res.RolledBack = t.Version
			how := "crash or watchdog"
			if t.LastExit != "" {
				how = "last start: " + t.LastExit
			}
			res.Reason = fmt.Sprintf("%s started %d times without becoming healthy (%s)", t.Version, t.Boots, how)
			s.abandon(t.Version, res.Reason, l.now())
			s.dropRetry(t.Version) // a crash or hang is the release's own
		} else {
			t.Boots++
		}
	}
	if err := l.save(s, "boot"); err != nil {
		return res, err
	}
	res.Version, res.OnTrial = s.Committed, s.Trial != nil
	if s.Trial != nil {
		res.Version = s.Trial.Version
	}
	return res, nil
}

// refuse remembers v as failed without a trial: its binary was refused at
// install, so the box does not download it again.
func (l *Layout) refuse(v string) error {
	s, err := l.ReadState()
	if err != nil {
		return err
	}
	if slices.Contains(s.Refused, v) {
		return nil
	}
	s.Refused = append(s.Refused, v)
	if len(s.Refused) > 32 {
		s.Refused = s.Refused[len(s.Refused)-32:]
	}
	return l.WriteState(s)
}

// RecordExit notes how the last start of version v ended when v is on
// trial (the supervisor's "no READY=1 within the start timeout, killed"),
// so that a rollback by Boot names the cause. Without a trial of v it does
// nothing.
func (l *Layout) RecordExit(v, how string) error {
	s, err := l.ReadState()
	if err != nil {
		return err
	}
	if s.Trial == nil || s.Trial.Version != v || s.Trial.LastExit == how {
		return nil
	}
	s.Trial.LastExit = how
	return l.WriteState(s)
}

// RecordStop is RecordExit for the service manager's ExecStopPost, which
// knows how the daemon ended but not which version ran: whatever ran while
// a version is on trial was that version (current points at it). how ""
// (a clean stop) records nothing.
func (l *Layout) RecordStop(how string) error {
	if how == "" {
		return nil
	}
	s, err := l.ReadState()
	if err != nil || s.Trial == nil {
		return err
	}
	return l.RecordExit(s.Trial.Version, how)
}

// StopCause words systemd's description of how a service ended
// (ExecStopPost's $SERVICE_RESULT, $EXIT_CODE, $EXIT_STATUS) like the
// supervisor's Exit; "" for a clean stop.
func StopCause(result, code, status string) string {
	switch result {
	case "success", "":
		return ""
	case "timeout":
		return "no READY=1 within the start timeout, killed"
	case "watchdog":
		return "stopped pinging the watchdog, killed"
	}
	switch code {
	case "exited":
		return "exited: exit status " + status
	case "killed", "dumped":
		return "exited: signal: " + status
	}
	return "ended: " + result
}

// beginTrial switches to the installed version v and marks it on trial.
func (l *Layout) beginTrial(v string) error {
	s, err := l.ReadState()
	if err != nil {
		return err
	}
	s.Trial = &Trial{Version: v, Previous: s.Committed, Started: l.now().UTC()}
	return l.save(s, "trial")
}

// Commit makes the version on trial the known good one. It is a no-op
// when v is not on trial (already committed by an earlier run).
func (l *Layout) Commit(v string) error {
	s, err := l.ReadState()
	if err != nil {
		return err
	}
	if s.Trial == nil || s.Trial.Version != v {
		return nil
	}
	prev := s.Committed
	s.Committed, s.Trial = v, nil
	s.dropRetry(v)
	s.Note = &Note{Event: Event{Time: l.now().UTC(), State: StateCommitted, From: prev, To: v, Reason: "healthy"}}
	if err := l.save(s, "commit"); err != nil {
		return err
	}
	l.prune(s, prev)
	return nil
}

// Rollback abandons the version on trial: it is marked failed and current
// goes back to the committed version. The caller reports it and restarts.
func (l *Layout) Rollback(v, reason string) error {
	s, err := l.ReadState()
	if err != nil {
		return err
	}
	if s.Trial == nil || s.Trial.Version != v {
		return fmt.Errorf("update: rollback %s: not on trial", v)
	}
	s.abandon(v, reason, l.now())
	s.dropRetry(v) // blamed on the release: no more retries
	return l.save(s, "rollback")
}

// rollbackInDoubt is Rollback for a version that failed only the external
// check named check: it is marked failed like any other, and the doubt is
// kept for the version running again to settle (RunTrial).
func (l *Layout) rollbackInDoubt(v, reason, check string) error {
	s, err := l.ReadState()
	if err != nil {
		return err
	}
	if s.Trial == nil || s.Trial.Version != v {
		return fmt.Errorf("update: rollback %s: not on trial", v)
	}
	now := l.now()
	s.abandon(v, reason, now)
	s.Doubt = &Doubt{Version: v, Check: check, Reason: reason, Since: now.UTC()}
	return l.save(s, "rollback")
}

// TakeNote returns the last commit or rollback if it was not reported
// yet, and marks it reported (at-least-once: a crash before the caller
// passes it on repeats it at the next start). RunTrial calls it.
func (l *Layout) TakeNote() (*Event, error) {
	s, err := l.ReadState()
	if err != nil || s.Note == nil || s.Note.Reported {
		return nil, err
	}
	ev := s.Note.Event
	s.Note.Reported = true
	return &ev, l.WriteState(s)
}

// prune removes version directories other than the committed and the
// previous one, so the disk does not fill up over years of updates. Errors
// are ignored: a leftover directory costs space, not safety.
func (l *Layout) prune(s State, prev string) {
	ents, err := os.ReadDir(filepath.Join(l.Dir, "versions"))
	if err != nil {
		return
	}
	for _, e := range ents {
		if n := e.Name(); n != s.Committed && n != prev {
			_ = os.RemoveAll(filepath.Join(l.Dir, "versions", n))
		}
	}
}

// OnTrial reports whether version v (the running one) is on trial.
func (l *Layout) OnTrial(v string) (bool, error) {
	s, err := l.ReadState()
	if err != nil {
		return false, err
	}
	return s.Trial != nil && s.Trial.Version == v, nil
}
