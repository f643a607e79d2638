package update

import (
	"errors"
	"strings"
	"testing"
)

func TestMatchVersionOutput(t *testing.T) {
	want, _ := ParseVersion("1.4.0")
	cases := []struct {
		out string
		ok  bool
	}{
		{"praxisgate 1.4.0\n", true},
		{"praxisgate v1.4.0\n", true},
		{"praxisgate 1.4.0", true},
		{"praxisgate 1.4.0\nmore lines\n", true},
		{"praxisgate 1.3.0\n", false},
		{"praxisgate 1.4.0-rc.1\n", false},
		{"praxisgate\n", false},
		{"other 1.4.0\n", false},
		{"praxisgate 1.4.0 extra\n", false},
		{"", false},
		{"\npraxisgate 1.4.0\n", false},
	}
	for _, c := range cases {
		err := matchVersionOutput([]byte(c.out), want)
		if (err == nil) != c.ok {
			t.Errorf("%q: %v, want ok=%v", c.out, err, c.ok)
		}
		if err != nil && !errors.Is(err, errWrongBinary) {
			t.Errorf("%q: %v does not mark a wrong binary", c.out, err)
		}
	}
}

// The answer of a downloaded binary is outside bytes: any of them gives a
// verdict without a panic, and only the exact version matches.
func FuzzVersionOutput(f *testing.F) {
	for _, s := range []string{"praxisgate 1.4.0\n", "praxisgate 1.3.0\n", "", "praxisgate 1.4.0-rc.1", "\x00\xff"} {
		f.Add([]byte(s))
	}
	want, _ := ParseVersion("1.4.0")
	f.Fuzz(func(t *testing.T, out []byte) {
		err := matchVersionOutput(out, want)
		if err == nil {
			line, _, _ := strings.Cut(string(out), "\n")
			if f := strings.Fields(line); len(f) != 2 || strings.TrimPrefix(f[1], "v") != "1.4.0" {
				t.Fatalf("%q accepted", out)
			}
		} else if !errors.Is(err, errWrongBinary) {
			t.Fatalf("%q: %v", out, err)
		}
	})
}
