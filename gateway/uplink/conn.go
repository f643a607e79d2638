package uplink

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/praxisgate/praxisgate/gateway/contract"
)

// conn is one connection generation: one paho client, connected once,
// never reconnected. When it is lost, everything it sent and did not see
// acknowledged is abandoned together with it.
type conn struct {
	gen    uint64
	client mqtt.Client
	pump   *pump

	lostOnce sync.Once
	lost     chan struct{}
	mu       sync.Mutex
	cause    error
}

func newConn(gen uint64) *conn { return &conn{gen: gen, lost: make(chan struct{})} }

// markLost ends the generation; the first cause wins.
func (c *conn) markLost(err error) {
	c.lostOnce.Do(func() {
		c.mu.Lock()
		c.cause = err
		c.mu.Unlock()
		close(c.lost)
	})
}

func (c *conn) isLost() bool {
	select {
	case <-c.lost:
		return true
	default:
		return false
	}
}

func (c *conn) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cause
}

// errConnLost is what waiters see when the generation ended under them.
var errConnLost = errors.New("connection lost")

// wait blocks until the token completes, the connection is lost or ctx
// ends.
func (c *conn) wait(ctx context.Context, tok mqtt.Token) error {
	select {
	case <-tok.Done():
		return tok.Error()
	case <-c.lost:
		return errConnLost
	case <-ctx.Done():
		return ctx.Err()
	}
}

// connect opens generation gen: a new paho client with its own Last Will,
// connected once. paho's auto-reconnect and connect-retry stay off, so the
// client's tokens follow the rules described in doc.go.
func (u *Uplink) connect(ctx context.Context, gen uint64) (*conn, error) {
	c := newConn(gen)
	st := u.opts.Now()
	will := u.opts.Origin.EncodeStatus(contract.StateOffline, u.opts.Version, u.opts.Started, st)
	o := mqtt.NewClientOptions().
		AddBroker(u.broker.String()).
		SetClientID(u.cfg.ClientID).
		SetCleanSession(true).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetKeepAlive(u.cfg.KeepAlive).
		SetPingTimeout(u.cfg.WriteTimeout).
		SetConnectTimeout(u.cfg.ConnectTimeout).
		SetWriteTimeout(u.cfg.WriteTimeout).
		SetOrderMatters(false).
		SetBinaryWill(u.root+"/"+contract.TopicStatus, will, 1, true).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			c.markLost(fmt.Errorf("connection lost: %w", err))
		})
	if u.tls != nil {
		o.SetTLSConfig(u.tls.Clone())
	}
	if u.cfg.Username != "" {
		o.SetUsername(u.cfg.Username)
		o.SetPassword(u.cfg.Password.Reveal())
	}
	if u.openConn != nil {
		o.SetCustomOpenConnectionFn(u.openConn)
	}
	c.client = mqtt.NewClient(o)
	tok := c.client.Connect()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		// paho's connect goroutine is bounded by ConnectTimeout; wait for
		// it so no half-open client outlives Run.
		tok.WaitTimeout(u.cfg.ConnectTimeout + time.Second)
		c.client.Disconnect(0)
		return nil, ctx.Err()
	}
	if err := tok.Error(); err != nil {
		return nil, fmt.Errorf("connect to %s: %w", u.broker.Redacted(), err)
	}
	return c, nil
}

// serve runs one connected generation until it is lost or ctx ends: status
// online, subscriptions, retained state, then the publish pump. It returns
// only after the generation's in-flight publishes are acknowledged or
// abandoned.
func (u *Uplink) serve(ctx context.Context, c *conn) error {
	defer c.client.Disconnect(0) // no-op when paho already saw the loss
	online := u.opts.Origin.EncodeStatus(contract.StateOnline, u.opts.Version, u.opts.Started, u.opts.Now())
	if err := u.waitBounded(ctx, c, c.client.Publish(u.root+"/"+contract.TopicStatus, 1, true, online)); err != nil {
		return fmt.Errorf("publish status online: %w", err)
	}
	keys, hs := u.subscriptions()
	for _, k := range keys {
		if err := u.waitBounded(ctx, c, c.client.Subscribe(u.root+"/"+k, 1, u.handler(hs[k]))); err != nil {
			return fmt.Errorf("subscribe %s: %w", k, err)
		}
	}
	if testHookSubscribed != nil {
		testHookSubscribed()
	}
	// Retained state (alarms, inventory) goes out before the backlog so the
	// cloud sees the current alarm set first.
	sent := map[string]uint64{}
	if err := u.publishRetained(ctx, c, sent); err != nil {
		return err
	}

	p := newPump(u, c)
	u.mu.Lock()
	c.pump = p
	u.cur = c
	// A Subscribe between the snapshot above and now saw no connection
	// and left the subscribing to this one: catch it up.
	late := map[string]func(string, []byte){}
	for k, h := range u.subs {
		if _, done := hs[k]; !done {
			late[k] = h
		}
	}
	if u.stats.Generation > 0 {
		u.stats.Reconnects++
	}
	u.stats.Generation = c.gen
	u.stats.ConnectedSince = time.Now()
	u.mu.Unlock()
	defer func() {
		u.mu.Lock()
		u.cur = nil
		u.mu.Unlock()
	}()
	for k, h := range late {
		if err := u.waitBounded(ctx, c, c.client.Subscribe(u.root+"/"+k, 1, u.handler(h))); err != nil {
			return fmt.Errorf("subscribe %s: %w", k, err)
		}
	}

	sendCtx, stopSend := context.WithCancel(ctx)
	defer stopSend()
	var wg sync.WaitGroup
	var sendErr error
	wg.Add(3)
	go func() { defer wg.Done(); sendErr = p.send(sendCtx) }()
	acked := make(chan struct{})
	go func() { defer wg.Done(); defer close(acked); p.ack() }()
	go func() { defer wg.Done(); u.retainedLoop(sendCtx, c, sent) }()

	select {
	case <-c.lost:
		stopSend()
		wg.Wait()
		if sendErr != nil {
			return sendErr
		}
		return c.err()
	case <-ctx.Done():
	}
	// Shutdown: stop taking records, give the in-flight ones WriteTimeout
	// to be acknowledged, then say goodbye.
	stopSend()
	select {
	case <-acked:
	case <-c.lost:
	case <-time.After(u.cfg.WriteTimeout):
		c.markLost(errors.New("shutdown: in-flight publishes not acknowledged in time"))
	}
	wg.Wait()
	if !c.isLost() {
		offline := u.opts.Origin.EncodeStatus(contract.StateOffline, u.opts.Version, u.opts.Started, u.opts.Now())
		if err := u.waitBounded(context.Background(), c, c.client.Publish(u.root+"/"+contract.TopicStatus, 1, true, offline)); err != nil {
			u.log.Warn("uplink: publish status offline at shutdown", "error", err)
		}
		c.client.Disconnect(250)
	}
	return sendErr
}

// waitBounded waits for a token at most WriteTimeout; a timeout or error
// ends the generation, since the connection can no longer be trusted.
func (u *Uplink) waitBounded(ctx context.Context, c *conn, tok mqtt.Token) error {
	tctx, cancel := context.WithTimeout(ctx, u.cfg.WriteTimeout)
	defer cancel()
	err := c.wait(tctx, tok)
	if err != nil && ctx.Err() == nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("no acknowledgement within %s", u.cfg.WriteTimeout)
		}
		c.markLost(err)
	}
	return err
}

// retainedLoop re-publishes retained state whenever SetRetained changes it.
func (u *Uplink) retainedLoop(ctx context.Context, c *conn, sent map[string]uint64) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.lost:
			return
		case <-u.kick:
		}
		if err := u.publishRetained(ctx, c, sent); err != nil {
			return
		}
	}
}

// publishRetained publishes every retained value newer than what this
// connection already sent.
func (u *Uplink) publishRetained(ctx context.Context, c *conn, sent map[string]uint64) error {
	u.mu.Lock()
	type item struct {
		suffix string
		v      retainedValue
	}
	var todo []item
	for k, v := range u.retained {
		if sent[k] != v.version {
			todo = append(todo, item{k, v})
		}
	}
	u.mu.Unlock()
	for _, it := range todo {
		if err := u.waitBounded(ctx, c, c.client.Publish(u.root+"/"+it.suffix, 1, true, it.v.payload)); err != nil {
			return fmt.Errorf("publish retained %s: %w", it.suffix, err)
		}
		sent[it.suffix] = it.v.version
	}
	return nil
}

// testHookSubscribed, when set by a test, runs after a new connection's
// subscriptions were made and before it counts as the current one.
var testHookSubscribed func()
