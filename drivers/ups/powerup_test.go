package ups

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/ups/upssim"
)

// pollWithin polls like the scheduler does with a 1 s interval and a 1 s
// timeout, at most n times, and returns how many polls the first good
// reading took (0 if none did).
func pollWithin(t *testing.T, d *Driver, n int) (int, []error) {
	t.Helper()
	var errs []error
	for i := 1; i <= n; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		s, err := d.Poll(ctx)
		cancel()
		if err == nil {
			if verr := s.Validate(); verr != nil {
				t.Fatal(verr)
			}
			return i, errs
		}
		errs = append(errs, err)
	}
	return 0, errs
}

// TestAPCFreshFromPowerUpOnAuto: an APC Smart-UPS that has just powered up
// answers nothing until it gets Y. With protocol auto and a 1 s poll it
// must be read within three polls (3 s), also when it restarts later.
func TestAPCFreshFromPowerUpOnAuto(t *testing.T) {
	st := upssim.Normal()
	st.Dumb = true
	sim, err := upssim.New(upssim.Options{Protocol: upssim.APCSmart, Dir: t.TempDir(), Baud: 2400, Initial: &st})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	d := newDriver(t, sim.Path(), ProtoAuto)
	n, errs := pollWithin(t, d, 3)
	if n == 0 {
		t.Fatalf("fresh APC not read in 3 polls of 1 s: %v", errs)
	}
	t.Logf("first reading at poll %d", n)
	// The UPS restarts as mains returns: dumb again, and on a new port.
	sim.Update(func(s *upssim.State) { s.Dumb = true })
	if err := sim.Unplug(); err != nil {
		t.Fatal(err)
	}
	if _, err := poll(t, d); err == nil {
		t.Fatal("poll of an unplugged port succeeded")
	}
	if err := sim.Replug(); err != nil {
		t.Fatal(err)
	}
	if n, errs := pollWithin(t, d, 3); n == 0 {
		t.Fatalf("restarted APC not read in 3 polls of 1 s: %v", errs)
	}
}

// TestMegatecStillFirstOnAuto: the probe order change must not cost a
// Megatec unit its reading.
func TestMegatecStillFirstOnAuto(t *testing.T) {
	sim, err := upssim.New(upssim.Options{Protocol: upssim.Megatec, Dir: t.TempDir(), Baud: 2400})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	d := newDriver(t, sim.Path(), ProtoAuto)
	if n, errs := pollWithin(t, d, 1); n != 1 {
		t.Fatalf("Megatec unit not read at the first poll: %v", errs)
	}
}

// TestGarbledReplyIsProtocolError: a UPS that answers with bytes of no
// protocol is reachable; the error must say protocol, not unreachable.
func TestGarbledReplyIsProtocolError(t *testing.T) {
	for _, tc := range []struct {
		sim   upssim.Protocol
		proto string
	}{
		{upssim.Megatec, ProtoAuto}, {upssim.APCSmart, ProtoAuto},
		{upssim.Megatec, ProtoMegatec}, {upssim.APCSmart, ProtoAPCSmart},
	} {
		t.Run(string(tc.sim)+"/"+tc.proto, func(t *testing.T) {
			st := upssim.Normal()
			st.Garble = true
			sim, err := upssim.New(upssim.Options{Protocol: tc.sim, Dir: t.TempDir(), Initial: &st})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { sim.Close() })
			cfg := DefaultConfig()
			cfg.Port, cfg.Protocol = sim.Path(), tc.proto
			d, err := New(cfg, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			_, err = poll(t, d)
			if !errors.Is(err, drivers.ErrProtocol) || errors.Is(err, drivers.ErrUnreachable) {
				t.Fatalf("garbled replies: err = %v, want ErrProtocol only", err)
			}
		})
	}
}

// BenchmarkAPCFreshFirstReading: time from the first poll to the first
// reading of an APC Smart-UPS fresh from power-up, on protocol auto with
// the scheduler's 1 s interval and 1 s timeout, at 2400 baud. Target ≤ 3 s.
func BenchmarkAPCFreshFirstReading(b *testing.B) {
	var total, worst time.Duration
	for b.Loop() {
		st := upssim.Normal()
		st.Dumb = true
		sim, err := upssim.New(upssim.Options{Protocol: upssim.APCSmart, Dir: b.TempDir(), Baud: 2400, Initial: &st})
		if err != nil {
			b.Fatal(err)
		}
		cfg := DefaultConfig()
		cfg.Port = sim.Path()
		d, err := New(cfg, nil)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		var took time.Duration
		for i := 0; i < 10 && took == 0; i++ {
			tick := start.Add(time.Duration(i) * time.Second)
			time.Sleep(time.Until(tick))
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			if _, err := d.Poll(ctx); err == nil {
				took = time.Since(start)
			}
			cancel()
		}
		d.Close()
		sim.Close()
		if took == 0 {
			b.Fatal("no reading in 10 polls")
		}
		total += took
		worst = max(worst, took)
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/first-reading")
	b.ReportMetric(float64(worst.Milliseconds()), "ms/worst-first-reading")
}
