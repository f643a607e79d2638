package snmpsim

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// User is an SNMPv3 user the agent accepts (authPriv).
type User struct {
	Name string
	// Auth is net-snmp's word: SHA, SHA-256, SHA-512, MD5.
	Auth, AuthPass string
	// Priv is AES (AES-128), AES-256 or DES.
	Priv, PrivPass string
}

// Pass is one pass_persist registration.
type Pass struct {
	// Root is the subtree the helper answers (".1.3.6.1" for a full device).
	Root string
	// Command is the helper's path; it is run through a generated shell
	// script so that Env can be passed (snmpd does not take environment
	// settings in pass_persist lines).
	Command string
	Env     []string
}

// AgentConfig describes one snmpd instance.
type AgentConfig struct {
	// Addrs are listening addresses such as "127.0.0.1:16100"; leave empty
	// to get one free loopback port.
	Addrs       []string
	Communities []string
	Users       []User
	Pass        []Pass
	// SendMessageMaxSize makes snmpd answer tooBig above this many bytes.
	SendMessageMaxSize int
	// Extra lines appended to snmpd.conf.
	Extra []string
	// EngineID fixes snmpEngineID (snmpd's engineID token, a text that
	// net-snmp turns into a text-format engine ID); empty lets snmpd make
	// a random one at every start unless Persistent keeps the first.
	EngineID string
	// Persistent lets snmpd load and save its persistent data (engine ID,
	// engineBoots) in Dir/persist, as an installed agent does: a restart
	// then counts engineBoots up instead of starting at 1.
	Persistent bool
}

// Agent is a running snmpd.
type Agent struct {
	// Addrs are the host:port pairs snmpd listens on.
	Addrs []string
	// Dir holds snmpd.conf, the persistent dir and the helper scripts.
	Dir string

	cfg  AgentConfig
	cmd  *exec.Cmd
	done chan struct{}
	mu   sync.Mutex
	log  strings.Builder
}

// ErrNoSnmpd says the net-snmp agent is not installed.
var ErrNoSnmpd = errors.New("snmpd not found: install the Debian package snmpd (make test installs it)")

// SnmpdPath finds snmpd, which Debian installs in /usr/sbin (often not in a
// normal user's PATH).
func SnmpdPath() (string, error) {
	if p, err := exec.LookPath("snmpd"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/sbin/snmpd", "/usr/local/sbin/snmpd"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", ErrNoSnmpd
}

// FreeUDPPort returns a UDP port on host that was free a moment ago.
func FreeUDPPort(host string) (int, error) {
	c, err := net.ListenPacket("udp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

// StartAgent writes snmpd.conf into dir and runs snmpd in the foreground
// until Stop. It returns once snmpd has logged that it is ready.
func StartAgent(ctx context.Context, dir string, cfg AgentConfig) (*Agent, error) {
	if _, err := SnmpdPath(); err != nil {
		return nil, err
	}
	if len(cfg.Addrs) == 0 {
		port, err := FreeUDPPort("127.0.0.1")
		if err != nil {
			return nil, fmt.Errorf("snmpsim: find a free port: %w", err)
		}
		cfg.Addrs = []string{"127.0.0.1:" + strconv.Itoa(port)}
	}
	a := &Agent{Addrs: cfg.Addrs, Dir: dir, cfg: cfg}
	if err := a.start(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// Restart stops snmpd and starts it again on the same addresses and
// directory, as a device that reboots: change (if not nil) may alter the
// configuration first, e.g. give a new EngineID as after a firmware reset.
// With Persistent the restarted agent has counted engineBoots up.
func (a *Agent) Restart(ctx context.Context, change func(*AgentConfig)) error {
	a.Stop()
	if change != nil {
		change(&a.cfg)
		a.cfg.Addrs = a.Addrs
	}
	return a.start(ctx)
}

// writeConfig writes snmpd.conf and the helper scripts for a.cfg.
func (a *Agent) writeConfig() (string, error) {
	cfg, dir := a.cfg, a.Dir
	persist := filepath.Join(dir, "persist")
	if err := os.MkdirAll(persist, 0o700); err != nil {
		return "", err
	}
	var conf strings.Builder
	listen := make([]string, len(cfg.Addrs))
	for i, a := range cfg.Addrs {
		listen[i] = "udp:" + a
	}
	line := "agentAddress " + strings.Join(listen, ",")
	if len(line) > 4000 {
		// snmpd silently ignores the addresses past its 4 KiB line buffer.
		return "", fmt.Errorf("snmpsim: %d addresses make the agentAddress line too long; start several agents", len(cfg.Addrs))
	}
	conf.WriteString(line + "\n")
	// persistentDir and friends are library tokens, hence the [snmp]
	// prefix; without a writable dir snmpd cannot store its engine boots.
	fmt.Fprintf(&conf, "[snmp] persistentDir %s\n", persist)
	if !cfg.Persistent {
		conf.WriteString("[snmp] noPersistentLoad yes\n[snmp] noPersistentSave yes\n")
	}
	if cfg.EngineID != "" {
		fmt.Fprintf(&conf, "engineID %s\n", cfg.EngineID)
	}
	for _, c := range cfg.Communities {
		fmt.Fprintf(&conf, "rocommunity %s 127.0.0.0/8\n", c)
	}
	for _, u := range cfg.Users {
		fmt.Fprintf(&conf, "createUser %s %s %s %s %s\n", u.Name, u.Auth, u.AuthPass, u.Priv, u.PrivPass)
		fmt.Fprintf(&conf, "rouser %s authpriv\n", u.Name)
	}
	if cfg.SendMessageMaxSize > 0 {
		fmt.Fprintf(&conf, "[snmp] sendMessageMaxSize %d\n", cfg.SendMessageMaxSize)
	}
	for i, p := range cfg.Pass {
		script := filepath.Join(dir, fmt.Sprintf("pass%d.sh", i))
		var s strings.Builder
		s.WriteString("#!/bin/sh\n")
		for _, e := range p.Env {
			k, v, _ := strings.Cut(e, "=")
			fmt.Fprintf(&s, "export %s=%s\n", k, shellQuote(v))
		}
		fmt.Fprintf(&s, "exec %s\n", shellQuote(p.Command))
		if err := os.WriteFile(script, []byte(s.String()), 0o755); err != nil {
			return "", err
		}
		// Priority 1 beats snmpd's own modules (127), so the recording's
		// system group replaces the host's.
		fmt.Fprintf(&conf, "pass_persist -p 1 %s %s\n", p.Root, script)
	}
	for _, l := range cfg.Extra {
		conf.WriteString(l + "\n")
	}
	confPath := filepath.Join(dir, "snmpd.conf")
	if err := os.WriteFile(confPath, []byte(conf.String()), 0o600); err != nil {
		return "", err
	}
	return confPath, nil
}

// start runs snmpd with a.cfg and waits until it is ready.
func (a *Agent) start(ctx context.Context) error {
	bin, err := SnmpdPath()
	if err != nil {
		return err
	}
	confPath, err := a.writeConfig()
	if err != nil {
		return err
	}
	dir := a.Dir
	persist := filepath.Join(dir, "persist")
	a.done = make(chan struct{})
	a.mu.Lock()
	a.log.Reset()
	a.mu.Unlock()
	// -C: only our config; -f: foreground; -Lo: log to stdout; -I: only
	// the modules for access control and pass_persist, so every answer
	// comes from the recording and never from the host running the test.
	args := []string{"-f", "-Lo", "-C", "-c", confPath}
	env := append(os.Environ(), "SNMP_PERSISTENT_DIR="+persist, "MIBS=", "MIBDIRS=/nonexistent")
	if a.cfg.Persistent {
		// -C also skips the persistent files; instead the search path
		// holds only dir and the persistent dir (snmpd reads no other
		// directory when SNMPCONFPATH is set), so snmpd still reads no
		// host configuration.
		args = []string{"-f", "-Lo"}
		env = append(env, "SNMPCONFPATH="+dir+":"+persist)
	}
	args = append(args, "-I", "pass_persist,vacm_conf,vacm_vars,usmConf,usmUser,snmpEngine,snmpMPDStats,usmStats",
		"-p", filepath.Join(dir, "snmpd.pid"))
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Dir = dir
	// snmpd must not outlive a test binary that crashed or was killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("snmpsim: start snmpd: %w", err)
	}
	a.cmd = cmd
	done := a.done
	ready := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		once := sync.Once{}
		for sc.Scan() {
			line := sc.Text()
			a.mu.Lock()
			if a.log.Len() < 64*1024 {
				a.log.WriteString(line + "\n")
			}
			a.mu.Unlock()
			if strings.HasPrefix(line, "NET-SNMP version") {
				once.Do(func() { close(ready) })
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		_ = cmd.Wait()
	}()
	timer := time.NewTimer(15 * time.Second)
	defer timer.Stop()
	select {
	case <-ready:
		return nil
	case <-done:
		return fmt.Errorf("snmpsim: snmpd exited during start:\n%s", a.Log())
	case <-timer.C:
		a.Stop()
		return fmt.Errorf("snmpsim: snmpd not ready after 15s:\n%s", a.Log())
	case <-ctx.Done():
		a.Stop()
		return ctx.Err()
	}
}

// Log returns what snmpd printed so far.
func (a *Agent) Log() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.log.String()
}

// Addr returns the first listening address.
func (a *Agent) Addr() string { return a.Addrs[0] }

// Pid returns snmpd's process id (benchmarks read its CPU time).
func (a *Agent) Pid() int { return a.cmd.Process.Pid }

// Pause stops the agent process (SIGSTOP) so it no longer answers, like a
// device that hangs; Resume continues it.
func (a *Agent) Pause() error { return a.cmd.Process.Signal(syscall.SIGSTOP) }

// Resume continues a paused agent.
func (a *Agent) Resume() error { return a.cmd.Process.Signal(syscall.SIGCONT) }

// Stop ends snmpd and waits for it (at most 10 s).
func (a *Agent) Stop() {
	if a.cmd == nil || a.cmd.Process == nil {
		return
	}
	_ = a.cmd.Process.Signal(syscall.SIGCONT)
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.done:
	case <-time.After(10 * time.Second):
		_ = a.cmd.Process.Kill()
		<-a.done
	}
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
