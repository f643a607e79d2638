package update

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The service manager's limits for one start of the daemon. The shipped
// unit (image/praxisgate.service) sets the same values, and a test checks
// that it does: with MaxBoots 3 a release that hangs, before or after it
// says READY=1, is rolled back within 3 × (limit + kill + restart delay),
// under 60 s.
const (
	// DefaultWatchdog is WatchdogSec: a daemon that has said READY=1 and
	// then sends no WATCHDOG=1 for this long is killed. The daemon pings
	// at half of it (Watchdog), so only a process that cannot run a
	// goroutine for 12 s (or whose liveness check fails) is killed.
	DefaultWatchdog = 12 * time.Second
	// DefaultStartTimeout is TimeoutStartSec: a daemon that has not said
	// READY=1 this long after its start is killed, and the start counts
	// as a failed one like a crash. A start that needs longer (a large
	// buffer to check) says so with NotifyExtendStart.
	DefaultStartTimeout = 12 * time.Second
	// DefaultRestartDelay is RestartSec.
	DefaultRestartDelay = 2 * time.Second
	// DefaultAbortTimeout is TimeoutAbortSec: after SIGABRT (watchdog or
	// start timeout), how long before SIGKILL.
	DefaultAbortTimeout = 3 * time.Second
)

// Supervisor does for a box without systemd what the unit does with it:
// boot accounting before every start (ExecStartPre), restart after every
// exit (Restart=always, RestartSec), a start timeout until the daemon says
// READY=1 (Type=notify, TimeoutStartSec) and from then on a watchdog that
// kills a daemon which stops pinging (WatchdogSec), both with SIGABRT as
// systemd sends them (TimeoutStartFailureMode=abort). It speaks the
// sd_notify protocol, so the daemon's code is the same in both worlds. It
// runs from the committed binary ("praxisgate update supervise"); tests
// run it in process.
type Supervisor struct {
	Layout   *Layout
	Args     []string // arguments after the binary, e.g. ["run", "-config", ...]
	MaxBoots int      // starts of a trial version before it is abandoned; default 3
	// RestartDelay is the pause after an exit; 0 means DefaultRestartDelay.
	RestartDelay time.Duration
	// Watchdog is armed once the daemon has said READY=1; 0 means
	// DefaultWatchdog, a negative value turns it off.
	Watchdog time.Duration
	// StartTimeout is how long the daemon has to say READY=1; 0 means
	// DefaultStartTimeout, a negative value waits for ever.
	StartTimeout time.Duration
	Stdout       io.Writer
	Stderr       io.Writer
	Env          []string
	OnBoot       func(BootResult)
	// OnExit is told how each start ended (for tests and the log).
	OnExit func(Exit)
	Log    *slog.Logger
}

// Exit is how one start of the daemon ended.
type Exit struct {
	Version string        // the version that ran
	Ready   bool          // it said READY=1
	Killed  string        // "start timeout" or "watchdog" when the supervisor killed it
	Err     error         // from Wait
	Ran     time.Duration // from start to exit
}

func (e Exit) String() string {
	switch {
	case e.Killed == "start timeout":
		return "no READY=1 within the start timeout, killed"
	case e.Killed == "watchdog":
		return "stopped pinging the watchdog, killed"
	case e.Err != nil:
		return "exited: " + e.Err.Error()
	}
	return "exited"
}

// notice is one message of the daemon on the notify socket.
type notice struct {
	kind   int
	extend time.Duration // for noticeExtend
}

const (
	noticeReady = iota
	noticePing
	noticeExtend // EXTEND_TIMEOUT_USEC: more time to say READY=1
)

// Run supervises until ctx ends, then stops the daemon with SIGTERM.
func (s *Supervisor) Run(ctx context.Context) error {
	if s.MaxBoots <= 0 {
		s.MaxBoots = 3
	}
	if s.RestartDelay <= 0 {
		s.RestartDelay = DefaultRestartDelay
	}
	if s.Watchdog == 0 {
		s.Watchdog = DefaultWatchdog
	}
	if s.StartTimeout == 0 {
		s.StartTimeout = DefaultStartTimeout
	}
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	sockDir, err := os.MkdirTemp("", "praxisgate-notify")
	if err != nil {
		return fmt.Errorf("update: supervise: %w", err)
	}
	defer os.RemoveAll(sockDir)
	sockPath := filepath.Join(sockDir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sockPath, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("update: supervise: notify socket: %w", err)
	}
	defer conn.Close()
	notes := make(chan notice, 64)
	go readNotify(conn, notes)
	for ctx.Err() == nil {
		res, err := s.Layout.Boot(s.MaxBoots)
		if err != nil {
			s.Log.Error("update: boot accounting", "err", err)
		} else if s.OnBoot != nil {
			s.OnBoot(res)
		}
		ex := s.runOnce(ctx, sockPath, notes)
		ex.Version = res.Version
		if (ex.Killed != "" || ex.Err != nil) && ctx.Err() == nil {
			// The version on trial learns why its start failed, so the
			// rollback names it ("no READY=1 ...", "stopped pinging").
			if err := s.Layout.RecordExit(ex.Version, ex.String()); err != nil {
				s.Log.Warn("update: record exit", "err", err)
			}
		}
		if s.OnExit != nil {
			s.OnExit(ex)
		}
		select {
		case <-ctx.Done():
		case <-time.After(s.RestartDelay):
		}
	}
	return nil
}

func readNotify(conn *net.UnixConn, notes chan<- notice) {
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return
		}
		for _, line := range strings.Split(string(buf[:n]), "\n") {
			var nt notice
			switch {
			case line == "READY=1":
				nt.kind = noticeReady
			case line == "WATCHDOG=1":
				nt.kind = noticePing
			case strings.HasPrefix(line, "EXTEND_TIMEOUT_USEC="):
				us, err := strconv.ParseInt(strings.TrimPrefix(line, "EXTEND_TIMEOUT_USEC="), 10, 64)
				if err != nil || us <= 0 || us > int64(time.Hour/time.Microsecond) {
					continue
				}
				nt = notice{kind: noticeExtend, extend: time.Duration(us) * time.Microsecond}
			default:
				continue
			}
			select {
			case notes <- nt:
			default:
				if nt.kind != noticePing {
					notes <- nt // never lose READY=1; the reader drains
				}
			}
		}
	}
}

func (s *Supervisor) runOnce(ctx context.Context, sock string, notes chan notice) Exit {
	for len(notes) > 0 { // messages of the previous daemon do not count
		<-notes
	}
	var ex Exit
	cmd := exec.Command(s.Layout.CurrentBinary(), s.Args...)
	cmd.Stdout, cmd.Stderr = s.Stdout, s.Stderr
	cmd.Env = append(append(os.Environ(), s.Env...), "NOTIFY_SOCKET="+sock)
	if s.Watchdog > 0 {
		cmd.Env = append(cmd.Env, "WATCHDOG_USEC="+strconv.FormatInt(s.Watchdog.Microseconds(), 10))
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		s.Log.Error("update: start daemon", "err", err)
		ex.Err = err
		return ex
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// Until READY=1 the start timeout runs; after it the watchdog. A nil
	// channel never fires: that limit is off.
	var limit *time.Timer
	var fire <-chan time.Time
	arm := func(d time.Duration) {
		if limit != nil {
			limit.Stop()
			limit, fire = nil, nil
		}
		if d > 0 {
			limit = time.NewTimer(d)
			fire = limit.C
		}
	}
	arm(s.StartTimeout)
	defer func() {
		if limit != nil {
			limit.Stop()
		}
	}()
	kill := func(sig syscall.Signal, grace time.Duration) {
		_ = cmd.Process.Signal(sig)
		select {
		case ex.Err = <-done:
		case <-time.After(grace):
			_ = cmd.Process.Kill()
			ex.Err = <-done
		}
		ex.Ran = time.Since(start)
	}
	for {
		select {
		case ex.Err = <-done:
			ex.Ran = time.Since(start)
			s.Log.Info("update: daemon exited", "err", ex.Err)
			return ex
		case n := <-notes:
			switch {
			case n.kind == noticeReady && !ex.Ready:
				ex.Ready = true
				arm(s.Watchdog)
			case n.kind == noticePing && ex.Ready && s.Watchdog > 0:
				arm(s.Watchdog)
			case n.kind == noticeExtend && !ex.Ready && s.StartTimeout > 0:
				// As systemd: the start may take this long from now.
				arm(n.extend)
			}
		case <-fire:
			ex.Killed = "watchdog"
			if !ex.Ready {
				ex.Killed = "start timeout"
			}
			s.Log.Warn("update: killing daemon", "reason", ex.Killed)
			kill(syscall.SIGABRT, DefaultAbortTimeout)
			return ex
		case <-ctx.Done():
			kill(syscall.SIGTERM, 5*time.Second)
			return ex
		}
	}
}
