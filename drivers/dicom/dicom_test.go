package dicom

import (
	"context"
	"errors"
	"fmt"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

const storescpPath = "/usr/bin/storescp"

// freePort finds a loopback port nobody listens on.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startStorescp runs dcmtk's storage SCP, which also serves Verification,
// on a free loopback port, as a PACS would.
func startStorescp(t *testing.T, aet string, extra ...string) int {
	t.Helper()
	testpeer.SkipShort(t, "dcmtk")
	if _, err := os.Stat(storescpPath); err != nil {
		t.Fatalf("%s missing: `make test` installs Debian package dcmtk", storescpPath)
	}
	port := freePort(t)
	args := append([]string{"-v", "-aet", aet, "-od", t.TempDir()}, extra...)
	args = append(args, fmt.Sprint(port))
	cmd := exec.Command(storescpPath, args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() || testing.Verbose() {
			t.Logf("storescp said:\n%s", out.String())
		}
	})
	for i := 0; i < 100; i++ {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 100*time.Millisecond)
		if err == nil {
			c.Close()
			return port
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("storescp did not listen on %d within 5 s", port)
	return 0
}

func newDriver(t *testing.T, port int, called string) *Driver {
	t.Helper()
	cfg := defaults()
	cfg.Host, cfg.Port, cfg.CalledAE, cfg.Timeout = "127.0.0.1", port, called, 5*time.Second
	d, err := New(drivers.Device{ID: "roentgen"}, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return d.(*Driver)
}

func TestEchoStorescp(t *testing.T) {
	// --reject refuses callers without an implementation class UID, so
	// this also checks our user information item.
	port := startStorescp(t, "PACS", "--reject")
	d := newDriver(t, port, "PACS")
	for i := 0; i < 3; i++ {
		s, err := d.Poll(context.Background())
		if err != nil {
			t.Fatalf("poll %d: %v", i, err)
		}
		var status, latency float64 = -1, -1
		for _, m := range s.Metrics {
			switch m.Name {
			case "dicom.status":
				status, _ = m.Float()
			case "latency":
				latency, _ = m.Float()
			}
		}
		if status != 0 || latency <= 0 || len(s.Conditions) != 0 {
			t.Errorf("poll %d: %+v", i, s)
		}
		if err := s.Validate(); err != nil {
			t.Error(err)
		}
	}
}

func TestEchoStorescpRefuses(t *testing.T) {
	port := startStorescp(t, "PACS", "--refuse")
	_, err := newDriver(t, port, "PACS").Poll(context.Background())
	if !errors.Is(err, drivers.ErrProtocol) || !strings.Contains(err.Error(), "association rejected") {
		t.Errorf("Poll = %v, want a rejected association", err)
	}
}

func TestEchoUnreachable(t *testing.T) {
	t.Run("closed port", func(t *testing.T) {
		_, err := newDriver(t, freePort(t), "PACS").Poll(context.Background())
		if !errors.Is(err, drivers.ErrUnreachable) {
			t.Errorf("Poll = %v, want ErrUnreachable", err)
		}
	})
	t.Run("silent peer", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		go func() {
			c, err := l.Accept()
			if err == nil {
				defer c.Close()
				buf := make([]byte, 1024)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
				}
			}
		}()
		d := newDriver(t, l.Addr().(*net.TCPAddr).Port, "PACS")
		d.cfg.Timeout = 300 * time.Millisecond
		_, err = d.Poll(context.Background())
		if !errors.Is(err, drivers.ErrUnreachable) {
			t.Errorf("Poll = %v, want ErrUnreachable", err)
		}
	})
	t.Run("caller cancels", func(t *testing.T) {
		port := startStorescp(t, "PACS")
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := newDriver(t, port, "PACS").Poll(ctx); err == nil {
			t.Error("Poll with a cancelled context succeeded")
		}
	})
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Config)
		field string
	}{
		{"host", func(c *Config) { c.Host = "" }, "host"},
		{"port", func(c *Config) { c.Port = 0 }, "port"},
		{"called missing", func(c *Config) { c.CalledAE = "  " }, "called_ae"},
		{"called too long", func(c *Config) { c.CalledAE = "ABCDEFGHIJKLMNOPQ" }, "called_ae"},
		{"called backslash", func(c *Config) { c.CalledAE = `PACS\1` }, "called_ae"},
		{"calling umlaut", func(c *Config) { c.CallingAE = "PRÄXIS" }, "calling_ae"},
		{"timeout", func(c *Config) { c.Timeout = 0 }, "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := defaults()
			c.Host, c.CalledAE = "192.168.10.30", "CR_ROOM1"
			tt.edit(&c)
			_, err := New(drivers.Device{}, c, nil)
			var fe *drivers.FieldError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tt.field+":") {
				t.Errorf("New = %v, want a FieldError on %s", err, tt.field)
			}
		})
	}
}
