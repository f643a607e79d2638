package testpeer

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// MissingMosquitto is the failure message when the broker binary is absent.
// Tests fail rather than skip so that a machine without the peer cannot
// report a green run that tested nothing.
const MissingMosquitto = "mosquitto not found: run `make test` (it installs test peers) or apt-get install mosquitto"

// MosquittoOptions shapes the broker's generated config. The zero value is
// an anonymous plain-TCP broker.
type MosquittoOptions struct {
	// TLS adds a second listener speaking TLS with these files (typically
	// from NewTestPKI). The plain listener stays, so a test's own observer
	// client can connect without certificates.
	TLS *TLSFiles
	// RequireCertificate makes the TLS listener demand a client
	// certificate signed by TLS.CAFile (mTLS).
	RequireCertificate bool
	// Users, when not empty, turns anonymous access off and writes a
	// password file (via mosquitto_passwd) with these user → password
	// pairs.
	Users map[string]string
	// Persistence saves sessions, queued messages and retained messages in
	// the broker's temp dir when it stops, so a test client with a
	// persistent session misses nothing across Stop/Restart. Kill (SIGKILL)
	// loses what was not saved, as a real crash would.
	Persistence bool
	// Extra lines are appended to mosquitto.conf verbatim.
	Extra []string
}

// TLSFiles are the PEM files of a TLS listener.
type TLSFiles struct {
	CAFile, CertFile, KeyFile string
}

// Mosquitto is a running broker owned by one test.
type Mosquitto struct {
	t       testing.TB
	dir     string
	conf    string
	logPath string
	// Port is the plain listener; TLSPort the TLS one (0 without TLS).
	Port, TLSPort int

	proc
}

// StartMosquitto starts a broker on free loopback ports and stops it when
// the test ends. It fails the test when mosquitto is not installed or does
// not come up.
func StartMosquitto(t testing.TB, opts MosquittoOptions) *Mosquitto {
	t.Helper()
	SkipShort(t, "mosquitto")
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		bin = "/usr/sbin/mosquitto" // Debian installs it outside a user's PATH
		if _, statErr := os.Stat(bin); statErr != nil {
			t.Fatal(MissingMosquitto)
		}
	}
	m := &Mosquitto{t: t, dir: t.TempDir()}
	m.conf = filepath.Join(m.dir, "mosquitto.conf")
	m.logPath = filepath.Join(m.dir, "mosquitto.log")
	passwd := ""
	if len(opts.Users) > 0 {
		passwd = filepath.Join(m.dir, "passwd")
		if err := writePasswords(passwd, opts.Users); err != nil {
			t.Fatalf("mosquitto: %v", err)
		}
	}
	t.Cleanup(func() {
		m.Stop()
		if t.Failed() {
			m.dumpLog()
		}
	})
	// A free port can be taken by someone else between probing and
	// binding; a few fresh attempts make that race harmless.
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		if m.Port, err = FreePort(); err != nil {
			t.Fatal(err)
		}
		if opts.TLS != nil {
			if m.TLSPort, err = FreePort(); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(m.conf, []byte(m.config(opts, passwd)), 0o600); err != nil {
			t.Fatalf("mosquitto: write config: %v", err)
		}
		if lastErr = m.start(bin); lastErr == nil {
			return m
		}
	}
	t.Fatalf("mosquitto: %v\n%s", lastErr, m.logTail())
	return nil
}

// config renders mosquitto.conf for the current ports.
func (m *Mosquitto) config(opts MosquittoOptions, passwd string) string {
	var b strings.Builder
	line := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	line("per_listener_settings false")
	if opts.Persistence {
		line("persistence true")
		line("persistence_location %s/", m.dir)
		line("autosave_interval 3600")
	} else {
		line("persistence false")
	}
	line("log_dest file %s", m.logPath)
	line("log_type error")
	line("log_type warning")
	line("log_type notice")
	line("connection_messages true")
	// Tests push 100,000-message backlogs through one subscriber; the
	// default queue of 1000 would drop QoS 1 messages and look like loss.
	line("max_queued_messages 1000000")
	line("max_queued_bytes 0")
	line("set_tcp_nodelay true")
	if os.Geteuid() == 0 {
		// As root mosquitto drops to user "mosquitto", which cannot read
		// t.TempDir() (mode 0700).
		line("user root")
	}
	if passwd != "" {
		line("allow_anonymous false")
		line("password_file %s", passwd)
	} else {
		line("allow_anonymous true")
	}
	line("listener %d 127.0.0.1", m.Port)
	if opts.TLS != nil {
		line("listener %d 127.0.0.1", m.TLSPort)
		line("cafile %s", opts.TLS.CAFile)
		line("certfile %s", opts.TLS.CertFile)
		line("keyfile %s", opts.TLS.KeyFile)
		line("tls_version tlsv1.2")
		line("require_certificate %t", opts.RequireCertificate)
	}
	for _, x := range opts.Extra {
		line("%s", x)
	}
	return b.String()
}

// writePasswords builds a mosquitto password file with mosquitto_passwd,
// because the hash format is mosquitto's own.
func writePasswords(path string, users map[string]string) error {
	bin, err := exec.LookPath("mosquitto_passwd")
	if err != nil {
		return errors.New(MissingMosquitto + " (mosquitto_passwd missing)")
	}
	names := make([]string, 0, len(users))
	for u := range users {
		names = append(names, u)
	}
	sort.Strings(names)
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		return fmt.Errorf("create password file: %w", err)
	}
	for _, u := range names {
		out, err := exec.Command(bin, "-b", path, u, users[u]).CombinedOutput()
		if err != nil {
			return fmt.Errorf("mosquitto_passwd for user %q: %v: %s", u, err, out)
		}
	}
	return nil
}

func (m *Mosquitto) start(bin string) error {
	cmd := exec.Command(bin, "-c", m.conf)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = &stderr
	exited, err := m.run(cmd, nil)
	if err != nil {
		return err
	}
	ports := []int{m.Port}
	if m.TLSPort != 0 {
		ports = append(ports, m.TLSPort)
	}
	for _, p := range ports {
		if err := waitPort(p, 10*time.Second, exited); err != nil {
			m.Stop()
			return fmt.Errorf("%w (stderr: %s)", err, strings.TrimSpace(stderr.String()))
		}
	}
	return nil
}

// Restart starts the broker again on the same ports after Stop or Kill.
// Without persistence it comes back empty: no sessions, no retained
// messages.
func (m *Mosquitto) Restart() {
	m.t.Helper()
	m.Stop()
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		bin = "/usr/sbin/mosquitto"
	}
	// The old socket may linger briefly; retry a few times.
	for attempt := 0; ; attempt++ {
		err = m.start(bin)
		if err == nil {
			return
		}
		if attempt == 20 {
			m.t.Fatalf("mosquitto: restart on port %d: %v\n%s", m.Port, err, m.logTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// URL is the plain listener, e.g. tcp://127.0.0.1:40123.
func (m *Mosquitto) URL() string { return "tcp://127.0.0.1:" + strconv.Itoa(m.Port) }

// TLSURL is the TLS listener, e.g. tls://127.0.0.1:40124 ("" without TLS).
func (m *Mosquitto) TLSURL() string {
	if m.TLSPort == 0 {
		return ""
	}
	return "tls://127.0.0.1:" + strconv.Itoa(m.TLSPort)
}

// Running reports whether the broker process is alive.
func (m *Mosquitto) Running() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil {
		return false
	}
	select {
	case <-m.exited:
		return false
	default:
		return true
	}
}

func (m *Mosquitto) logTail() string {
	b, err := os.ReadFile(m.logPath)
	if err != nil {
		return "(no mosquitto log)"
	}
	const keep = 4000
	if len(b) > keep {
		b = b[len(b)-keep:]
	}
	return string(b)
}

func (m *Mosquitto) dumpLog() {
	m.t.Logf("mosquitto log (tail):\n%s", m.logTail())
}
