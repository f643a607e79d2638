package config

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// An explicit zero is a value: a fridge delay of 0s raises the alarm at
// the first reading outside the band, reconnect_spread: 0s reconnects
// without a spread. Left out, both get their defaults.
func TestExplicitZeroKept(t *testing.T) {
	head := "site: a\ngateway: b\n"
	tests := []struct {
		name          string
		yaml          string
		delay, spread time.Duration
	}{
		{"absent", head + "uplink: {broker: \"mqtts://x\"}\n", DefaultFridgeDelay, DefaultReconnectSpread},
		{"explicit zero", head + "uplink: {broker: \"mqtts://x\", reconnect_spread: 0s}\nfridge: {delay: 0s}\n", 0, 0},
		{"explicit value", head + "uplink: {broker: \"mqtts://x\", reconnect_spread: 5s}\nfridge: {delay: 2m}\n", 2 * time.Minute, 5 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tc.yaml), "")
			if err != nil {
				t.Fatal(err)
			}
			if d := *cfg.Fridge.Effective().Delay; d != tc.delay {
				t.Errorf("fridge delay %s, want %s", d, tc.delay)
			}
			if s := cfg.Uplink.ReconnectSpread; s == nil || *s != tc.spread {
				t.Errorf("reconnect_spread %v, want %s", s, tc.spread)
			}
		})
	}
}

// max_inflight is checked against the limit the uplink enforces: what
// the loader accepts, the uplink starts with (CheckMaxInflight is the one
// check both call).
func TestMaxInflightLimit(t *testing.T) {
	for _, tc := range []struct {
		n  string
		ok bool
	}{{"1", true}, {"65000", true}, {"65001", false}, {"65535", false}, {"-1", false}} {
		_, err := Parse([]byte("site: a\ngateway: b\nuplink: {broker: \"mqtts://x\", max_inflight: "+tc.n+"}\n"), "")
		if (err == nil) != tc.ok {
			t.Errorf("max_inflight %s: err %v, want ok=%v", tc.n, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "uplink.max_inflight") {
			t.Errorf("max_inflight %s: %v does not name the key", tc.n, err)
		}
	}
}

func TestDiff(t *testing.T) {
	yaml := "site: a\ngateway: b\nuplink: {broker: \"mqtts://x\"}\ndevices:\n  - {id: m, driver: testdrv, testdrv: {port: p}}\n"
	a, err := Parse([]byte(yaml), "")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Parse([]byte(yaml), "")
	if got := Diff(a, b); len(got) != 0 {
		t.Fatalf("the same file differs in %v", got)
	}
	b.Devices[0].Line += 3
	v := 7.5
	b.Fridge.High = &v
	b.Uplink.Broker = "tls://x:8883"
	if got := Diff(a, b); !slices.Equal(got, []string{"uplink", "fridge"}) {
		t.Fatalf("changed %v", got)
	}
}

// docs/web.md's table of what applies live and what after a restart says
// what the table of sections says, for every section.
func TestSectionsDocumented(t *testing.T) {
	raw, err := os.ReadFile("../../docs/web.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	if !strings.Contains(doc, "| section | when it takes effect | why |") {
		t.Fatal("docs/web.md: the table of sections is gone")
	}
	// A row names its sections in back quotes at the start of its first
	// cell ("`web`, `state_dir` | after a restart"); the first row naming
	// a section counts.
	row := regexp.MustCompile("(?m)^\\| ((?:`[a-z_]+`(?:, )?)+)[^|]*\\| (at once|after a restart)")
	name := regexp.MustCompile("`([a-z_]+)`")
	seen := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(doc, -1) {
		for _, n := range name.FindAllStringSubmatch(m[1], -1) {
			if _, dup := seen[n[1]]; !dup {
				seen[n[1]] = m[2]
			}
		}
	}
	for _, s := range Sections() {
		want := "after a restart"
		if s.Live {
			want = "at once"
		}
		if got, ok := seen[s.Name]; !ok {
			t.Errorf("docs/web.md: no row for section %s", s.Name)
		} else if got != want {
			t.Errorf("docs/web.md: section %s takes effect %q, the table says %q", s.Name, got, want)
		}
	}
}
