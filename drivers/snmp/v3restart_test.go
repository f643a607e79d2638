package snmp

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/snmp/snmpsim"
)

var v3RestartUser = snmpsim.User{Name: "ups", Auth: "SHA-256", AuthPass: "auth-pass-256", Priv: "AES", PrivPass: "priv-pass-aes"}

func v3RestartConfig(addr string) Config {
	cfg := DefaultConfig()
	cfg.Address = addr
	cfg.Version = "3"
	cfg.Community = ""
	cfg.Timeout = 500 * time.Millisecond
	cfg.Retries = 1
	cfg.V3 = V3Config{User: v3RestartUser.Name, AuthProtocol: v3RestartUser.Auth, AuthPassword: drivers.Secret(v3RestartUser.AuthPass),
		PrivProtocol: v3RestartUser.Priv, PrivPassword: drivers.Secret(v3RestartUser.PrivPass)}
	return cfg
}

// TestV3AgentRestart restarts a real snmpd behind an SNMPv3 device, as a
// UPS card or NAS reboots after a power cut: with its engine ID kept (the
// persistent store counts engineBoots up), and with a new engine ID (a
// firmware reset, nothing persisted). The device must be read again at the
// first poll after the agent is back. Before the session was rebuilt, the
// new engine ID failed every poll for ever ("incoming packet is not
// authentic").
func TestV3AgentRestart(t *testing.T) {
	tests := []struct {
		name       string
		persistent bool
		engineIDs  []string // engine ID at the start, then after each restart
	}{
		{"same engine id and boots counted up", true, []string{"praxis-ups-1", "praxis-ups-1", "praxis-ups-1"}},
		{"same engine id and boots back to 1", false, []string{"praxis-ups-1", "praxis-ups-1"}},
		{"new engine id after a reset", false, []string{"praxis-ups-1", "praxis-ups-2", "praxis-ups-3"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := startAgent(t, recordingPath(t, "eaton-mgeups_9px"), snmpsim.AgentConfig{Communities: []string{},
				Users: []snmpsim.User{v3RestartUser}, Persistent: tc.persistent, EngineID: tc.engineIDs[0]})
			d, err := New(drivers.Device{ID: "ups"}, v3RestartConfig(a.Addr()), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			poll := func() (drivers.Sample, error) {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				return d.Poll(ctx)
			}
			if _, err := poll(); err != nil {
				t.Fatalf("first poll: %v\n%s", err, a.Log())
			}
			for i, eid := range tc.engineIDs[1:] {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				err := a.Restart(ctx, func(c *snmpsim.AgentConfig) { c.EngineID = eid })
				cancel()
				if err != nil {
					t.Fatal(err)
				}
				s, err := poll()
				if err != nil {
					t.Fatalf("restart %d (engine id %s): first poll after the agent is back: %v", i+1, eid, err)
				}
				if got := metricValue(s, "ups.status"); got != "OL" {
					t.Fatalf("restart %d: ups.status = %v", i+1, got)
				}
				if c := findCondition(s, AuthFailedCondition); c != nil {
					t.Fatalf("restart %d: %+v", i+1, c)
				}
			}
		})
	}
}

// TestV3AgentDownThenBack: polls during the restart time out; the first
// poll after the agent (with a new engine ID) is back reads it.
func TestV3AgentDownThenBack(t *testing.T) {
	a := startAgent(t, recordingPath(t, "eaton-mgeups_9px"), snmpsim.AgentConfig{Communities: []string{},
		Users: []snmpsim.User{v3RestartUser}, EngineID: "praxis-ups-1"})
	cfg := v3RestartConfig(a.Addr())
	cfg.Timeout = 200 * time.Millisecond
	cfg.Retries = 0
	d, err := New(drivers.Device{ID: "ups"}, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := d.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Pause(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Poll(ctx); err == nil {
		t.Fatal("poll of a paused agent succeeded")
	}
	a.Stop()
	if _, err := d.Poll(ctx); err == nil {
		t.Fatal("poll of a stopped agent succeeded")
	}
	if err := a.Restart(ctx, func(c *snmpsim.AgentConfig) { c.EngineID = "praxis-ups-2" }); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Poll(ctx); err != nil {
		t.Fatalf("first poll after the agent is back: %v", err)
	}
}

// BenchmarkV3RecoveryAfterRestart measures how soon an SNMPv3 device is
// read again after its agent restarts with a new engine ID: the time from
// the agent being ready to the first successful poll, polling back to back,
// and how many polls that took (1 means the first poll after the restart).
func BenchmarkV3RecoveryAfterRestart(b *testing.B) {
	a := startAgent(b, recordingPath(b, "eaton-mgeups_9px"), snmpsim.AgentConfig{Communities: []string{},
		Users: []snmpsim.User{v3RestartUser}, EngineID: "praxis-ups-0"})
	d, err := New(drivers.Device{ID: "ups"}, v3RestartConfig(a.Addr()), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if _, err := d.Poll(ctx); err != nil {
		b.Fatal(err)
	}
	var total time.Duration
	polls := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if err := a.Restart(ctx, func(c *snmpsim.AgentConfig) { c.EngineID = fmt.Sprintf("praxis-ups-%d", i+1) }); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		for n := 1; ; n++ {
			_, err := d.Poll(ctx)
			if err == nil {
				polls += n
				break
			}
			if n == 20 {
				b.Fatalf("not read again after %d polls: %v", n, err)
			}
		}
		total += time.Since(start)
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/recovery")
	b.ReportMetric(float64(polls)/float64(b.N), "polls/recovery")
}
