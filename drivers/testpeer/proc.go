package testpeer

import (
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// proc is a peer process a test started. Both brokers stop, kill and
// restart theirs the same way, so a test can cut the broker away under the
// gateway like a crash or a maintenance restart would.
type proc struct {
	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// Stop ends the process (SIGTERM, then SIGKILL after 5 s) and waits for it.
// Stopping a stopped process does nothing.
func (p *proc) Stop() { p.signal(syscall.SIGTERM) }

// Kill ends the process with SIGKILL, as a crash or power cut would.
func (p *proc) Kill() { p.signal(syscall.SIGKILL) }

func (p *proc) signal(sig syscall.Signal) {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}
