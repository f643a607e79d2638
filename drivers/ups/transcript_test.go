package ups

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

var update = flag.Bool("update", false, "rewrite testdata/*/expected.txt")

// transcript is a recorded conversation with one UPS.
type transcript struct {
	protocol string
	replies  map[string][]byte // command → reply bytes
}

// unescape turns \r, \n, \\ and \xNN into bytes.
func unescape(s string) ([]byte, error) {
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 >= len(s) {
			b = append(b, s[i])
			continue
		}
		i++
		switch s[i] {
		case 'r':
			b = append(b, '\r')
		case 'n':
			b = append(b, '\n')
		case '\\':
			b = append(b, '\\')
		case 'x':
			if i+2 >= len(s) {
				return nil, fmt.Errorf("short \\x escape in %q", s)
			}
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return nil, fmt.Errorf("bad \\x escape in %q", s)
			}
			b = append(b, byte(v))
			i += 2
		default:
			return nil, fmt.Errorf("unknown escape \\%c in %q", s[i], s)
		}
	}
	return b, nil
}

func loadTranscript(t *testing.T, path string) transcript {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := transcript{replies: map[string][]byte{}}
	var cmd string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "protocol: "):
			tr.protocol = strings.TrimPrefix(line, "protocol: ")
		case strings.HasPrefix(line, "> "), strings.HasPrefix(line, "< "):
			b, err := unescape(line[2:])
			if err != nil {
				t.Fatalf("%s:%d: %v", path, n, err)
			}
			if line[0] == '>' {
				cmd = string(bytes.TrimRight(b, "\r"))
			} else {
				tr.replies[cmd] = b
			}
		case line == "" || strings.HasPrefix(line, "#"):
		default:
			t.Fatalf("%s:%d: cannot read %q", path, n, line)
		}
	}
	return tr
}

// replayPort plays a UPS from a transcript: it answers each command
// written to it with the recorded reply. Read returns (0, io.EOF) when
// nothing is queued, as a tty does after its inter-byte timeout.
type replayPort struct {
	tr      transcript
	mu      sync.Mutex
	out     []byte
	partial []byte
}

func (p *replayPort) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range b {
		if p.tr.protocol == ProtoAPCSmart {
			if r, ok := p.tr.replies[string([]byte{c})]; ok {
				p.out = append(p.out, r...)
			} else if c != '\r' && c != '\n' {
				p.out = append(p.out, "NA\r\n"...)
			}
			continue
		}
		if c != '\r' {
			p.partial = append(p.partial, c)
			continue
		}
		cmd := string(p.partial)
		p.partial = p.partial[:0]
		if r, ok := p.tr.replies[cmd]; ok {
			p.out = append(p.out, r...)
		} else {
			p.out = append(p.out, cmd+"\r"...) // unknown: echoed
		}
	}
	return len(b), nil
}

func (p *replayPort) Read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.out) == 0 {
		return 0, io.EOF
	}
	n := copy(b, p.out)
	p.out = p.out[n:]
	return n, nil
}

func (p *replayPort) Close() error { return nil }

// renderSample prints a sample for golden comparison.
func renderSample(s drivers.Sample) string {
	var b strings.Builder
	for _, m := range s.Metrics {
		fmt.Fprintf(&b, "metric %s = %v", m.Name, m.Value)
		if m.Unit != "" {
			fmt.Fprintf(&b, " %s", m.Unit)
		}
		b.WriteByte('\n')
	}
	for _, c := range s.Conditions {
		fmt.Fprintf(&b, "condition %s %s\n", c.Name, c.Severity)
	}
	for _, e := range s.Events {
		fmt.Fprintf(&b, "event %s %s\n", e.Type, e.Severity)
	}
	return b.String()
}

// TestTranscripts replays real UPS replies through the driver with
// protocol auto-detection and compares the sample with expected.txt.
func TestTranscripts(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*/transcript.txt")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	for _, path := range dirs {
		dir := filepath.Dir(path)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			tr := loadTranscript(t, path)
			cfg := DefaultConfig()
			cfg.Port = "/dev/replay"
			cfg.ReplyTimeout = 200 * time.Millisecond // only unanswered commands wait
			d, err := New(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			d.open = func(portSettings) (io.ReadWriteCloser, error) { return &replayPort{tr: tr}, nil }
			// A clock that advances with each look: reply deadlines
			// pass after a bounded number of reads, whatever the load.
			step := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			d.now = func() time.Time { step = step.Add(10 * time.Millisecond); return step }
			d.sleep = func(time.Duration) {}
			s, err := d.Poll(context.Background())
			if err != nil {
				t.Fatalf("Poll: %v", err)
			}
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			s.Time = time.Time{}
			got := renderSample(s)
			if v, _ := metric(s, "ups.protocol"); v != tr.protocol {
				t.Errorf("detected %v, transcript is %s", v, tr.protocol)
			}
			golden := filepath.Join(dir, "expected.txt")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("sample differs from %s:\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}
