package config

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/praxisgate/praxisgate/drivers"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30s", 30 * time.Second, true},
		{"1h30m", 90 * time.Minute, true},
		{"250ms", 250 * time.Millisecond, true},
		{"30d", 720 * time.Hour, true},
		{"1d12h", 36 * time.Hour, true},
		{"1.5d", 36 * time.Hour, true},
		{"-2d", -48 * time.Hour, true},
		{"0", 0, true},
		{"30", 0, false},
		{"abc", 0, false},
		{"", 0, false},
		{"5 m", 0, false},
		{"3w", 0, false},
		{"d", 0, false},
		{"999999999d", 0, false},
		{"200000d100000d", 0, false},
	}
	for _, tt := range tests {
		got, err := parseDuration(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want ByteSize
		ok   bool
	}{
		{"1048576", 1 << 20, true},
		{"512MiB", 512 << 20, true},
		{"2GiB", 2 << 30, true},
		{"2 GiB", 2 << 30, true},
		{"1TiB", 1 << 40, true},
		{"100MB", 100_000_000, true},
		{"1KB", 1000, true},
		{"64KiB", 64 << 10, true},
		{"1.5GiB", 3 << 29, true},
		{"10B", 10, true},
		{"2gib", 2 << 30, true},
		{"2 GB x", 0, false},
		{"GiB", 0, false},
		{"-1MiB", 0, false},
		{"3PiB", 0, false},
		{"99999999999TiB", 0, false},
	}
	for _, tt := range tests {
		got, err := parseByteSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseByteSize(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestByteSizeString(t *testing.T) {
	tests := []struct {
		in   ByteSize
		want string
	}{
		{2 << 30, "2GiB"}, {512 << 10, "512KiB"}, {1000, "1000B"}, {0, "0B"}, {3 << 40, "3TiB"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("ByteSize(%d).String() = %q, want %q", int64(tt.in), got, tt.want)
		}
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"broker", "ca_file", "id", "interval", "keepalive", "timeout"}
	tests := []struct{ in, want string }{
		{"intervall", "interval"},
		{"keep_alive", "keepalive"},
		{"Broker", "broker"},
		{"ca-file", "ca_file"},
		{"timout", "timeout"},
		{"ip", "id"},
		{"colour", ""},
		{"xx", ""},
	}
	for _, tt := range tests {
		if got := suggest(tt.in, known); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// kitchenSink has every field type Decode supports.
type kitchenSink struct {
	Name     string            `yaml:"name"`
	On       bool              `yaml:"on"`
	Small    int8              `yaml:"small"`
	Port     uint16            `yaml:"port"`
	Ratio    float64           `yaml:"ratio"`
	Limit    *float64          `yaml:"limit"`
	Wait     time.Duration     `yaml:"wait"`
	MaybeW   *time.Duration    `yaml:"maybe_wait"`
	Size     ByteSize          `yaml:"size"`
	Sev      drivers.Severity  `yaml:"severity"`
	Token    drivers.Secret    `yaml:"token"`
	Tags     []string          `yaml:"tags"`
	Labels   map[string]string `yaml:"labels"`
	Inner    inner             `yaml:"inner"`
	PInner   *inner            `yaml:"pinner"`
	Embedded `yaml:",inline"`
	Untagged int
	Skipped  string `yaml:"-"`
}

type inner struct {
	A int    `yaml:"a"`
	B string `yaml:"b"`
}

type Embedded struct {
	Extra string `yaml:"extra"`
}

func decodeString(t *testing.T, src string, out any) []Problem {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatal(err)
	}
	return Decode(&n, out, DecodeOptions{Path: "x"})
}

func TestDecodeAllTypes(t *testing.T) {
	src := `
base: &base {a: 7, b: seven}
name: 0123
on: true
small: -8
port: 8080
ratio: 0.25
limit: 3
wait: 1d2h
maybe_wait: 5s
size: 10MiB
severity: critical
token: 12345
tags: [a, b]
labels: {room: "1.04"}
inner:
  <<: *base
  b: eight
pinner: *base
extra: yes
untagged: 4
`
	got := kitchenSink{Labels: map[string]string{"keep": "me"}, Skipped: "untouched"}
	probs := decodeString(t, strings.Replace(src, "base: &base", "name_unused: &base", 1), &got)
	// The anchor's key is unknown, which also shows unknown keys do not
	// stop the rest of the mapping from decoding.
	if len(probs) != 1 || probs[0].Path != "x.name_unused" {
		t.Fatalf("problems = %v, want just x.name_unused", probs)
	}
	want := kitchenSink{
		Name: "0123", On: true, Small: -8, Port: 8080, Ratio: 0.25, Limit: num(3),
		Wait: 26 * time.Hour, MaybeW: dur(5 * time.Second), Size: 10 << 20, Sev: drivers.Critical,
		Token: "12345", Tags: []string{"a", "b"}, Labels: map[string]string{"keep": "me", "room": "1.04"},
		Inner: inner{A: 7, B: "eight"}, PInner: &inner{A: 7, B: "seven"}, Embedded: Embedded{Extra: "yes"},
		Untagged: 4, Skipped: "untouched",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded\n%+v\nwant\n%+v", got, want)
	}
}

func TestDecodeProblems(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"int overflow", "small: 300", []string{`1:8: x.small: "300" is out of range`}},
		{"negative uint", "port: -1", []string{`1:7: x.port: "-1" is out of range (want a whole number ≥ 0)`}},
		{"float as int", "small: 1.5", []string{`1:8: x.small: want an integer, got "1.5"`}},
		{"infinite float", "ratio: .inf", []string{`1:8: x.ratio: want a finite number, got ".inf"`}},
		{"string for float", "ratio: half", []string{`1:8: x.ratio: want a number, got "half"`}},
		{"list for string", "name: [a]", []string{`1:7: x.name: want a string, got a list`}},
		{"mapping for list", "tags: {a: 1}", []string{`1:7: x.tags: want a list, got a mapping`}},
		{"bad severity", "severity: high", []string{`1:11: x.severity: want info, minor, major or critical, got "high"`}},
		{"bad size", "size: lots", []string{`1:7: x.size: want a size like 512MiB, got "lots"`}},
		{"duplicate map key", "labels: {a: 1, a: 2}", []string{`1:16: x.labels.a: duplicate key (first at line 1)`}},
		{"non-scalar key", "{[a]: 1}: 2", []string{`1:1: x: keys must be plain words, got a mapping`}},
		{"merge of a scalar", "inner: {<<: 5}", []string{`1:13: x.inner: << merges mappings only, got "5"`}},
		{"long value shortened", "on: " + strings.Repeat("y", 60), []string{`1:5: x.on: want true or false, got "` + strings.Repeat("y", 40) + `"...`}},
		{"null keeps the value", "name: ~\ninner:\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, p := range decodeString(t, tt.src, &kitchenSink{}) {
				got = append(got, p.String())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestDecodeBudget feeds an alias bomb: each level doubles the expansion.
// The decoder must stop at its node budget and say so.
func TestDecodeBudget(t *testing.T) {
	var b strings.Builder
	b.WriteString("tags:\n  - &l0 [[], []]\n")
	for i := 1; i < 40; i++ {
		fmt.Fprintf(&b, "  - &l%d [*l%d, *l%d]\n", i, i-1, i-1)
	}
	var out struct {
		Tags bomb `yaml:"tags"`
	}
	probs := decodeString(t, b.String(), &out)
	if len(probs) == 0 || len(probs) > maxProblems+2 {
		t.Fatalf("got %d problems, want between 1 and %d", len(probs), maxProblems+2)
	}
	last := probs[len(probs)-1].Msg
	if !strings.Contains(last, "document too large") {
		t.Errorf("last problem = %q, want the budget notice", last)
	}
}

// TestMergeBudget is the alias bomb built from merge keys, which expand
// while a mapping's keys are listed rather than while values are decoded.
func TestMergeBudget(t *testing.T) {
	var b strings.Builder
	b.WriteString("defs:\n  - &m0 {a: 1}\n")
	for i := 1; i < 40; i++ {
		fmt.Fprintf(&b, "  - &m%d {<<: [*m%d, *m%d]}\n", i, i-1, i-1)
	}
	var out struct {
		Defs []map[string]int `yaml:"defs"`
	}
	probs := decodeString(t, b.String(), &out)
	if len(probs) == 0 || !strings.Contains(probs[len(probs)-1].Msg, "document too large") {
		t.Errorf("problems = %v, want the budget notice", probs)
	}
}

// bomb is a recursive list type, so an alias bomb can expand through it.
type bomb []bomb
