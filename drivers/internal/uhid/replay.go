package uhid

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"
)

// ParseDescriptor reads a report descriptor written as hex bytes separated
// by white space (the *.rdesc.hex files; also what `praxisgate ups
// inspect -descriptor` takes from users).
func ParseDescriptor(text []byte) ([]byte, error) {
	var out []byte
	for i, f := range strings.Fields(string(text)) {
		f = strings.TrimPrefix(strings.TrimPrefix(f, "0x"), "0X")
		if len(f) != 2 {
			return nil, fmt.Errorf("uhid: descriptor byte %d: %q is not two hex digits", i, f)
		}
		b, err := hex.DecodeString(f)
		if err != nil {
			return nil, fmt.Errorf("uhid: descriptor byte %d: %q: %w", i, f, err)
		}
		out = append(out, b[0])
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("uhid: empty descriptor")
	}
	if len(out) > descriptorMax {
		return nil, fmt.Errorf("uhid: descriptor of %d bytes, the kernel takes at most %d", len(out), descriptorMax)
	}
	return out, nil
}

// State is one state block of a *.reports.txt file: what a UPS answered
// while it was, say, online or on battery.
type State struct {
	Name string
	// Gets are the GET_REPORT(Feature) answers in file order; byte 0 of
	// each is the report ID.
	Gets [][]byte
}

// Reports returns the answer for each report ID; when an ID was read more
// than once, the last answer wins, as it would in a poll.
func (s State) Reports() map[byte][]byte {
	m := map[byte][]byte{}
	for _, g := range s.Gets {
		m[g[0]] = g
	}
	return m
}

// ParseReports reads the replay format of
// drivers/testdata/third_party/hid/*.reports.txt: "state NAME" opens a
// block, "get HEX..." is one report, indented lines describe the report
// and are skipped, "#" starts a comment. Lines before the first state
// belong to a state named "".
func ParseReports(text []byte) ([]State, error) {
	var states []State
	cur := -1
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		raw := sc.Text()
		if raw != "" && (raw[0] == ' ' || raw[0] == '\t') {
			continue // the source's decoding of the report above
		}
		line := raw
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "state":
			if len(f) != 2 {
				return nil, fmt.Errorf("uhid: reports line %d: want \"state NAME\", got %q", n, raw)
			}
			states = append(states, State{Name: f[1]})
			cur = len(states) - 1
		case "get":
			if len(f) < 2 {
				return nil, fmt.Errorf("uhid: reports line %d: a get line without bytes", n)
			}
			if len(f)-1 > dataMax {
				return nil, fmt.Errorf("uhid: reports line %d: report of %d bytes, at most %d", n, len(f)-1, dataMax)
			}
			rep := make([]byte, 0, len(f)-1)
			for _, h := range f[1:] {
				b, err := hex.DecodeString(h)
				if err != nil || len(b) != 1 {
					return nil, fmt.Errorf("uhid: reports line %d: %q is not a hex byte", n, h)
				}
				rep = append(rep, b[0])
			}
			if cur < 0 {
				states = append(states, State{})
				cur = 0
			}
			states[cur].Gets = append(states[cur].Gets, rep)
		default:
			return nil, fmt.Errorf("uhid: reports line %d: unknown keyword %q", n, f[0])
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("uhid: read reports: %w", err)
	}
	return states, nil
}
