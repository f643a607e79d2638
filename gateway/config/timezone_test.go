package config

import (
	"strings"
	"testing"
)

func TestTimezoneKey(t *testing.T) {
	base := "site: s\ngateway: g\nuplink: {broker: \"tcp://127.0.0.1:1883\"}\n"
	for _, tt := range []struct{ extra, want, problem string }{
		{"", "", ""},
		{"timezone: Europe/Vienna\n", "Europe/Vienna", ""},
		{"timezone: Europe/Bärlin\n", "", `timezone: want an IANA time zone such as Europe/Berlin, got "Europe/Bärlin"`},
		{"timezone: Local\n", "", "timezone: want an IANA time zone"},
	} {
		l := &loader{d: newDecoder("/etc/praxisgate"), dir: "/etc/praxisgate", cfg: &Config{}}
		l.run([]byte(base + tt.extra))
		l.validateTimezone()
		probs := l.d.finish()
		err := (&Errors{File: "praxisgate.yaml", List: probs}).Error()
		if tt.problem != "" {
			if !strings.Contains(err, tt.problem) {
				t.Errorf("%q: want problem %q, got %v", tt.extra, tt.problem, probs)
			}
			continue
		}
		if len(probs) > 0 || l.cfg.Timezone != tt.want {
			t.Errorf("%q: timezone %q, problems %v", tt.extra, l.cfg.Timezone, probs)
		}
	}
}
