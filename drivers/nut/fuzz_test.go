package nut

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"slices"
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
func FuzzServer(f *testing.F) {
	f.Add([]byte("LIST VAR usv\nGET VAR usv ups.status\nUSERNAME a\nPASSWORD \"b c\"\nLOGIN usv\nLOGOUT\n"))
	f.Add([]byte("GET \"unterminated\nLIST\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		src := &fakeUPS{vars: map[string]map[string]string{"usv": {"ups.status": "OB LB", "x": "a\"b"}}}
		s := &Server{Username: "user", Password: "password1", UPSes: src.get}
		log := slog.New(slog.DiscardHandler)
		ss := &session{addr: "127.0.0.1:1"}
		r := bufio.NewReader(bytes.NewReader(b))
		var out bytes.Buffer
		w := bufio.NewWriter(&out)
		for range 100 {
			line, err := readLine(r)
			if err != nil {
				if err != io.EOF && err != io.ErrUnexpectedEOF && err != errLineTooLong {
					t.Fatalf("readLine: %v", err)
				}
				break
			}
			words, err := splitWords(line)
			if err != nil {
				continue
			}
			if s.answer(w, ss, words, log) {
				break
			}
		}
		w.Flush()
		for _, l := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
			if l == "" && out.Len() > 0 {
				t.Fatalf("empty reply line in %q", out.String())
			}
			if _, err := splitWords(l); err != nil {
				t.Fatalf("server wrote an unparsable line %q: %v", l, err)
			}
		}
		s.logout(ss)
		if n := s.numLogins("usv"); n != 0 {
			t.Fatalf("%d logins left after logout", n)
		}
	})
}

func TestSplitWords(t *testing.T) {
	cases := []struct {
		in   string
		want []string
		bad  bool
	}{
		{`VAR ups ups.status "OL CHRG"`, []string{"VAR", "ups", "ups.status", "OL CHRG"}, false},
		{`VAR ups x ""`, []string{"VAR", "ups", "x", ""}, false},
		{`VAR ups x "a \"q\" \\ b"`, []string{"VAR", "ups", "x", `a "q" \ b`}, false},
		{"  LIST   UPS  ", []string{"LIST", "UPS"}, false},
		{`VAR ups x "open`, nil, true},
		{`VAR ups x "a\`, nil, true},
		{`VA"R`, nil, true},
		{"A\x01B", nil, true},
	}
	for _, tc := range cases {
		got, err := splitWords(tc.in)
		if (err != nil) != tc.bad || !slices.Equal(got, tc.want) {
			t.Errorf("splitWords(%q) = %q, %v", tc.in, got, err)
		}
	}
}
