package main

import (
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// runDaemon is a `praxisgate run` a test started: killed when the test
// ends, its standard error logged when the test failed.
type runDaemon struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan error
}

// startRun starts `praxisgate run -config cfg`.
func startRun(t *testing.T, cfg string) *runDaemon {
	t.Helper()
	d := &runDaemon{cmd: exec.Command(binary, "run", "-config", cfg), stderr: &syncBuffer{}, done: make(chan error, 1)}
	d.cmd.Stderr = d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() {
		d.cmd.Process.Kill()
		<-d.done
		if t.Failed() {
			t.Logf("daemon stderr:\n%s", d.stderr.String())
		}
	})
	return d
}

// stop sends SIGTERM and fails the test unless the daemon exits cleanly
// within 30 s.
func (d *runDaemon) stop(t *testing.T) {
	t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		d.done <- err // for the cleanup
		if err != nil {
			t.Fatalf("daemon exit after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("daemon did not stop after SIGTERM")
	}
}
