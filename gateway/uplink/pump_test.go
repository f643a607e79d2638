package uplink

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/buffer"
	"github.com/praxisgate/praxisgate/gateway/config"
)

// fakeToken is an mqtt.Token the test completes by hand.
type fakeToken struct {
	done chan struct{}
	err  error
}

func newToken() *fakeToken { return &fakeToken{done: make(chan struct{})} }

func (f *fakeToken) complete(err error) *fakeToken { f.err = err; close(f.done); return f }
func (f *fakeToken) Wait() bool                    { <-f.done; return true }
func (f *fakeToken) Done() <-chan struct{}         { return f.done }
func (f *fakeToken) Error() error                  { return f.err }
func (f *fakeToken) WaitTimeout(d time.Duration) bool {
	select {
	case <-f.done:
		return true
	case <-time.After(d):
		return false
	}
}

// ackRecorder is a Source that only records acknowledgements.
type ackRecorder struct {
	mu    sync.Mutex
	acked []uint64
}

func (a *ackRecorder) Next(ctx context.Context, _ int) ([]buffer.Record, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}
func (a *ackRecorder) Ack(seqs ...uint64) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.acked = append(a.acked, seqs...)
	return nil
}
func (a *ackRecorder) Rewind() {}

// send does what the sender does per record: take a slot, hand over.
func send(p *pump, tok *fakeToken, seq uint64) {
	if !p.acquire(context.Background()) {
		panic("no slot")
	}
	p.push(tok, seq)
}

// TestAckerAccounting drives the acker with hand-made tokens: only tokens
// completed without error while the generation is alive are acknowledged,
// and tokens that never complete after a loss are abandoned in bounded
// time instead of hanging the reconnect.
func TestAckerAccounting(t *testing.T) {
	errLost := errors.New("connection lost before Publish completed")
	tests := []struct {
		name string
		// feed publishes into the pump; it may mark the connection lost.
		feed func(p *pump, c *conn)
		want []uint64
	}{
		{"all acknowledged", func(p *pump, c *conn) {
			for seq := uint64(1); seq <= 3; seq++ {
				send(p, newToken().complete(nil), seq)
			}
		}, []uint64{1, 2, 3}},
		{"failed token ends the generation", func(p *pump, c *conn) {
			send(p, newToken().complete(nil), 1)
			send(p, newToken().complete(errLost), 2)
			send(p, newToken().complete(nil), 3) // a PUBACK after the failure is not trusted
		}, []uint64{1}},
		{"success seen after the loss is not acknowledged", func(p *pump, c *conn) {
			send(p, newToken().complete(nil), 1)
			late := newToken()
			send(p, late, 2)
			go func() {
				time.Sleep(20 * time.Millisecond)
				c.markLost(errLost)
				late.complete(nil)
			}()
		}, []uint64{1}},
		{"tokens that never complete are abandoned", func(p *pump, c *conn) {
			send(p, newToken().complete(nil), 1)
			for seq := uint64(2); seq <= 5; seq++ {
				send(p, newToken(), seq)
			}
			go func() { time.Sleep(20 * time.Millisecond); c.markLost(errLost) }()
		}, []uint64{1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := &ackRecorder{}
			log, _ := testLogger(t)
			u := &Uplink{src: src, log: log, cfg: config.Uplink{WriteTimeout: 50 * time.Millisecond, MaxInflight: 8}}
			c := newConn(1)
			p := newPump(u, c)
			done := make(chan struct{})
			go func() { p.ack(); close(done) }()
			tc.feed(p, c)
			close(p.fifo)
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("acker hung")
			}
			src.mu.Lock()
			defer src.mu.Unlock()
			if !slices.Equal(src.acked, tc.want) {
				t.Errorf("acked %v, want %v", src.acked, tc.want)
			}
			if n := p.inflight(); n != 0 || len(p.slots) != 0 {
				t.Errorf("after the acker: %d outstanding, %d slots taken", n, len(p.slots))
			}
		})
	}
}
