package modem_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/gateway/notify/modem"
	"github.com/praxisgate/praxisgate/gateway/notify/modemsim"
)

// These tests run the modem package against modemsim on a real
// pseudo-terminal: tarm/serial opens the pty slave, the simulator answers
// on the master the way TS 27.005/27.007 describe.

type rig struct {
	sim *modemsim.Sim
	m   *modem.Modem
	mu  sync.Mutex
	in  []modem.SMS
}

func start(t *testing.T, cfg modem.Config, opts modemsim.Options) *rig {
	t.Helper()
	return startWith(t, cfg, opts, nil)
}

// startWith is start with a chance to set the simulator up (before) before
// the modem first opens it.
func startWith(t *testing.T, cfg modem.Config, opts modemsim.Options, before func(*modemsim.Sim)) *rig {
	t.Helper()
	sim, err := modemsim.New(opts)
	if err != nil {
		t.Fatalf("modemsim: %v", err)
	}
	t.Cleanup(func() { sim.Close() })
	if before != nil {
		before(sim)
	}
	cfg.Port = sim.Path()
	if cfg.Retry == 0 {
		cfg.Retry = 50 * time.Millisecond
	}
	m, err := modem.New(cfg, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{sim: sim, m: m}
	m.OnSMS(func(s modem.SMS) { r.mu.Lock(); r.in = append(r.in, s); r.mu.Unlock() })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx, 50*time.Millisecond) }()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

// waitFor polls cond; the deadline only guards against a hang.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ready(t *testing.T, r *rig) {
	t.Helper()
	waitFor(t, "modem ready", func() bool {
		h := r.m.Health()
		return h.Present && h.Responding && h.SIM == "READY" && h.Reg == "home"
	})
}

func TestSendSMSCodings(t *testing.T) {
	cases := []struct {
		name, text, coding string
		parts              int
		textMode           bool
	}{
		{"ascii", "Alarm Kuehlschrank 9.1 C", "gsm7", 1, false},
		{"umlauts stay 7-bit", "Kühlschrank über Grenze, Größe ß", "gsm7", 1, false},
		{"degree sign needs ucs2", "Temperatur 9,1 °C", "ucs2", 1, false},
		{"long is concatenated", strings.Repeat("Kühlschrank Impfstoffe zu warm. ", 8), "gsm7", 2, false},
		{"long ucs2", strings.Repeat("9,1 °C über 8,0 °C. ", 6), "ucs2", 2, false},
		{"text mode", "Alarm Kuehlschrank 9.1 C", "text", 1, true},
		{"text mode falls back to pdu for umlauts", "Kühlschrank", "gsm7", 1, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := start(t, modem.Config{TextMode: tc.textMode}, modemsim.Options{})
			ready(t, r)
			n, err := r.m.SendSMS(context.Background(), "+4915112345678", tc.text)
			if err != nil {
				t.Fatalf("SendSMS: %v", err)
			}
			subs := r.sim.Submits()
			if n != tc.parts || len(subs) != tc.parts {
				t.Fatalf("parts: sent %d, modem got %d, want %d", n, len(subs), tc.parts)
			}
			var got strings.Builder
			for i, s := range subs {
				if s.To != "+4915112345678" || s.Coding != tc.coding {
					t.Errorf("part %d: to %q coding %q, want coding %q", i, s.To, s.Coding, tc.coding)
				}
				if tc.parts > 1 && (s.Parts != tc.parts || s.Part != i+1 || s.Ref != subs[0].Ref) {
					t.Errorf("part %d: concat header %d/%d ref %d", i, s.Part, s.Parts, s.Ref)
				}
				got.WriteString(s.Text)
			}
			if got.String() != tc.text {
				t.Errorf("modem decoded %q, want %q", got.String(), tc.text)
			}
		})
	}
}

func TestReceiveSMS(t *testing.T) {
	for _, text := range []bool{false, true} {
		r := start(t, modem.Config{TextMode: text}, modemsim.Options{})
		ready(t, r)
		at := time.Date(2026, 12, 6, 20, 15, 0, 0, time.UTC)
		if err := r.sim.Deliver("+4915112345678", "OK 4821", at); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "SMS handed on and deleted", func() bool {
			r.mu.Lock()
			defer r.mu.Unlock()
			return len(r.in) == 1 && r.sim.Stored() == 0
		})
		if got := r.in[0]; got.From != "+4915112345678" || got.Text != "OK 4821" || !got.Sent.Equal(at) {
			t.Errorf("text mode %v: got %+v", text, got)
		}
		cmds := strings.Join(r.sim.Commands(), "|")
		if !strings.Contains(cmds, `AT+CPMS="SM"|AT+CMGR=1|AT+CMGD=1`) {
			t.Errorf("read sequence not storage, read, delete: %s", cmds)
		}
	}
}

// TestStoredSMSReadAtStart: messages that came while the gateway was not
// listening are listed with AT+CMGL at start, handed on and deleted.
func TestStoredSMSReadAtStart(t *testing.T) {
	sim, err := modemsim.New(modemsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	sim.Deliver("+491701111111", "OK 1111", time.Now())
	sim.Deliver("+491702222222", "Grüße", time.Now())
	sim.Garbage([]byte("\x00\xff\xfe garbage \r\n"))
	m, _ := modem.New(modem.Config{Port: sim.Path(), Retry: 50 * time.Millisecond}, nil)
	var mu sync.Mutex
	var in []modem.SMS
	m.OnSMS(func(s modem.SMS) { mu.Lock(); in = append(in, s); mu.Unlock() })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx, time.Second) }()
	defer func() { cancel(); <-done }()
	waitFor(t, "stored SMS", func() bool { mu.Lock(); defer mu.Unlock(); return len(in) == 2 && sim.Stored() == 0 })
	if in[1].Text != "Grüße" {
		t.Errorf("second SMS %q", in[1].Text)
	}
}

func TestHealthStates(t *testing.T) {
	r := start(t, modem.Config{}, modemsim.Options{})
	ready(t, r)
	cond := func() string {
		s, _ := r.m.Poll(context.Background())
		if len(s.Conditions) == 0 {
			return ""
		}
		return s.Conditions[0].Name
	}
	r.sim.SetRegistration(modemsim.RegSearching)
	waitFor(t, "no network", func() bool { return cond() == "modem.no_network" })
	if _, err := r.m.SendSMS(context.Background(), "+491701234567", "x"); !errors.Is(err, modem.ErrNotReady) {
		t.Errorf("send without network: %v", err)
	}
	r.sim.SetRegistration(modemsim.RegRoaming)
	r.sim.SetSIM(modemsim.SIMMissing)
	waitFor(t, "SIM missing", func() bool { return cond() == "modem.sim_missing" })
	r.sim.SetSIM(modemsim.SIMReady)
	r.sim.SetRegistration(modemsim.RegHome)
	r.sim.SetSignal(31)
	waitFor(t, "healthy", func() bool { return cond() == "" && r.m.Health().RSSI == 31 })
	s, _ := r.m.Poll(context.Background())
	found := false
	for _, m := range s.Metrics {
		if m.Name == "modem.signal" && m.Value == -51.0 {
			found = true
		}
	}
	if !found {
		t.Errorf("no modem.signal -51 dBm in %+v", s.Metrics)
	}
	// Re-enumerated: the stick comes back under another pty (ttyUSB)
	// name behind the same by-id style link, and is found again.
	before := r.sim.Target()
	r.sim.Unplug()
	waitFor(t, "absent", func() bool { return cond() == "modem.absent" })
	if err := r.sim.Replug(); err != nil {
		t.Fatal(err)
	}
	if after := r.sim.Target(); after == before || after == "" {
		t.Fatalf("replugged under %q, was %q: not a new name", after, before)
	}
	ready(t, r)
	waitFor(t, "healthy after re-enumeration", func() bool { return cond() == "" })
	if _, err := r.m.SendSMS(context.Background(), "+491701234567", "wieder da"); err != nil {
		t.Fatalf("send after re-enumeration: %v", err)
	}
}

func TestSIMPINEntered(t *testing.T) {
	r := start(t, modem.Config{PIN: "4711"}, modemsim.Options{PIN: "4711"})
	ready(t, r)
	r2 := start(t, modem.Config{PIN: "0000"}, modemsim.Options{PIN: "4711"})
	waitFor(t, "locked", func() bool { return r2.m.Health().SIM == "SIM PIN" })
	s, _ := r2.m.Poll(context.Background())
	if len(s.Conditions) != 1 || s.Conditions[0].Name != "modem.sim_locked" {
		t.Errorf("conditions %+v", s.Conditions)
	}
	pins := 0
	for _, c := range r2.sim.Commands() {
		if strings.HasPrefix(c, "AT+CPIN=") {
			pins++
		}
	}
	if pins != 1 {
		t.Errorf("wrong PIN tried %d times, want once", pins)
	}
}

func TestCMSErrorAndUnplugMidSend(t *testing.T) {
	r := start(t, modem.Config{}, modemsim.Options{})
	ready(t, r)
	r.sim.FailNextSend(500)
	_, err := r.m.SendSMS(context.Background(), "+491701234567", "eins")
	if err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("want CMS ERROR 500, got %v", err)
	}
	r.sim.UnplugOnSend()
	if _, err := r.m.SendSMS(context.Background(), "+491701234567", "zwei"); err == nil {
		t.Fatal("send to a pulled modem succeeded")
	}
	waitFor(t, "absent", func() bool { return !r.m.Health().Present })
	if err := r.sim.Replug(); err != nil {
		t.Fatal(err)
	}
	ready(t, r)
	if _, err := r.m.SendSMS(context.Background(), "+491701234567", "drei"); err != nil {
		t.Fatalf("after replug: %v", err)
	}
	subs := r.sim.Submits()
	if len(subs) != 1 || subs[0].Text != "drei" {
		t.Errorf("submits %+v", subs)
	}
}

func TestSlowModemAndCall(t *testing.T) {
	r := start(t, modem.Config{CommandTimeout: 2 * time.Second}, modemsim.Options{})
	ready(t, r)
	r.sim.SetDelay(300 * time.Millisecond)
	r.sim.Ring()
	if err := r.m.Call(context.Background(), "+491701234567", 100*time.Millisecond); err != nil {
		t.Fatalf("Call: %v", err)
	}
	calls := r.sim.Calls()
	if len(calls) != 1 || calls[0].Number != "+491701234567" || !calls[0].HungUp {
		t.Errorf("calls %+v", calls)
	}
	r.sim.SetDelay(0)
	r.sim.FailNextDial("BUSY")
	if err := r.m.Call(context.Background(), "+491701234567", time.Millisecond); err == nil || !strings.Contains(err.Error(), "BUSY") {
		t.Errorf("busy line: %v", err)
	}
	// The far end hangs up while it rings: NO CARRIER arrives unasked,
	// and the next command still gets its own answer.
	go func() { time.Sleep(20 * time.Millisecond); r.sim.RemoteHangup() }()
	if err := r.m.Call(context.Background(), "+491701234567", 100*time.Millisecond); err != nil {
		t.Errorf("call hung up by the far end: %v", err)
	}
	r.sim.Garbage([]byte("\x00\x13\xffNOISE\r\n+CSQ: 99\r\n"))
	if _, err := r.m.SendSMS(context.Background(), "+491701234567", "nach Rauschen"); err != nil {
		t.Errorf("send after garbage: %v", err)
	}
	r.sim.SetRegistration(modemsim.RegNone)
	waitFor(t, "no network", func() bool { return r.m.Health().Reg == "none" })
	if err := r.m.Call(context.Background(), "+491701234567", time.Millisecond); err == nil {
		t.Error("call without network succeeded")
	}
}

// TestHungModem: a modem that stops answering (its answers come after the
// command timeout) is reported as present but not responding, and sends
// are refused rather than queued behind it.
func TestHungModem(t *testing.T) {
	r := start(t, modem.Config{CommandTimeout: 300 * time.Millisecond, Retry: 5 * time.Second}, modemsim.Options{})
	ready(t, r)
	r.sim.SetDelay(2 * time.Second)
	waitFor(t, "not responding", func() bool {
		s, _ := r.m.Poll(context.Background())
		return len(s.Conditions) == 1 && s.Conditions[0].Name == "modem.not_responding"
	})
	if _, err := r.m.SendSMS(context.Background(), "+491701234567", "x"); err == nil {
		t.Error("send to a hung modem succeeded")
	}
	r.sim.SetDelay(0)
	r.m.Kick()
	ready(t, r)
}

// A modem that is slow to set up after the port opens (a stick just
// enumerated, an emulated CPU) is not reported as "does not answer" before
// any command has had its chance: the power-cut night in a qemu guest sent
// a false "modem does not answer" SMS from that window. A modem that does
// not answer at start is reported once its setup timed out, and stays
// reported while it is reopened.
func TestNoVerdictBeforeFirstAnswer(t *testing.T) {
	cases := []struct {
		name    string
		delay   time.Duration
		timeout time.Duration
		answers bool
	}{
		{"slow to set up", 400 * time.Millisecond, 5 * time.Second, true},
		{"hung from the start", 2 * time.Second, 300 * time.Millisecond, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := startWith(t, modem.Config{CommandTimeout: tc.timeout, Retry: 50 * time.Millisecond}, modemsim.Options{},
				func(s *modemsim.Sim) { s.SetDelay(tc.delay) })
			notResponding := func() bool {
				s, _ := r.m.Poll(context.Background())
				for _, c := range s.Conditions {
					if c.Name == "modem.not_responding" {
						return true
					}
				}
				return false
			}
			if tc.answers {
				deadline := time.Now().Add(20 * time.Second)
				for h := r.m.Health(); !(h.Present && h.Responding && h.SIM == "READY"); h = r.m.Health() {
					if notResponding() {
						t.Fatalf("not_responding while the modem was being set up: %+v", h)
					}
					if time.Now().After(deadline) {
						t.Fatal("gave up waiting for the slow modem")
					}
					time.Sleep(5 * time.Millisecond)
				}
				return
			}
			waitFor(t, "not responding", notResponding)
			// Reopened every 50 ms: the verdict stands through the reopens.
			for range 40 {
				if !notResponding() && r.m.Health().Present {
					t.Fatalf("the verdict was dropped on a reopen: %+v", r.m.Health())
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}
