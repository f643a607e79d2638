package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the loader. A config file is input
// from outside (edited by hand, pushed by the provider's cloud), so the
// loader must never panic and must always answer with a config or with
// positioned problems.
func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile(exampleFile); err == nil {
		f.Add(data)
	}
	f.Add([]byte(head))
	f.Add([]byte(head + "devices:\n  - {id: a, driver: testdrv, interval: 5s, testdrv: {port: x, baud: 2400}}\n"))
	dir := f.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pw"), []byte("secret\n"), 0o600); err != nil {
		f.Fatal(err)
	}
	path := filepath.Join(dir, "praxisgate.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, path)
		if err != nil {
			var errs *Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Parse error is %T, want *Errors: %v", err, err)
			}
			if len(errs.List) == 0 {
				t.Fatal("*Errors without problems")
			}
			for _, p := range errs.List {
				if p.Msg == "" {
					t.Fatalf("problem without message: %+v", p)
				}
				if p.Line < 1 && p.Path != "" {
					t.Fatalf("problem without line: %+v", p)
				}
			}
			if cfg != nil {
				t.Fatal("Parse returned a config with an error")
			}
			return
		}
		if !slugRE.MatchString(cfg.Site) || !slugRE.MatchString(cfg.Gateway) || cfg.Uplink.Broker == "" {
			t.Fatalf("accepted a config without valid site, gateway and broker: %+v", cfg)
		}
		for i, d := range cfg.Devices {
			if d.DriverConfig == nil || d.Interval < 1e9 || d.Timeout <= 0 || d.Timeout > d.Interval || d.Jitter == nil {
				t.Fatalf("device %d incompletely filled: %+v", i, d)
			}
		}
		again, err := Parse(data, path)
		if err != nil || !reflect.DeepEqual(cfg, again) {
			t.Fatalf("second Parse differs: %v", err)
		}
	})
}
