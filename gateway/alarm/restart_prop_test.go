package alarm

import (
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway/config"
)

// Property: whatever the temperature does and wherever the box restarts,
// each alarm alternates raised, cleared, raised... (never raised twice in a
// row, never cleared when not raised), and the active set after every step
// matches that history: at most one active alarm per id.
func TestRestartsNeverDuplicateOrLoseAlarms(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	rules := []config.AlarmRule{{Device: "fridge", Metric: "temperature", Above: f(8), Below: f(2), For: 3 * time.Minute,
		Hysteresis: 0.5, Severity: drivers.Critical, StaleAfter: 5 * time.Minute}}
	for trial := 0; trial < 100; trial++ {
		file := filepath.Join(t.TempDir(), "alarms.json")
		e, err := New(rules, file, nil)
		if err != nil {
			t.Fatal(err)
		}
		active := map[string]bool{}
		v := 5.0
		at := time.Duration(0)
		for step := 0; step < 400; step++ {
			at += time.Duration(30+rng.IntN(90)) * time.Second
			var evs []drivers.Event
			switch r := rng.Float64(); {
			case r < 0.05: // restart
				if e, err = New(rules, file, nil); err != nil {
					t.Fatal(err)
				}
				continue
			case r < 0.15: // the sensor is silent; time passes
				evs = e.Tick(t0.Add(at))
			default:
				v += rng.NormFloat64() * 1.5
				v = max(-5, min(20, v))
				evs = e.Observe(reading("fridge", at, v), false)
				evs = append(evs, e.Tick(t0.Add(at))...)
			}
			for _, ev := range evs {
				id, _ := ev.Attrs["alarm"].(string)
				switch ev.Type {
				case Raised:
					if active[id] {
						t.Fatalf("trial %d step %d: %s raised twice", trial, step, id)
					}
					active[id] = true
				case Cleared:
					if !active[id] {
						t.Fatalf("trial %d step %d: %s cleared while not raised", trial, step, id)
					}
					delete(active, id)
				}
			}
			got := e.Active()
			if len(got) != len(active) {
				t.Fatalf("trial %d step %d: engine has %d active, history says %d", trial, step, len(got), len(active))
			}
			for _, a := range got {
				if !active[a.ID] {
					t.Fatalf("trial %d step %d: %s active without a raise", trial, step, a.ID)
				}
			}
		}
	}
}
