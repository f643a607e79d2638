package testpeer

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// MissingNATS is the failure message when nats-server is absent.
const MissingNATS = "nats-server not found: run `make test` (it installs test peers) or apt-get install nats-server"

// NATS is a nats-server with JetStream and its MQTT listener, owned by one
// test: NATS clusters are one way a provider scales past one broker, and
// their MQTT support differs from Mosquitto in places the uplink must
// survive. JetStream keeps MQTT sessions and retained messages in the
// test's temp dir, so they outlive Stop/Restart (as with Mosquitto's
// Persistence).
type NATS struct {
	t       testing.TB
	bin     string
	dir     string
	conf    string
	logPath string
	// Port is the NATS client port, MQTTPort the MQTT listener.
	Port, MQTTPort int

	proc
}

// StartNATS starts nats-server on free loopback ports and stops it when the
// test ends. It fails the test when nats-server is not installed.
func StartNATS(t testing.TB) *NATS {
	t.Helper()
	return StartNATSWith(t, NATSOptions{})
}

// NATSOptions chooses the nats-server binary and its configuration.
type NATSOptions struct {
	// Bin is the nats-server to run; empty means the system's (Debian's
	// package). CurrentNATS builds a current one.
	Bin string
	// Config renders the whole configuration for this run's ports and
	// directories; nil means the test default (JetStream on disk with
	// NATS's own defaults, MQTT with a 5 s ack_wait). A test that checks a
	// configuration shipped to providers renders it here, so what is tested
	// is what is shipped.
	Config func(NATSConfigParams) (string, error)
}

// NATSConfigParams are the values a configuration must use: the ports the
// test chose, and paths inside the test's own temp dir.
type NATSConfigParams struct {
	Port, MQTTPort    int
	StoreDir, LogFile string
}

// StartNATSWith starts nats-server as opts says on free loopback ports and
// stops it when the test ends.
func StartNATSWith(t testing.TB, opts NATSOptions) *NATS {
	t.Helper()
	SkipShort(t, "nats-server")
	bin := opts.Bin
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("nats-server"); err != nil {
			bin = "/usr/bin/nats-server"
			if _, statErr := os.Stat(bin); statErr != nil {
				t.Fatal(MissingNATS)
			}
		}
	}
	render := opts.Config
	if render == nil {
		render = defaultNATSConfig
	}
	n := &NATS{t: t, bin: bin, dir: t.TempDir()}
	n.conf = filepath.Join(n.dir, "nats.conf")
	n.logPath = filepath.Join(n.dir, "nats.log")
	t.Cleanup(func() {
		n.Stop()
		if t.Failed() {
			t.Logf("nats-server log (tail):\n%s", n.logTail())
		}
	})
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		var err error
		if n.Port, err = FreePort(); err != nil {
			t.Fatal(err)
		}
		if n.MQTTPort, err = FreePort(); err != nil {
			t.Fatal(err)
		}
		conf, err := render(NATSConfigParams{
			Port: n.Port, MQTTPort: n.MQTTPort,
			StoreDir: filepath.Join(n.dir, "jetstream"), LogFile: n.logPath,
		})
		if err != nil {
			t.Fatalf("nats: render config: %v", err)
		}
		if err := os.WriteFile(n.conf, []byte(conf), 0o600); err != nil {
			t.Fatalf("nats: write config: %v", err)
		}
		if lastErr = n.start(); lastErr == nil {
			return n
		}
	}
	t.Fatalf("nats-server: %v\n%s", lastErr, n.logTail())
	return nil
}

func defaultNATSConfig(p NATSConfigParams) (string, error) {
	return fmt.Sprintf(`server_name: praxisgate-test
listen: 127.0.0.1:%d
log_file: %q
jetstream {
  store_dir: %q
}
mqtt {
  listen: 127.0.0.1:%d
  # Redeliver an unacknowledged QoS 1 message after this long (default 30s).
  ack_wait: 5s
}
`, p.Port, p.LogFile, p.StoreDir, p.MQTTPort), nil
}

func (n *NATS) start() error {
	cmd := exec.Command(n.bin, "-c", n.conf)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	exited, err := n.run(cmd, nil)
	if err != nil {
		return err
	}
	// The MQTT listener opens only once JetStream is ready.
	for _, p := range []int{n.Port, n.MQTTPort} {
		if err := waitPort(p, 20*time.Second, exited); err != nil {
			n.Stop()
			return fmt.Errorf("%w (output: %s)", err, strings.TrimSpace(out.String()))
		}
	}
	return nil
}

// Restart starts the server again on the same ports after Stop or Kill.
func (n *NATS) Restart() {
	n.t.Helper()
	n.Stop()
	for attempt := 0; ; attempt++ {
		err := n.start()
		if err == nil {
			return
		}
		if attempt == 20 {
			n.t.Fatalf("nats-server: restart: %v\n%s", err, n.logTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// URL is the MQTT listener, e.g. tcp://127.0.0.1:40123.
func (n *NATS) URL() string { return "tcp://127.0.0.1:" + strconv.Itoa(n.MQTTPort) }

func (n *NATS) logTail() string {
	b, err := os.ReadFile(n.logPath)
	if err != nil {
		return "(no nats-server log)"
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}
