package uplink

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/praxisgate/praxisgate/buffer"
	"github.com/praxisgate/praxisgate/gateway/config"
	"github.com/praxisgate/praxisgate/gateway/contract"
)

// ErrNotConnected is returned by Publish while no connection is up; the
// caller (a command reply) decides whether to retry or drop.
var ErrNotConnected = errors.New("uplink: not connected to the broker")

// Uplink is the MQTT client of the gateway. Create it with New, run it with
// Run; SetRetained, Subscribe, Publish, Stats and Connected are safe to
// call from any goroutine, before or during Run.
type Uplink struct {
	opts   Options
	cfg    config.Uplink
	src    Source
	log    *slog.Logger
	broker *url.URL
	tls    *tls.Config
	root   string

	running atomic.Bool
	// openConn, when set (tests only), replaces paho's dialer so a test can
	// cut the TCP connection underneath the client.
	openConn mqtt.OpenConnectionFunc

	mu          sync.Mutex
	cur         *conn
	retained    map[string]retainedValue
	retainedSeq uint64
	subs        map[string]func(topicSuffix string, payload []byte)
	stats       Stats
	rate        ewma
	kick        chan struct{} // wakes the current connection's retained loop
}

type retainedValue struct {
	payload []byte
	version uint64
}

// New validates the options, reads the TLS files and prepares the client.
// It does no network I/O.
func New(opts Options, src Source) (*Uplink, error) {
	if src == nil {
		return nil, errors.New("uplink: no source")
	}
	if err := opts.withDefaults(); err != nil {
		return nil, fmt.Errorf("uplink config: %w", err)
	}
	u := &Uplink{
		opts:     opts,
		cfg:      opts.Config,
		src:      src,
		log:      opts.Logger.With("component", "uplink"),
		root:     contract.Root(opts.Config.Prefix, opts.Site, opts.Gateway),
		retained: map[string]retainedValue{},
		subs:     map[string]func(string, []byte){},
		kick:     make(chan struct{}, 1),
	}
	broker, useTLS, err := brokerURL(opts.Config.Broker)
	if err != nil {
		return nil, err
	}
	u.broker = broker
	if useTLS {
		if u.tls, err = tlsConfig(u.cfg, broker.Hostname(), u.log); err != nil {
			return nil, err
		}
	} else if u.cfg.CAFile != "" || u.cfg.CertFile != "" {
		return nil, errTLSFilesWithoutTLS
	}
	return u, nil
}

// Root is the topic root {prefix}/{site}/{gateway} this uplink publishes
// under.
func (u *Uplink) Root() string { return u.root }

// Run connects, publishes from the source and reconnects with backoff
// until ctx ends. On shutdown it waits (up to WriteTimeout) for the
// PUBACKs of records in flight, publishes the retained status "offline"
// and disconnects cleanly. It returns nil after a shutdown, or an error
// when the source is closed or Run is called twice.
func (u *Uplink) Run(ctx context.Context) error {
	if !u.running.CompareAndSwap(false, true) {
		return errors.New("uplink: Run called twice")
	}
	defer u.running.Store(false)
	bo := newBackoff(u.cfg.BackoffMin, u.cfg.BackoffMax)
	stable := min(u.cfg.BackoffMax, time.Minute)
	var gen uint64
	lastFail := ""
	var stall stallWatch
	for ctx.Err() == nil {
		gen++
		c, err := u.connect(ctx, gen)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			u.setError(err)
			d := bo.next()
			// Log a failure once per kind, not once per retry.
			if msg := err.Error(); msg != lastFail {
				u.log.Warn("uplink: connect failed, retrying with backoff", "broker", u.broker.Redacted(), "error", err, "retry_in", d.Round(time.Millisecond))
				lastFail = msg
			} else {
				u.log.Debug("uplink: connect failed again", "error", err, "retry_in", d.Round(time.Millisecond))
			}
			if !sleep(ctx, d) {
				break
			}
			continue
		}
		lastFail = ""
		u.log.Info("uplink: connected", "broker", u.broker.Redacted(), "generation", gen, "tls", u.tls != nil)
		up := time.Now()
		err = u.serve(ctx, c)
		// serve returns only after the generation's in-flight publishes are
		// settled or abandoned, so nothing of the old connection can be
		// acknowledged after this point; rewinding now re-sends exactly the
		// unacknowledged records on the next connection.
		u.src.Rewind()
		if errors.Is(err, buffer.ErrClosed) {
			return fmt.Errorf("uplink: %w", err)
		}
		if ctx.Err() != nil {
			break
		}
		u.setError(err)
		u.log.Warn("uplink: connection lost", "generation", gen, "error", err, "was_up", time.Since(up).Round(time.Millisecond))
		stall.observe(c.pump, u.log)
		if time.Since(up) >= stable {
			bo.reset()
		}
		d := bo.next()
		if s := u.cfg.ReconnectSpread; s != nil && *s > 0 {
			// A broker restart drops every box at once: come back at a
			// random moment of the spread window, not all in one second.
			d = max(d, time.Duration(rand.Int64N(int64(*s)+1)))
		}
		if !sleep(ctx, d) {
			break
		}
	}
	u.log.Info("uplink: stopped")
	return nil
}

// sleep waits d or until ctx ends; false means ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// SetRetained sets the latest value of a retained state topic (alarms,
// inventory). It is published QoS 1 retained at once when connected and
// again after every reconnect, because with a clean session the broker may
// have lost it (restart without persistence) and the cloud must always find
// the current set there.
func (u *Uplink) SetRetained(suffix string, payload []byte) {
	u.mu.Lock()
	u.retainedSeq++
	u.retained[suffix] = retainedValue{payload: append([]byte(nil), payload...), version: u.retainedSeq}
	u.mu.Unlock()
	select {
	case u.kick <- struct{}{}:
	default:
	}
}

// Subscribe registers h for a topic filter below the root (e.g. "cmd/#").
// The subscription is made on every connect; h gets the topic below the
// root and the payload. Handlers may run concurrently with each other.
func (u *Uplink) Subscribe(suffix string, h func(topicSuffix string, payload []byte)) {
	u.mu.Lock()
	u.subs[suffix] = h
	c := u.cur
	u.mu.Unlock()
	if c != nil {
		tok := c.client.Subscribe(u.root+"/"+suffix, 1, u.handler(h))
		go func() {
			if tok.WaitTimeout(u.cfg.WriteTimeout) && tok.Error() != nil {
				u.log.Warn("uplink: subscribe failed", "filter", suffix, "error", tok.Error())
			}
		}()
	}
}

// handler adapts h to paho, stripping the root from the topic. A panic in
// h is logged and swallowed: a malformed command from outside must not
// take the daemon down (paho runs handlers on its own goroutines).
func (u *Uplink) handler(h func(string, []byte)) mqtt.MessageHandler {
	prefix := u.root + "/"
	return func(_ mqtt.Client, m mqtt.Message) {
		suffix := strings.TrimPrefix(m.Topic(), prefix)
		defer func() {
			if r := recover(); r != nil {
				u.log.Error("uplink: message handler panicked", "topic", suffix, "panic", fmt.Sprint(r))
			}
		}()
		h(suffix, m.Payload())
	}
}

// subscriptions returns the registered filters in a stable order.
func (u *Uplink) subscriptions() ([]string, map[string]func(string, []byte)) {
	u.mu.Lock()
	defer u.mu.Unlock()
	keys := make([]string, 0, len(u.subs))
	hs := make(map[string]func(string, []byte), len(u.subs))
	for k, h := range u.subs {
		keys = append(keys, k)
		hs[k] = h
	}
	sort.Strings(keys)
	return keys, hs
}

// Publish sends one QoS 1 message directly, bypassing the buffer: for
// command replies, which are worthless when late. It waits for the PUBACK
// or ctx and fails when not connected.
func (u *Uplink) Publish(ctx context.Context, suffix string, payload []byte, retained bool) error {
	c := u.current()
	if c == nil {
		return ErrNotConnected
	}
	if err := c.wait(ctx, c.client.Publish(u.root+"/"+suffix, 1, retained, payload)); err != nil {
		return fmt.Errorf("uplink: publish %s: %w", suffix, err)
	}
	return nil
}

// Connected reports whether a connection is up.
func (u *Uplink) Connected() bool { return u.current() != nil }

// Stats returns a snapshot.
func (u *Uplink) Stats() Stats {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.rate.update(time.Now(), u.stats.Published)
	s := u.stats
	s.PublishRate = u.rate.rate
	s.Connected = u.cur != nil
	if u.cur != nil && u.cur.pump != nil {
		s.Inflight = u.cur.pump.inflight()
	}
	return s
}

func (u *Uplink) current() *conn {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.cur
}

func (u *Uplink) setError(err error) {
	if err == nil {
		return
	}
	u.mu.Lock()
	u.stats.LastError = err.Error()
	u.mu.Unlock()
}

// published records n acknowledged records.
func (u *Uplink) published(n int) {
	now := time.Now()
	u.mu.Lock()
	u.stats.Published += int64(n)
	u.stats.LastPublish = now
	u.rate.update(now, u.stats.Published)
	u.mu.Unlock()
}
