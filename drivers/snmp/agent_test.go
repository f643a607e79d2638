package snmp

import (
	"context"
	"errors"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/snmp/snmpsim"
)

// TestMain lets the test binary double as the pass_persist helper that
// snmpd starts for every recording (see snmpsim.HelperMain).
func TestMain(m *testing.M) {
	if snmpsim.HelperMain() {
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// recordingsDir finds the LibreNMS recordings in the repository's
// third-party test data below the root (the directory holding go.mod).
func recordingsDir(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for range 20 {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			rec := filepath.Join(dir, "drivers", "testdata", "third_party", "librenms-snmprec")
			if _, err := os.Stat(rec); err != nil {
				tb.Fatalf("recordings not found at %s: %v", rec, err)
			}
			return rec
		}
		dir = filepath.Dir(dir)
	}
	tb.Fatal("go.mod not found above the test directory")
	return ""
}

// startAgent runs snmpd serving the recording file (a path) with the
// "public" community and the given extra settings.
func startAgent(tb testing.TB, recording string, cfg snmpsim.AgentConfig, env ...string) *snmpsim.Agent {
	tb.Helper()
	testpeer.SkipShort(tb, "snmpd")
	if _, err := snmpsim.SnmpdPath(); err != nil {
		tb.Fatalf("%v", err)
	}
	exe, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	if cfg.Communities == nil {
		cfg.Communities = []string{"public"}
	}
	cfg.Pass = append(cfg.Pass, snmpsim.Pass{Root: ".1.3.6.1", Command: exe,
		Env: append([]string{snmpsim.EnvRecording + "=" + recording}, env...)})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a, err := snmpsim.StartAgent(ctx, tb.TempDir(), cfg)
	if errors.Is(err, snmpsim.ErrNoSnmpd) {
		tb.Fatalf("%v", err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(a.Stop)
	return a
}

func pollOnce(tb testing.TB, cfg Config) (*Driver, drivers.Sample) {
	tb.Helper()
	d, err := New(drivers.Device{ID: "dev"}, cfg, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := d.Poll(ctx)
	if err != nil {
		tb.Fatalf("poll: %v", err)
	}
	if err := s.Validate(); err != nil {
		tb.Fatalf("sample invalid: %v", err)
	}
	return d, s
}

func v2cConfig(addr string) Config {
	c := DefaultConfig()
	c.Address = addr
	return c
}
