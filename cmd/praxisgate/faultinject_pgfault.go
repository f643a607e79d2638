//go:build pgfault

package main

// Fault injection for the self-update tests (issue 8). A praxisgate built
// with -tags pgfault reads PRAXISGATE_FAULT:
//
//	exit-at-start    the daemon ("run") exits with status 3 at every start,
//	                 before it reads its config, as a release that crashes
//	                 at start would
//	hang-at-start    the daemon hangs at every start without ever pinging
//	                 the watchdog, as a release that deadlocks would
//	kill-at:<step>   the daemon SIGKILLs itself at that update step (see
//	                 faultHook), as a power cut would, once: it first
//	                 creates the file PRAXISGATE_FAULT_MARK, and does not
//	                 kill again while that file exists
//
// Release builds never carry this file, so no production binary has the
// fault code; they only have the nil faultHook.

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"
)

// faultExitCode is what the faulty daemon exits with; systemd and
// "praxisgate update supervise" restart it either way.
const faultExitCode = 3

func init() {
	fault := os.Getenv("PRAXISGATE_FAULT")
	daemon := len(os.Args) > 1 && os.Args[1] == "run"
	switch {
	case fault == "exit-at-start" && daemon:
		fmt.Fprintf(os.Stderr, "praxisgate %s: fault injection (built with -tags pgfault): exiting at start\n", version)
		os.Exit(faultExitCode)
	case fault == "hang-at-start" && daemon:
		fmt.Fprintf(os.Stderr, "praxisgate %s: fault injection (built with -tags pgfault): hanging at start\n", version)
		for {
			// Sleeping, not blocked: the runtime would end a process whose
			// goroutines are all blocked as a deadlock, which is a crash.
			time.Sleep(time.Hour)
		}
	case strings.HasPrefix(fault, "kill-at:") && daemon:
		faultHook = killAt(strings.TrimPrefix(fault, "kill-at:"), os.Getenv("PRAXISGATE_FAULT_MARK"))
	}
}

// killAt returns a hook that kills the process at step, once per mark
// file. Without a mark file it never kills: an endless crash loop would
// test nothing.
func killAt(step, mark string) func(string) {
	return func(s string) {
		if s != step || mark == "" {
			return
		}
		f, err := os.OpenFile(mark, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return // killed here before, or the mark cannot be written
		}
		fmt.Fprintf(f, "praxisgate %s killed at %s\n", version, step)
		f.Sync()
		f.Close()
		fmt.Fprintf(os.Stderr, "praxisgate %s: fault injection: SIGKILL at update step %s\n", version, step)
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	}
}
