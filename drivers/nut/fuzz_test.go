package nut

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

// FuzzReader feeds arbitrary server output to the LIST VAR and LIST UPS
// readers: no panic, bounded work, and accepted variables must be
// representable again (quote then split gives the value back).
func FuzzReader(f *testing.F) {
	f.Add([]byte("BEGIN LIST VAR ups\nVAR ups ups.status \"OL CHRG\"\nVAR ups ups.model \"a \\\"b\\\" \\\\c\"\nEND LIST VAR ups\n"))
	f.Add([]byte("ERR UNKNOWN-UPS\n"))
	f.Add([]byte("BEGIN LIST UPS\nUPS ups \"desc\"\nEND LIST UPS\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		vars, err := parseVarList(bufio.NewReader(bytes.NewReader(b)), "ups")
		if err == nil {
			for _, v := range vars {
				if strings.ContainsAny(v.Value, "\r\n") {
					continue // quote turns control bytes into blanks by design
				}
				w, err := splitWords("VAR ups " + v.Name + " " + quote(v.Value))
				if err != nil || len(w) != 4 || w[3] != v.Value {
					t.Fatalf("value %q does not survive quoting: %q %v", v.Value, w, err)
				}
			}
			_ = SampleFromVars(vars)
		}
		_, _ = parseUPSList(bufio.NewReader(bytes.NewReader(b)))
	})
}

// FuzzServer sends arbitrary request bytes to one server session: it
// must answer every line with exactly one reply line or one LIST block
// and never panic.
