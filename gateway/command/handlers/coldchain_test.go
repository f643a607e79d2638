package handlers

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway/coldchain"
	"github.com/praxisgate/praxisgate/gateway/command"
	"github.com/praxisgate/praxisgate/gateway/config"
)

// configOnly is a Core that has a config and nothing else.
type configOnly struct {
	Core
	cfg *config.Config
}

func (c configOnly) Config() *config.Config { return c.cfg }

// writeDays lets the real recorder write n days of a fridge into dir.
func writeDays(t *testing.T, dir, device string, n int) {
	t.Helper()
	r, err := coldchain.New(coldchain.Options{Dir: dir, Location: time.UTC, SaveEvery: time.Hour,
		Fridges: []coldchain.Fridge{{ID: device, Low: 2, High: 8, Interval: 10 * time.Minute}}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for at := start; at.Before(start.Add(time.Duration(n) * 24 * time.Hour)); at = at.Add(10 * time.Minute) {
		r.Tick(at)
		r.Observe(drivers.Sample{Device: device, Time: at, Metrics: []drivers.Metric{drivers.Num("temperature", 5, "°C")}})
	}
	r.Tick(start.Add(time.Duration(n)*24*time.Hour + time.Second))
}

func TestColdChainVerify(t *testing.T) {
	tests := []struct {
		name    string
		args    string
		tamper  bool
		want    []string // devices answered
		intact  bool
		wantErr string
	}{
		{name: "every fridge", args: `{}`, want: []string{"kuehlschrank", "labor", "neu"}, intact: true},
		{name: "one fridge", args: `{"device":"labor"}`, want: []string{"labor"}, intact: true},
		{name: "edited day", args: `{"device":"kuehlschrank"}`, tamper: true, want: []string{"kuehlschrank"}},
		{name: "unknown device", args: `{"device":"usv"}`, wantErr: `args.device: "usv" is no fridge`},
		{name: "bad args", args: `{"devcie":"labor"}`, wantErr: `unknown field "devcie"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state := t.TempDir()
			dir := filepath.Join(state, coldchain.DirName)
			writeDays(t, dir, "kuehlschrank", 3)
			writeDays(t, dir, "labor", 2)
			if tt.tamper {
				f := filepath.Join(dir, "kuehlschrank", "2026.jsonl")
				b, _ := os.ReadFile(f)
				os.WriteFile(f, []byte(strings.Replace(string(b), `"max_c":5`, `"max_c":4.5`, 1)), 0o640)
			}
			cfg := &config.Config{StateDir: state, Devices: []config.Device{
				{ID: "kuehlschrank", Kind: config.FridgeKind}, {ID: "neu", Kind: config.FridgeKind}, {ID: "usv", Kind: "ups"}}}
			g := &server{log: slog.New(slog.DiscardHandler), core: configOnly{cfg: cfg}}
			res, err := g.cmdColdChainVerify(context.Background(), command.Request{ID: "t", Args: []byte(tt.args)})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(res)
			var got struct{ Fridges []coldChainResult }
			json.Unmarshal(b, &got)
			if len(got.Fridges) != len(tt.want) {
				t.Fatalf("answer %s", b)
			}
			for i, f := range got.Fridges {
				if f.Device != tt.want[i] || f.Intact != tt.intact {
					t.Fatalf("fridge %d: %+v", i, f)
				}
				date, hash, _ := coldchain.Head(dir, f.Device)
				if f.HeadHash != hash || f.HeadDate != date {
					t.Fatalf("%s: head %s %s, want %s %s", f.Device, f.HeadDate, f.HeadHash, date, hash)
				}
				switch {
				case f.Device == "neu" && (f.Days != 0 || f.Verdict != "Protokoll geprüft: intakt (0 Tage)" || f.HeadHash != ""):
					t.Fatalf("fridge without days: %+v", f)
				case tt.intact && f.Device == "kuehlschrank" && (f.Days != 3 || f.Verdict != "Protokoll geprüft: intakt (3 Tage)" || len(f.HeadHash) != 64):
					t.Fatalf("intact fridge: %+v", f)
				case !tt.intact && (!strings.Contains(f.Verdict, "GEBROCHEN bei ") || !strings.Contains(f.Verdict, "Zeile 1, Tag 2026-11-01") ||
					len(f.Breaks) == 0 || !strings.Contains(f.VerdictEN, "BROKEN")):
					t.Fatalf("tampered fridge: %+v", f)
				}
			}
		})
	}
}
