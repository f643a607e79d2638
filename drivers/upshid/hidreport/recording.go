package hidreport

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
)

// ParseHex reads bytes written as hex pairs separated by white space,
// commas or "0x" prefixes: the form in which users paste a descriptor
// (usbhid-dump, /sys/.../report_descriptor through xxd -p, NUT logs).
// Lines starting with '#' are comments.
func ParseHex(r io.Reader) ([]byte, error) {
	var out []byte
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		s, _, _ := strings.Cut(sc.Text(), "#")
		s = strings.NewReplacer(",", " ", "0x", " ", "0X", " ", ":", " ").Replace(s)
		for _, w := range strings.Fields(s) {
			if len(w)%2 != 0 {
				return nil, fmt.Errorf("line %d: %q is not a whole number of hex bytes", line, w)
			}
			b, err := hex.DecodeString(w)
			if err != nil {
				return nil, fmt.Errorf("line %d: %q: %w", line, w, err)
			}
			out = append(out, b...)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no hex bytes found")
	}
	return out, nil
}

// Recorded is one report from a recording: what GET_REPORT(Feature)
// returned ("get") or what an interrupt read returned ("int").
type Recorded struct {
	Type  ReportType
	Bytes []byte
	State string
	Line  int
	// Notes are the decoded lines that followed it in the recording
	// (kept for tests that check them).
	Notes []string
}

// ParseRecording reads the line-based report format of
// drivers/testdata/third_party/hid (see its SOURCES.md): "state NAME",
// "get ID BYTES..." for a Feature report, "int ID BYTES..." for an Input
// report, indented lines with what the source decoded. A line of bare hex
// bytes counts as a Feature report, so a user can paste reports one per
// line.
func ParseRecording(r io.Reader) ([]Recorded, error) {
	var out []Recorded
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	state, n := "", 0
	for sc.Scan() {
		n++
		raw := sc.Text()
		s, _, _ := strings.Cut(raw, "#")
		if strings.TrimSpace(s) == "" {
			continue
		}
		if (raw[0] == ' ' || raw[0] == '\t') && len(out) > 0 {
			out[len(out)-1].Notes = append(out[len(out)-1].Notes, strings.TrimSpace(s))
			continue
		}
		w := strings.Fields(s)
		typ := Feature
		switch strings.ToLower(w[0]) {
		case "state":
			if len(w) > 1 {
				state = w[1]
			}
			continue
		case "get", "feature":
			w = w[1:]
		case "int", "input":
			typ = Input
			w = w[1:]
		}
		b, err := ParseHex(strings.NewReader(strings.Join(w, " ")))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		out = append(out, Recorded{Type: typ, Bytes: b, State: state, Line: n})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
