package notify

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway/alarm"
	"github.com/praxisgate/praxisgate/gateway/config"
	"github.com/praxisgate/praxisgate/gateway/notify/modem"
)

// Core is the gateway as the running notifier sees it: Gateway plus a
// feed of the events it records (alarm.raised, alarm.cleared,
// alarm.acked; others are ignored).
type Core interface {
	Gateway
	// Subscribe calls f for every event the gateway records, from any
	// goroutine, until cancel is called. f must not block for long.
	Subscribe(f func(drivers.Event)) (cancel func())
	// Alarms returns the active alarms (to resume escalations after a
	// restart).
	Alarms() []alarm.Alarm
}

// Service is a running notifier with its modem.
type Service struct {
	Notifier *Notifier
	// Modem is also a drivers.Driver: poll it like a device (kind modem)
	// for its health metrics and the modem.* conditions.
	Modem *modem.Modem

	cancel context.CancelFunc
	wg     sync.WaitGroup
	unsub  func()
}

// Start opens the modem (reopening it whenever it goes away) and runs the
// escalation until ctx ends or Close is called.
func Start(ctx context.Context, cfg config.Notify, core Core, opts Options) (*Service, error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := modem.New(modem.Config{
		Port: cfg.Modem.Port, Baud: cfg.Modem.Baud, TextMode: cfg.Modem.Mode == "text", PIN: cfg.Modem.PIN,
	}, log.With("part", "modem"))
	if err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	n, err := New(cfg, core, m, opts)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &Service{Notifier: n, Modem: m, cancel: cancel}
	m.OnSMS(func(msg modem.SMS) { n.HandleSMS(ctx, msg.From, msg.Text) })
	s.unsub = core.Subscribe(n.Observe)
	n.Resume(core.Alarms())
	interval := cfg.Modem.HealthInterval
	if interval == 0 {
		interval = config.DefaultNotifyHealthInterval
	}
	s.wg.Add(2)
	go func() { defer s.wg.Done(); _ = m.Run(ctx, interval) }()
	go func() { defer s.wg.Done(); _ = n.Run(ctx, time.Second) }()
	return s, nil
}

// Close stops the notifier and the modem session and waits for them.
func (s *Service) Close() error {
	s.unsub()
	s.cancel()
	s.wg.Wait()
	return nil
}
