package fleetwatch

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestSeqTrack(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name    string
		seqs    []uint64
		boots   []string // per seq; empty: all "a"
		missing string   // describeGaps of what stays open
	}{
		{"in order", []uint64{1, 2, 3, 4}, nil, ""},
		{"baseline is the first seen", []uint64{40, 41}, nil, ""},
		{"jump opens a gap", []uint64{1, 2, 5}, nil, "3-4"},
		{"late seq closes it", []uint64{1, 2, 5, 3, 4}, nil, ""},
		{"late seq splits it", []uint64{1, 6, 3}, nil, "2, 4-5"},
		{"late seq trims both ends", []uint64{1, 6, 2, 5}, nil, "3-4"},
		{"duplicates are harmless", []uint64{1, 3, 3, 1}, nil, "2"},
		{"new boot starts over", []uint64{1, 5, 9, 10}, []string{"a", "a", "b", "b"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var s seqTrack
			for i, q := range c.seqs {
				boot := "a"
				if c.boots != nil {
					boot = c.boots[i]
				}
				s.see(boot, q, t0)
			}
			got, _ := describeGaps(s.gaps)
			if got != c.missing {
				t.Errorf("open gaps %q, want %q", got, c.missing)
			}
			if exp := s.expired(t0.Add(time.Second)); len(s.gaps) != 0 || (c.missing != "" && len(exp) == 0) {
				t.Errorf("expired %v, left %v", exp, s.gaps)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	const p = "praxisgate/v1"
	cases := []struct {
		topic, payload string
		kind           Kind
		seq            uint64
		err            string
	}{
		{p + "/s/gw/status", `{"boot":"b1","clock":"synced","state":"online"}`, KindStatus, 0, ""},
		{p + "/s/gw/status", ``, KindStatus, 0, ""},
		{p + "/s/gw/status", `{"state":"sleeping"}`, KindStatus, 0, "neither online nor offline"},
		{p + "/s/gw/telemetry/ups", `{"seq":7,"boot":"b1","clock":"unsynced"}`, KindTelemetry, 7, ""},
		{p + "/s/gw/event/ups", `{"boot":"b1"}`, KindEvent, 0, "no seq"},
		{p + "/s/gw/event/ups", `{"seq":-1}`, KindEvent, 0, "cannot unmarshal"},
		{p + "/s/gw/telemetry/ups", `{"seq":1,"clock":"maybe"}`, KindTelemetry, 0, "clock"},
		{p + "/s/gw/alarms", `{"alarms":[{"id":"f/t","severity":"critical","since":"2026-11-22T13:20:07.001Z"}]}`, KindAlarms, 0, ""},
		{p + "/s/gw/alarms", `{"alarms":[{"severity":"critical"}]}`, KindAlarms, 0, "without id"},
		{p + "/s/gw/cmd/ping", `not json`, KindCommand, 0, ""},
		{p + "/s/gw/inventory", `{"boot":"b1"}`, KindOther, 0, ""},
		{p + "/s", `{}`, KindOther, 0, "want"},
		{"other/v1/s/gw/status", `{}`, KindOther, 0, "not below"},
		{p + "/s/gw/telemetry/x", `{"seq":1`, KindTelemetry, 0, "unexpected end"},
	}
	for _, c := range cases {
		m, err := Decode(p, c.topic, []byte(c.payload))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s %s: err %v, want %q", c.topic, c.payload, err, c.err)
			}
			continue
		}
		if err != nil || m.Kind != c.kind || m.Seq != c.seq {
			t.Errorf("%s %s: %+v, %v; want kind %v seq %d", c.topic, c.payload, m, err, c.kind, c.seq)
		}
	}
}

// FuzzDecode: broker bytes are outside input; Decode must never panic and
// a message it accepts must be consistent.
func FuzzDecode(f *testing.F) {
	f.Add("praxisgate/v1/s/gw/telemetry/ups", []byte(`{"seq":48213,"boot":"7f3c2a9e","clock":"synced"}`))
	f.Add("praxisgate/v1/s/gw/status", []byte(`{"boot":"7f3c2a9e","state":"offline"}`))
	f.Add("praxisgate/v1/s/gw/alarms", []byte(`{"alarms":[{"id":"a/b","severity":"major","since":"2026-11-22T13:20:07.001Z"}]}`))
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		m, err := Decode("praxisgate/v1", topic, payload)
		if err != nil {
			return
		}
		if (m.Kind == KindTelemetry || m.Kind == KindEvent) && len(payload) > 0 && m.Seq == 0 {
			t.Errorf("accepted %s without seq", topic)
		}
		if m.Box == "" || !strings.Contains(m.Box, "/") {
			t.Errorf("accepted %q with box %q", topic, m.Box)
		}
	})
}

func TestParseYAML(t *testing.T) {
	base := Defaults()
	cfg, err := ParseYAML([]byte("broker: tcp://b:1883\ninterval: 10s\nsilence_factor: 2\nsla:\n  critical: 0s\n"), base)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Broker != "tcp://b:1883" || cfg.Interval != 10*time.Second || cfg.Silence() != 20*time.Second {
		t.Errorf("parsed %+v", cfg)
	}
	// An explicit 0 is kept; the severities left out are not watched.
	if d, ok := cfg.SLA["critical"]; !ok || d != 0 || len(cfg.SLA) != 1 {
		t.Errorf("sla %v, want only critical=0", cfg.SLA)
	}
	if cfg.GapGrace != base.GapGrace || cfg.Group != base.Group {
		t.Errorf("absent keys changed: %+v", cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("valid config refused: %v", err)
	}
	for _, bad := range []string{"brokr: x\n", "interval: soon\n", "a: 1\n---\nb: 2\n"} {
		if _, err := ParseYAML([]byte(bad), base); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	bad := base
	bad.Broker, bad.SilenceFactor, bad.SLA = "tcp://x:1", 0.5, map[string]time.Duration{"urgent": time.Minute}
	err = bad.Validate()
	if err == nil || !strings.Contains(err.Error(), "silence_factor") || !strings.Contains(err.Error(), "urgent") {
		t.Errorf("Validate: %v", err)
	}
}

func TestOwnerSpreadsAndMovesOnlyTheLeaversShare(t *testing.T) {
	w := &Watcher{cfg: Config{Instance: "w1"}, members: map[string]bool{"w1": true, "w2": true, "w3": true}}
	before := map[string]string{}
	count := map[string]int{}
	for i := range 3000 {
		b := fmt.Sprintf("fleet/gw-%05d", i+1)
		before[b] = w.owner(b)
		count[before[b]]++
	}
	for id, n := range count {
		if n < 800 {
			t.Errorf("instance %s owns only %d of 3000", id, n)
		}
	}
	delete(w.members, "w3")
	for b, was := range before {
		now := w.owner(b)
		if was != "w3" && now != was {
			t.Fatalf("box %s moved from %s to %s though %s stayed", b, was, now, was)
		}
		if was == "w3" {
			count["moved to "+now]++
		}
	}
	if count["moved to w1"] < count["w3"]/3 || count["moved to w2"] < count["w3"]/3 {
		t.Errorf("w3's %d boxes went %d to w1, %d to w2", count["w3"], count["moved to w1"], count["moved to w2"])
	}
}

// A member whose retained announcement outlived it (a broker that crashed
// and lost its Last Will) is dropped once it stops re-announcing.
func TestStaleMemberDropped(t *testing.T) {
	cfg := Defaults()
	cfg.Broker, cfg.Instance = "tcp://127.0.0.1:1", "w1"
	w, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	w.members["ghost"], w.heard["ghost"] = true, now.Add(-memberStale-time.Second)
	w.members["w2"], w.heard["w2"] = true, now.Add(-memberEvery)
	w.evaluate(now)
	if w.members["ghost"] || !w.members["w2"] || !w.members["w1"] {
		t.Errorf("members after evaluate: %v", w.members)
	}
}
