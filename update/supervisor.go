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

// Supervisor does for a box without systemd what the unit does with it:
// boot accounting before every start (ExecStartPre), restart after every
// exit (Restart=always, RestartSec) and a watchdog that kills a daemon
// which stops pinging (WatchdogSec), speaking the sd_notify protocol so the
// daemon's code is the same in both worlds. It runs from the committed
// binary ("praxisgate update supervise"); tests run it in process.
type Supervisor struct {
	Layout       *Layout
	Args         []string      // arguments after the binary, e.g. ["run", "-config", ...]
	MaxBoots     int           // starts of a trial version before it is abandoned; default 3
	RestartDelay time.Duration // default 1 s
	Watchdog     time.Duration // 0 disables
	Stdout       io.Writer
	Stderr       io.Writer
	Env          []string
	OnBoot       func(BootResult)
	Log          *slog.Logger
}

// Run supervises until ctx ends, then stops the daemon with SIGTERM.
func (s *Supervisor) Run(ctx context.Context) error {
	if s.MaxBoots <= 0 {
		s.MaxBoots = 3
	}
	if s.RestartDelay <= 0 {
		s.RestartDelay = time.Second
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
	pings := make(chan struct{}, 16)
	go readNotify(conn, pings)
	for ctx.Err() == nil {
		res, err := s.Layout.Boot(s.MaxBoots)
		if err != nil {
			s.Log.Error("update: boot accounting", "err", err)
		} else if s.OnBoot != nil {
			s.OnBoot(res)
		}
		s.runOnce(ctx, sockPath, pings)
		select {
		case <-ctx.Done():
		case <-time.After(s.RestartDelay):
		}
	}
	return nil
}

func readNotify(conn *net.UnixConn, pings chan<- struct{}) {
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return
		}
		for _, line := range strings.Split(string(buf[:n]), "\n") {
			if line == "WATCHDOG=1" {
				select {
				case pings <- struct{}{}:
				default:
				}
			}
		}
	}
}

func (s *Supervisor) runOnce(ctx context.Context, sock string, pings chan struct{}) {
	for len(pings) > 0 { // pings of the previous daemon do not count
		<-pings
	}
	cmd := exec.Command(s.Layout.CurrentBinary(), s.Args...)
	cmd.Stdout, cmd.Stderr = s.Stdout, s.Stderr
	cmd.Env = append(append(os.Environ(), s.Env...), "NOTIFY_SOCKET="+sock)
	if s.Watchdog > 0 {
		cmd.Env = append(cmd.Env, "WATCHDOG_USEC="+strconv.FormatInt(s.Watchdog.Microseconds(), 10))
	}
	if err := cmd.Start(); err != nil {
		s.Log.Error("update: start daemon", "err", err)
		return
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var wd <-chan time.Time
	var timer *time.Timer
	if s.Watchdog > 0 {
		timer = time.NewTimer(s.Watchdog)
		defer timer.Stop()
		wd = timer.C
	}
	for {
		select {
		case err := <-done:
			s.Log.Info("update: daemon exited", "err", err)
			return
		case <-pings:
			if timer != nil {
				timer.Reset(s.Watchdog)
			}
		case <-wd:
			s.Log.Warn("update: watchdog expired, killing daemon")
			_ = cmd.Process.Signal(syscall.SIGABRT)
			select {
			case <-done:
			case <-time.After(2 * time.Second):
				_ = cmd.Process.Kill()
				<-done
			}
			return
		case <-ctx.Done():
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				_ = cmd.Process.Kill()
				<-done
			}
			return
		}
	}
}
