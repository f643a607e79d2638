package config

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

// testdrvConfig exercises the decoder on a driver's own Config: defaults,
// a secret, a nested list and a duration, the shapes real drivers use.
type testdrvConfig struct {
	Port      string         `yaml:"port"`
	Baud      int            `yaml:"baud"`
	Password  drivers.Secret `yaml:"password"`
	Timeout   time.Duration  `yaml:"timeout"`
	Registers []testdrvReg   `yaml:"registers"`
	// Explode makes the constructor return a plain (non-field) error.
	Explode bool `yaml:"explode"`
}

type testdrvReg struct {
	Addr int    `yaml:"addr"`
	Type string `yaml:"type"`
}

// testdrvClosed counts Close calls, to prove the loader releases drivers it
// only built for checking.
var testdrvClosed atomic.Int64

type testdrv struct{ cfg testdrvConfig }

func (d *testdrv) Poll(context.Context) (drivers.Sample, error) { return drivers.Sample{}, nil }
func (d *testdrv) Close() error                                 { testdrvClosed.Add(1); return nil }

func init() {
	drivers.Register(drivers.Spec[testdrvConfig]{
		Name: "testdrv",
		Kind: "widget",
		Doc:  "test-only driver of gateway/config",
		Defaults: func() testdrvConfig {
			return testdrvConfig{Baud: 9600, Timeout: 2 * time.Second}
		},
		New: func(dev drivers.Device, cfg testdrvConfig, _ *slog.Logger) (drivers.Driver, error) {
			var errs []error
			if cfg.Port == "" {
				errs = append(errs, drivers.Fieldf("port", "required"))
			}
			switch cfg.Baud {
			case 2400, 9600, 19200:
			default:
				errs = append(errs, drivers.Fieldf("baud", "must be 2400, 9600 or 19200, not %d", cfg.Baud))
			}
			for i, r := range cfg.Registers {
				if r.Type != "u16" && r.Type != "f32" {
					errs = append(errs, drivers.Fieldf(fmt.Sprintf("registers[%d].type", i), "must be u16 or f32, not %q", r.Type))
				}
			}
			if cfg.Explode {
				errs = append(errs, errors.New("testdrv: cannot work with explode set"))
			}
			if err := errors.Join(errs...); err != nil {
				return nil, err
			}
			return &testdrv{cfg: cfg}, nil
		},
	})
}
