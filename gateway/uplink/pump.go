package uplink

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/praxisgate/praxisgate/gateway/contract"
)

// ackBatch bounds how many seqs are collected before Source.Ack; the
// buffer batches deletes anyway, this only bounds latency of the counter.
const ackBatch = 512

// ackInterval is how often confirmed seqs are handed to the buffer while
// publishes are still outstanding.
const ackInterval = 20 * time.Millisecond

// fetchBatch bounds one Source.Next call, so an event appended during a
// drain waits behind at most this many telemetry records.
const fetchBatch = 128

// pump moves records from the Source to one connection: a sender keeps up
// to MaxInflight QoS 1 publishes outstanding, and one acker walks their
// tokens in publish order (the broker acknowledges in that order), so no
// goroutine per message is needed.
type pump struct {
	u *Uplink
	c *conn
	// slots is the in-flight semaphore: a send takes a slot, the acker
	// returns it once the token is settled.
	slots chan struct{}
	fifo  chan inflight
	// outstanding counts publishes awaiting settlement, for Stats.
	outstanding atomic.Int64
	// sent and acked count this generation's records; first is the first
	// record it published. Together they tell a connection that dies
	// before anything is acknowledged (see stall.go).
	sent, acked atomic.Int64
	first       atomic.Pointer[recordInfo]
}

type inflight struct {
	tok mqtt.Token
	seq uint64
}

func newPump(u *Uplink, c *conn) *pump {
	return &pump{
		u:     u,
		c:     c,
		slots: make(chan struct{}, u.cfg.MaxInflight),
		fifo:  make(chan inflight, u.cfg.MaxInflight),
	}
}

func (p *pump) inflight() int { return int(p.outstanding.Load()) }

func (p *pump) release(n int) {
	for range n {
		<-p.slots
	}
}

// send publishes until ctx ends or the connection is lost. It fetches up
// to fetchBatch records at a time and publishes each as soon as an
// in-flight slot is free; fetching per freed slot would cost one buffer
// read per message during a drain. A Source error ends the generation
// (the caller decides whether that is fatal).
func (p *pump) send(ctx context.Context) error {
	defer close(p.fifo)
	for {
		recs, err := p.u.src.Next(ctx, fetchBatch)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			err = fmt.Errorf("read buffer: %w", err)
			p.c.markLost(err)
			return err
		}
		for _, r := range recs {
			// Records fetched but not published are sent again after the
			// rewind that follows this generation.
			if !p.acquire(ctx) {
				return nil
			}
			if err := checkTopic(r.Topic); err != nil {
				// A broker disconnects a client that publishes to an invalid
				// topic; resending would block the queue forever. Drop the
				// record loudly instead.
				p.u.log.Error("uplink: dropping record with invalid topic", "seq", r.Seq, "topic", fmt.Sprintf("%q", r.Topic), "error", err)
				if err := p.u.src.Ack(r.Seq); err != nil {
					p.u.log.Warn("uplink: ack of dropped record", "seq", r.Seq, "error", err)
				}
				p.release(1)
				continue
			}
			if p.sent.Add(1) == 1 {
				p.first.Store(&recordInfo{seq: r.Seq, topic: r.Topic, size: len(r.Payload)})
			}
			p.push(p.c.client.Publish(p.u.root+"/"+r.Topic, 1, false, contract.WithSeq(r.Payload, r.Seq)), r.Seq)
		}
	}
}

// acquire takes an in-flight slot; false when ctx ended or the connection
// was lost first.
func (p *pump) acquire(ctx context.Context) bool {
	select {
	case p.slots <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	case <-p.c.lost:
		return false
	}
}

// push hands a publish that holds a slot to the acker.
func (p *pump) push(tok mqtt.Token, seq uint64) {
	p.outstanding.Add(1)
	p.fifo <- inflight{tok: tok, seq: seq}
}

// ack settles tokens in publish order until the sender closed the FIFO.
// Records are acknowledged to the Source only for tokens that completed
// without error while this generation was alive (see doc.go).
func (p *pump) ack() {
	pending := make([]uint64, 0, ackBatch)
	var lastFlush time.Time
	flush := func() {
		if len(pending) == 0 {
			return
		}
		if err := p.u.src.Ack(pending...); err != nil {
			p.u.log.Warn("uplink: acknowledge to buffer failed; records will be sent again", "records", len(pending), "error", err)
		}
		p.acked.Add(int64(len(pending)))
		p.u.published(len(pending))
		pending = pending[:0]
		lastFlush = time.Now()
	}
	wait := time.NewTimer(time.Hour)
	wait.Stop()
	// abandonBy is closed WriteTimeout after the generation was lost: a
	// closed channel (not a timer's, which fires once) so that every
	// remaining token stops waiting after it.
	var abandonBy <-chan struct{}
	for {
		var e inflight
		var ok bool
		select {
		case e, ok = <-p.fifo:
		default:
			// The FIFO is empty: hand over what is confirmed before
			// blocking, so an idle pipeline acknowledges at once.
			flush()
			e, ok = <-p.fifo
		}
		if !ok {
			break
		}
		if abandonBy == nil {
			select {
			case <-e.tok.Done():
			default:
				// Not acknowledged yet. During a drain that is the normal
				// case, so acks are handed to the buffer at most every
				// ackInterval (each hand-over costs the buffer a write
				// cycle); delaying an ack never delays delivery.
				if time.Since(lastFlush) >= ackInterval {
					flush()
				}
				wait.Reset(ackInterval)
				select {
				case <-e.tok.Done():
				case <-p.c.lost:
				case <-wait.C:
					flush()
					select {
					case <-e.tok.Done():
					case <-p.c.lost:
					}
				}
				wait.Stop()
			}
			done := isDone(e.tok)
			switch {
			case done && e.tok.Error() != nil:
				p.c.markLost(fmt.Errorf("publish seq %d: %w", e.seq, e.tok.Error()))
			case done && !p.c.isLost():
				pending = append(pending, e.seq)
				if len(pending) >= ackBatch {
					flush()
				}
			}
			if p.c.isLost() {
				ctx, cancel := context.WithTimeout(context.Background(), p.u.cfg.WriteTimeout)
				defer cancel()
				abandonBy = ctx.Done()
			}
		}
		if abandonBy != nil {
			// Let paho settle the token (its cleanUp errors them all) but
			// never acknowledge it; give up waiting after WriteTimeout.
			select {
			case <-e.tok.Done():
			case <-abandonBy:
			}
		}
		p.outstanding.Add(-1)
		p.release(1)
	}
	flush()
}

func isDone(t mqtt.Token) bool {
	select {
	case <-t.Done():
		return true
	default:
		return false
	}
}

// checkTopic refuses what a broker would answer with a disconnect.
func checkTopic(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("empty topic")
	case strings.ContainsAny(s, "+#\x00"):
		return fmt.Errorf("wildcard or NUL in topic")
	case !utf8.ValidString(s):
		return fmt.Errorf("topic is not UTF-8")
	}
	return nil
}
