package konnektor

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/konnektor/konnektorsim"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
)

// testNow is the day the tests' practice lives in.
var testNow = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

type rig struct {
	pki *testpeer.TestPKI
	sim *konnektorsim.Sim
	cfg Config
}

// startSim runs a simulated connector with a typical practice and
// returns a matching driver config (CA check, no client auth).
func startSim(t testing.TB, o konnektorsim.Options) *rig {
	t.Helper()
	pki := testpeer.NewTestPKI(t)
	o.CertFile, o.KeyFile = pki.ServerCert, pki.ServerKey
	if o.Auth == "certificate" {
		o.ClientCAFile = pki.CAFile
	}
	sim, err := konnektorsim.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	sim.Practice(testNow)
	cfg := defaults()
	cfg.URL = sim.URL()
	cfg.CAFile = pki.CAFile
	cfg.MandantID, cfg.ClientSystemID, cfg.WorkplaceID = "Mandant1", "praxisgate", "Monitoring"
	switch o.Auth {
	case "basic":
		cfg.Auth, cfg.Username, cfg.Password = "basic", o.Username, drivers.Secret(o.Password)
	case "certificate":
		cfg.Auth, cfg.CertFile, cfg.KeyFile = "certificate", pki.ClientCert, pki.ClientKey
	}
	return &rig{pki: pki, sim: sim, cfg: cfg}
}

func newDriver(t testing.TB, cfg Config) *Driver {
	t.Helper()
	d, err := New(drivers.Device{ID: "konnektor"}, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	kd := d.(*Driver)
	kd.now = func() time.Time { return testNow }
	t.Cleanup(func() { kd.Close() })
	return kd
}

func poll(t testing.TB, d *Driver) drivers.Sample {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := d.Poll(ctx)
	if err != nil {
		t.Fatalf("poll: %v", err)
	}
	if err := s.Validate(); err != nil {
		t.Fatalf("sample does not validate: %v", err)
	}
	return s
}

func conds(s drivers.Sample) map[string]drivers.Condition {
	m := map[string]drivers.Condition{}
	for _, c := range s.Conditions {
		m[c.Name] = c
	}
	return m
}

func metric(s drivers.Sample, name string) (any, bool) {
	for _, m := range s.Metrics {
		if m.Name == name {
			return m.Value, true
		}
	}
	return nil, false
}

// fingerprintOf reads the server's certificate from the file the way a
// technician would pin it.
func fingerprintOf(t testing.TB, certFile, keyFile string) string {
	t.Helper()
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(c.Certificate[0])
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	var parts []string
	for i := 0; i < len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, ":")
}
