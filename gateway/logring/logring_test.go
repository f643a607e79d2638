package logring

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/praxisgate/praxisgate/drivers"
)

func TestRing(t *testing.T) {
	tests := []struct {
		size, add, ask int
		want           []string
	}{
		{3, 0, 0, nil},
		{3, 2, 0, []string{"l0", "l1"}},
		{3, 5, 0, []string{"l2", "l3", "l4"}},
		{3, 5, 2, []string{"l3", "l4"}},
		{3, 3, 10, []string{"l0", "l1", "l2"}},
	}
	for _, tc := range tests {
		r := NewRing(tc.size)
		for i := range tc.add {
			r.add(fmt.Sprintf("l%d", i))
		}
		if got := r.Lines(tc.ask); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("size %d add %d ask %d: %v, want %v", tc.size, tc.add, tc.ask, got, tc.want)
		}
	}
}

func TestHandler(t *testing.T) {
	var out bytes.Buffer
	next := slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelWarn})
	ring := NewRing(10)
	log := slog.New(New(next, ring, slog.LevelInfo)).With("part", "uplink")
	log.Debug("dropped everywhere")
	log.Info("connected", "password", drivers.Secret("geheim"))
	log.WithGroup("g").Warn("lost", "err", "EOF")
	lines := ring.Lines(0)
	if len(lines) != 2 || !strings.Contains(lines[0], "part=uplink") || !strings.Contains(lines[1], "g.err=EOF") {
		t.Fatalf("ring %q", lines)
	}
	if strings.Contains(strings.Join(lines, "\n"), "geheim") {
		t.Fatal("secret in the ring")
	}
	if got := out.String(); strings.Contains(got, "connected") || !strings.Contains(got, "lost") {
		t.Fatalf("next got %q: its own level must still apply", got)
	}
}
