package uplink

import (
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/buffer"
	"github.com/praxisgate/praxisgate/gateway/config"
)

func TestBrokerURL(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		tls     bool
		errLike string
	}{
		{"tls://mqtt.example:8883", "ssl://mqtt.example:8883", true, ""},
		{"mqtts://mqtt.example", "ssl://mqtt.example:8883", true, ""},
		{"SSL://mqtt.example:1", "ssl://mqtt.example:1", true, ""},
		{"tcp://127.0.0.1", "tcp://127.0.0.1:1883", false, ""},
		{"mqtt://[::1]:1884", "tcp://[::1]:1884", false, ""},
		{"", "", false, "required"},
		{"ws://mqtt.example", "", false, "not supported"},
		{"tls://user:pw@mqtt.example", "", false, "credentials"},
		{"tcp://", "", false, "no host"},
		{"tcp://mqtt.example/path", "", false, "path"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			u, useTLS, err := brokerURL(tc.in)
			if tc.errLike != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errLike) {
					t.Fatalf("err = %v, want one mentioning %q", err, tc.errLike)
				}
				if strings.Contains(err.Error(), "pw") {
					t.Errorf("error leaks the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if u.String() != tc.want || useTLS != tc.tls {
				t.Errorf("got %s tls=%v, want %s tls=%v", u, useTLS, tc.want, tc.tls)
			}
		})
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	ok := Options{Site: "s", Gateway: "g", Config: config.Uplink{Broker: "tcp://127.0.0.1:1883"}}
	tests := []struct {
		name    string
		mod     func(*Options)
		errLike string
	}{
		{"missing site", func(o *Options) { o.Site = "" }, "site and gateway"},
		{"wildcard in gateway", func(o *Options) { o.Gateway = "g/#" }, "wildcard"},
		{"cert without key", func(o *Options) { o.Config.CertFile = "/x.pem" }, "both or neither"},
		{"backoff upside down", func(o *Options) { o.Config.BackoffMin, o.Config.BackoffMax = time.Minute, time.Second }, "backoff_max"},
		{"too many in flight", func(o *Options) { o.Config.MaxInflight = 70000 }, "max_inflight"},
		{"negative timeout", func(o *Options) { o.Config.WriteTimeout = -time.Second }, "write_timeout"},
		{"CA file with plain TCP", func(o *Options) { o.Config.CAFile = "/ca.pem" }, "not tls://"},
		{"missing CA file", func(o *Options) { o.Config.Broker, o.Config.CAFile = "tls://h", "/nonexistent/ca.pem" }, "ca_file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := ok
			tc.mod(&o)
			_, err := New(o, buffer.NewMemory(buffer.Options{}))
			if err == nil || !strings.Contains(err.Error(), tc.errLike) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.errLike)
			}
		})
	}
	u, err := New(ok, buffer.NewMemory(buffer.Options{}))
	if err != nil {
		t.Fatalf("valid options: %v", err)
	}
	if u.cfg.MaxInflight != config.DefaultMaxInflight || u.cfg.ClientID != "praxisgate-s-g" || u.Root() != "praxisgate/v1/s/g" {
		t.Errorf("defaults not applied: %+v root %s", u.cfg, u.Root())
	}
}

func TestBackoffGrowsToCapWithFullJitter(t *testing.T) {
	b := newBackoff(100*time.Millisecond, time.Second)
	var asked []int64
	b.rand = func(n int64) int64 { asked = append(asked, n); return n - 1 }
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		if d := b.next(); d != w*time.Millisecond {
			t.Fatalf("attempt %d: delay %s, want %s (the ceiling)", i, d, w*time.Millisecond)
		}
	}
	b.reset()
	if c := b.ceiling(); c != 100*time.Millisecond {
		t.Errorf("after reset ceiling = %s", c)
	}
	// The real jitter stays within [0, ceiling].
	b = newBackoff(time.Millisecond, 8*time.Millisecond)
	for range 200 {
		c := b.ceiling()
		if d := b.next(); d < 0 || d > c {
			t.Fatalf("delay %s outside [0, %s]", d, c)
		}
	}
}

func TestCheckTopic(t *testing.T) {
	for _, tc := range []struct {
		topic string
		ok    bool
	}{
		{"telemetry/usv-rack", true},
		{"", false},
		{"telemetry/#", false},
		{"telemetry/+/x", false},
		{"bad\x00", false},
		{"\xff", false},
	} {
		if err := checkTopic(tc.topic); (err == nil) != tc.ok {
			t.Errorf("checkTopic(%q) = %v, want ok=%v", tc.topic, err, tc.ok)
		}
	}
}

func TestEWMA(t *testing.T) {
	var e ewma
	t0 := time.Unix(0, 0)
	e.update(t0, 0)
	// A steady 1000/s for a minute converges to 1000.
	for i := 1; i <= 60; i++ {
		e.update(t0.Add(time.Duration(i)*time.Second), int64(1000*i))
	}
	if e.rate < 990 || e.rate > 1010 {
		t.Errorf("rate = %.1f, want about 1000", e.rate)
	}
}
