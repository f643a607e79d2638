package ups

import (
	"context"
	"errors"
	"io"
	"math"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

// FuzzMegatec feeds arbitrary bytes to the Q1, F and I parsers: they must
// never panic, and whatever they accept must be usable (finite numbers or
// NaN for "not measured").
func FuzzMegatec(f *testing.F) {
	f.Add([]byte("(226.0 195.0 226.0 014 49.0 27.5 30.0 00001000"))
	f.Add([]byte("#220.0 013 72.00 50.0"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if st, err := parseQ1(b); err == nil {
			for _, v := range []float64{st.InputV, st.FaultV, st.OutputV, st.Load, st.Freq, st.BattV, st.Temp} {
				if math.IsInf(v, 0) {
					t.Fatalf("parseQ1(%q) accepted an infinite value", b)
				}
			}
			rd := q1Reading(st, q1Rating{BattV: 24, Voltage: math.NaN(), Current: math.NaN(), Freq: math.NaN()}, q1Info{})
			s := drivers.Sample{Metrics: rd.metrics}
			if err := s.Validate(); err != nil {
				t.Fatalf("reading of %q does not validate: %v", b, err)
			}
		}
		if r, err := parseF(b); err == nil {
			_ = scaleBattery(r.BattV, r.BattV)
		}
		_, _ = parseI(b)
	})
}

// FuzzAPC feeds arbitrary bytes to the APC reply parsers.
func FuzzAPC(f *testing.F) {
	f.Add([]byte("08"))
	f.Add([]byte("0327:"))
	f.Add([]byte("Smart-UPS 750"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if reg, err := parseAPCStatus(b); err == nil {
			if len(apcFlags(reg, 50)) == 0 {
				t.Fatalf("status %q gave no flags", b)
			}
		}
		if v, err := parseAPCNumber(b); err == nil && (math.IsNaN(v) || math.IsInf(v, 0)) {
			t.Fatalf("parseAPCNumber(%q) = %v", b, v)
		}
		_, _ = apcText(b)
	})
}

// noisePort answers every write with the same fuzzed bytes.
type noisePort struct {
	reply []byte
	out   []byte
}

func (p *noisePort) Write(b []byte) (int, error) {
	if len(p.out) < 1<<16 {
		p.out = append(p.out, p.reply...)
	}
	return len(b), nil
}

func (p *noisePort) Read(b []byte) (int, error) {
	if len(p.out) == 0 {
		return 0, io.EOF
	}
	n := copy(b, p.out)
	p.out = p.out[n:]
	return n, nil
}

func (p *noisePort) Close() error { return nil }

// FuzzPoll runs whole polls (auto-detection, framing, both protocols)
// against a device that answers every command with the fuzzed bytes. The
// driver must return a valid sample or an error classified as
// unreachable or protocol, never panic or hang.
func FuzzPoll(f *testing.F) {
	f.Add([]byte("(226.0 195.0 226.0 014 49.0 27.5 30.0 00001000\r"))
	f.Add([]byte("SM\r\n08\r\n"))
	f.Add([]byte("!\xfe#noise\r\n100.0\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg := DefaultConfig()
		cfg.Port = "/dev/fuzz"
		cfg.ReplyTimeout = 200 * time.Millisecond
		d, err := New(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		d.open = func(portSettings) (io.ReadWriteCloser, error) { return &noisePort{reply: b}, nil }
		clock := time.Unix(0, 0)
		d.now = func() time.Time { clock = clock.Add(20 * time.Millisecond); return clock }
		d.sleep = func(time.Duration) {}
		for range 2 {
			s, err := d.Poll(context.Background())
			if err != nil {
				if !errors.Is(err, drivers.ErrUnreachable) && !errors.Is(err, drivers.ErrProtocol) {
					t.Fatalf("unclassified error: %v", err)
				}
				continue
			}
			if err := s.Validate(); err != nil {
				t.Fatalf("invalid sample: %v", err)
			}
		}
	})
}
