package main

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway/alarm"
	"github.com/praxisgate/praxisgate/gateway/config"
	"github.com/praxisgate/praxisgate/gateway/notify/modemsim"
)

// fakeNotifyCore is the smallest notify.Core: it records what the notifier
// hands to the gateway.
type fakeNotifyCore struct {
	mu     sync.Mutex
	events []drivers.Event
}

func (c *fakeNotifyCore) UplinkConnected() bool                          { return false }
func (c *fakeNotifyCore) AckAlarm(context.Context, string, string) error { return nil }
func (c *fakeNotifyCore) Subscribe(func(drivers.Event)) func()           { return func() {} }
func (c *fakeNotifyCore) Alarms() []alarm.Alarm                          { return nil }
func (c *fakeNotifyCore) Emit(_ context.Context, evs []drivers.Event) {
	c.mu.Lock()
	c.events = append(c.events, evs...)
	c.mu.Unlock()
}

// TestStartNotifyAndWebView: no section, no notifier; with one, the modem
// is opened and the web page's view shows its health and sends the test.
func TestStartNotifyAndWebView(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	svc, err := startNotify(context.Background(), &config.Config{}, &fakeNotifyCore{}, log)
	if svc != nil || err != nil {
		t.Fatalf("without notify: %v %v", svc, err)
	}
	sim, err := modemsim.New(modemsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	rate, after, within := 5, time.Minute, 15*time.Minute
	cfg := &config.Config{Site: "praxis-a", Notify: &config.Notify{
		Modem:      config.NotifyModem{Port: sim.Path(), Baud: 115200, Mode: "pdu", HealthInterval: time.Second},
		Contacts:   []config.NotifyContact{{Name: "Praxis", Number: "+4915112345678"}},
		SMSPerHour: &rate, UplinkDownAfter: &after, ProviderAckWithin: &within,
	}}
	core := &fakeNotifyCore{}
	svc, err = startNotify(context.Background(), cfg, core, log)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	view := notifyWeb{svc}
	deadline := time.Now().Add(20 * time.Second)
	for m := view.NotifyModem(); !(m.Responding && m.SIM == "READY" && m.HasSignal); m = view.NotifyModem() {
		if time.Now().After(deadline) {
			t.Fatalf("modem view %+v", m)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := view.NotifyTest(context.Background(), "Praxis"); err != nil {
		t.Fatal(err)
	}
	if s := sim.Submits(); len(s) != 1 || s[0].To != "+4915112345678" {
		t.Errorf("submits %+v", s)
	}
	if r := view.NotifyRecent(); len(r) != 1 || !r[0].OK || !r[0].Test || r[0].Contact != "Praxis" {
		t.Errorf("recent %+v", r)
	}
}
