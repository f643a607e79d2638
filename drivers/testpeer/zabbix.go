package testpeer

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ZabbixAgent2 is Debian's zabbix_agent2 run by one test from a config in
// its temp dir, on a free loopback port, never the system service.
type ZabbixAgent2 struct {
	t       testing.TB
	logPath string
	// Port is the passive-check listener (what zabbix_get asks).
	Port int

	proc
}

// ZabbixAgent2Options shape the agent's config.
type ZabbixAgent2Options struct {
	// Hostname is the host the agent asks active checks for.
	Hostname string
	// ServerActive is host:port of the Zabbix server (or the test
	// standing in for it) the agent asks for active checks and sends
	// their values to; empty turns active checks off.
	ServerActive string
}

// StartZabbixAgent2 starts zabbix_agent2 in the foreground and stops it
// when the test ends. It fails the test when the Debian package
// zabbix-agent2 is not installed.
func StartZabbixAgent2(t testing.TB, o ZabbixAgent2Options) *ZabbixAgent2 {
	t.Helper()
	SkipShort(t, "zabbix-agent2")
	bin := findBinary(t, "zabbix_agent2", "zabbix-agent2", "/usr/sbin")
	dir := t.TempDir()
	a := &ZabbixAgent2{t: t, logPath: filepath.Join(dir, "agent2.log")}
	conf := filepath.Join(dir, "zabbix_agent2.conf")
	t.Cleanup(func() {
		a.Stop()
		if t.Failed() {
			t.Logf("zabbix_agent2 log (tail):\n%s", tail(a.logPath, 6000))
		}
	})
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePortIn(10100, 32767)
		if err != nil {
			t.Fatal(err)
		}
		a.Port = port
		var b strings.Builder
		line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
		line("LogType=file")
		line("LogFile=%s", a.logPath)
		line("DebugLevel=3")
		line("PidFile=%s", filepath.Join(dir, "agent2.pid"))
		line("ControlSocket=%s", filepath.Join(dir, "agent2.sock"))
		line("Server=127.0.0.1")
		line("ListenIP=127.0.0.1")
		line("ListenPort=%d", port)
		line("Hostname=%s", o.Hostname)
		if o.ServerActive != "" {
			line("ServerActive=%s", o.ServerActive)
			// The list of checks is asked for at start (again after 60 s,
			// the smallest value 6.0 takes); values go out every second,
			// so a test need not wait the default 5 s.
			line("RefreshActiveChecks=60")
			line("BufferSend=1")
		}
		if err := os.WriteFile(conf, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "-c", conf, "-f")
		out, err := os.Create(filepath.Join(dir, "agent2.out"))
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout, cmd.Stderr = out, out
		exited, err := a.run(cmd, out)
		if err != nil {
			t.Fatal(err)
		}
		if lastErr = waitPort(port, 20*time.Second, exited); lastErr == nil {
			return a
		}
		a.Stop()
		lastErr = fmt.Errorf("%w: %s", lastErr, tail(filepath.Join(dir, "agent2.out"), 2000))
	}
	t.Fatalf("zabbix_agent2: %v\n%s", lastErr, tail(a.logPath, 4000))
	return nil
}

// ZabbixGet runs Debian's zabbix_get against the agent's passive port for
// one item key and returns what it printed (trimmed). zabbix_get comes with
// the Zabbix server and proxy packages; zabbix-proxy-sqlite3 is the
// smallest of them.
func (a *ZabbixAgent2) ZabbixGet(key string) (string, error) {
	a.t.Helper()
	bin := findBinary(a.t, "zabbix_get", "zabbix-proxy-sqlite3", "/usr/bin")
	cmd := exec.Command(bin, "-s", "127.0.0.1", "-p", strconv.Itoa(a.Port), "-t", "10", "-k", key)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return strings.TrimSpace(string(out)), fmt.Errorf("zabbix_get -k %s: %w: %s", key, err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// LogTail is the end of the agent's log, for a failing test's message.
func (a *ZabbixAgent2) LogTail() string { return tail(a.logPath, 4000) }

// freePortIn returns a loopback TCP port in [lo, hi] that was free a moment
// ago: zabbix_agent2 refuses a ListenPort above 32767, where the kernel's
// ephemeral ports (FreePort) usually are.
func freePortIn(lo, hi int) (int, error) {
	start := lo + rand.IntN(hi-lo+1)
	for i := 0; i <= hi-lo; i++ {
		p := lo + (start-lo+i)%(hi-lo+1)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err == nil {
			l.Close()
			return p, nil
		}
	}
	return 0, fmt.Errorf("no free loopback port in %d-%d", lo, hi)
}

// findBinary looks name up in PATH and then in dir; a missing binary fails
// the test naming the Debian package.
func findBinary(t testing.TB, name, pkg, dir string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	t.Fatalf("%s not found: install the Debian package %s (`make test` installs it)", name, pkg)
	return ""
}
