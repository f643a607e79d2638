package ups

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"
)

// tricklePort hands out its bytes a few at a time, as a slow line does.
type tricklePort struct {
	in    []byte
	chunk int
}

func (p *tricklePort) Write(b []byte) (int, error) { return len(b), nil }
func (p *tricklePort) Read(b []byte) (int, error) {
	if len(p.in) == 0 {
		return 0, io.EOF
	}
	n := copy(b[:min(len(b), p.chunk)], p.in)
	p.in = p.in[n:]
	return n, nil
}

// brokenPort fails like an unplugged adapter.
type brokenPort struct{}

func (brokenPort) Write(b []byte) (int, error) { return len(b), nil }
func (brokenPort) Read([]byte) (int, error) {
	return 0, errors.New("read /dev/ttyUSB0: input/output error")
}

func TestReadReply(t *testing.T) {
	isNum := func(l []byte) bool { _, err := parseAPCNumber(l); return err == nil }
	cases := []struct {
		name    string
		port    io.ReadWriter
		term    byte
		apc     bool
		echo    string
		want    string
		wantErr error
		alerts  string
	}{
		{name: "one byte at a time", port: &tricklePort{in: []byte("099.0\r\n"), chunk: 1}, term: '\n', want: "099.0"},
		{name: "noise line first", port: &tricklePort{in: []byte("\xfe~x\r\n099.0\r\n"), chunk: 3}, term: '\n', want: "099.0"},
		{name: "alerts inside the reply", port: &tricklePort{in: []byte("0!9$9.0\r\n"), chunk: 2}, term: '\n', apc: true, want: "099.0", alerts: "!$"},
		{name: "NA", port: &tricklePort{in: []byte("NA\r\n"), chunk: 8}, term: '\n', echo: "f", wantErr: errNotSupported},
		{name: "echo", port: &tricklePort{in: []byte("F\r"), chunk: 8}, term: '\r', echo: "F\r", wantErr: errNotSupported},
		{name: "silence", port: &tricklePort{}, term: '\n', wantErr: errNoReply},
		{name: "valid remainder without terminator", port: &tricklePort{in: []byte("12.5"), chunk: 8}, term: '\n', want: "12.5"},
		{name: "port gone", port: brokenPort{}, term: '\n', wantErr: &readErr{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := newLink(tc.port)
			clock := time.Unix(0, 0)
			l.now = func() time.Time { clock = clock.Add(10 * time.Millisecond); return clock }
			l.sleep = func(time.Duration) {}
			var alerts []byte
			if tc.apc {
				l.strip, l.onStrip = isAPCAlert, func(c byte) { alerts = append(alerts, c) }
			}
			rc := replyCheck{valid: isNum}
			if tc.echo != "" {
				rc.echo = []byte(tc.echo)
			}
			got, err := l.readReply(context.Background(), l.now().Add(time.Second), tc.term, rc)
			switch want := tc.wantErr.(type) {
			case nil:
				if err != nil || string(got) != tc.want {
					t.Fatalf("got %q, %v; want %q", got, err, tc.want)
				}
			case *readErr:
				if !errors.As(err, &want) {
					t.Fatalf("err = %v, want a read error", err)
				}
			default:
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
			}
			if string(alerts) != tc.alerts {
				t.Errorf("alerts = %q, want %q", alerts, tc.alerts)
			}
		})
	}
}

func TestBatteryScaling(t *testing.T) {
	cases := []struct {
		v, nominal, want float64
	}{
		{2.28, 72, 82.08}, // per cell, issue #608
		{27.3, 24, 27.3},
		{13.6, 12, 13.6},
		{2.5, 36, 30}, // issue #2923: the first multiplier landing within ±20 % of 36 V is 12
	}
	for _, tc := range cases {
		if got := scaleBattery(tc.v, tc.nominal); got != tc.want {
			t.Errorf("scaleBattery(%v, %v) = %v, want %v", tc.v, tc.nominal, got, tc.want)
		}
	}
}
