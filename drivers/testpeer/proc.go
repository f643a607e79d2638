package testpeer

import (
	"fmt"
	"io"
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

// run starts cmd and keeps it for Stop and Kill. out, when not nil, is
// closed once the process has exited; the returned channel is closed then
// too, so a wait for the peer's port can give up when it dies.
func (p *proc) run(cmd *exec.Cmd, out io.Closer) (<-chan struct{}, error) {
	if err := cmd.Start(); err != nil {
		if out != nil {
			out.Close()
		}
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		if out != nil {
			out.Close()
		}
		close(exited)
	}()
	p.mu.Lock()
	p.cmd, p.exited = cmd, exited
	p.mu.Unlock()
	return exited, nil
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
