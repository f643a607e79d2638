// Package supportbundle builds what a support case needs from a running
// gateway, without secrets: versions, the redacted config, buffer and
// uplink state, active alarms, every device's latest readings, recent log
// lines (which carry redacted secrets already) and the Go runtime. The
// support-bundle command sends it gzipped in chunks.
package supportbundle

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"runtime"

	"github.com/praxisgate/praxisgate/buffer"
	"github.com/praxisgate/praxisgate/gateway"
	"github.com/praxisgate/praxisgate/gateway/alarm"
	"github.com/praxisgate/praxisgate/gateway/config"
	"github.com/praxisgate/praxisgate/gateway/contract"
	"github.com/praxisgate/praxisgate/gateway/uplink"
)

// Source is what the bundle reads of the running gateway
// (*gateway.Gateway).
type Source interface {
	Config() *config.Config
	Stats() gateway.Stats
	Now() contract.Stamp
	Latest() []gateway.Latest
	Alarms() []alarm.Alarm
}

// Bundle is the JSON document.
type Bundle struct {
	Generated   string         `json:"generated"`
	Version     string         `json:"version"`
	Boot        string         `json:"boot"`
	Site        string         `json:"site"`
	Gateway     string         `json:"gateway"`
	Started     string         `json:"started"`
	ClockSynced bool           `json:"clock_synced"`
	Config      string         `json:"config,omitempty"`
	ConfigError string         `json:"config_error,omitempty"`
	Buffer      buffer.Stats   `json:"buffer"`
	Uplink      uplink.Stats   `json:"uplink"`
	Alarms      []alarm.Alarm  `json:"alarms"`
	Devices     []Device       `json:"devices"`
	Log         []string       `json:"log,omitempty"`
	Runtime     map[string]any `json:"runtime"`
}

// Device is one device's latest result.
type Device struct {
	Device  string                `json:"device"`
	At      string                `json:"at"`
	Error   string                `json:"error,omitempty"`
	Metrics []contract.MetricJSON `json:"metrics"`
}

// Build returns the bundle of src as gzipped JSON. redacted is the config
// file with every secret replaced, or configErr why it is missing; log is
// the recent log lines.
func Build(src Source, redacted []byte, configErr error, log []string) ([]byte, error) {
	now, st, cfg := src.Now(), src.Stats(), src.Config()
	b := Bundle{Generated: contract.FormatTime(now.Time), Version: st.Version, Boot: st.Origin.Boot,
		Site: cfg.Site, Gateway: cfg.Gateway, Started: contract.FormatTime(st.Started), ClockSynced: now.Synced,
		Buffer: st.Buffer, Uplink: st.Uplink, Alarms: src.Alarms(), Log: log}
	if configErr != nil {
		b.ConfigError = configErr.Error()
	} else {
		b.Config = string(redacted)
	}
	for _, l := range src.Latest() {
		d := Device{Device: l.Sample.Device, At: contract.FormatTime(l.At), Error: l.Err}
		for _, m := range l.Sample.Metrics {
			d.Metrics = append(d.Metrics, contract.MetricJSON{Name: m.Name, Value: m.Value, Unit: m.Unit})
		}
		b.Devices = append(b.Devices, d)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.Runtime = map[string]any{"go": runtime.Version(), "goroutines": runtime.NumGoroutine(), "heap_bytes": ms.HeapAlloc, "os": runtime.GOOS, "arch": runtime.GOARCH}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(b); err != nil {
		return nil, fmt.Errorf("encode bundle: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compress bundle: %w", err)
	}
	return buf.Bytes(), nil
}
