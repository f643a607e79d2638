package command

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/praxisgate/praxisgate/gateway/contract"
)

// Request is what a handler gets: the command's name, id and raw args, and
// whether a provider key signed it.
type Request struct {
	Name   string
	ID     string
	Args   json.RawMessage
	Signed bool
}

// Handler runs one command. It returns a JSON-encodable result, a Chunked
// result, a Then, or an error whose text becomes the reply's "error"
// (English, no secrets). Handlers run on their own goroutine, concurrently
// with other commands, and must honour ctx.
type Handler func(ctx context.Context, req Request) (any, error)

// Publisher sends a reply; gateway/uplink.Uplink implements it.
type Publisher interface {
	Publish(ctx context.Context, suffix string, payload []byte, retained bool) error
}

// Options configure a Processor.
type Options struct {
	Handlers  map[string]Handler
	Publisher Publisher
	// Verifier authenticates commands; nil accepts every unsigned command
	// and refuses signed ones (nothing to check them against).
	Verifier *Verifier
	// Origin and Stamp fill the reply header.
	Origin contract.Origin
	Stamp  func() contract.Stamp
	Logger *slog.Logger
	// Timeout bounds one command's run. Default 60s.
	Timeout time.Duration
	// Timeouts override Timeout per command name (update-install
	// downloads a release over a practice's DSL line).
	Timeouts map[string]time.Duration
	// MaxConcurrent commands run at once; more get a "busy" reply.
	// Default 4: the box is small and commands are rare.
	MaxConcurrent int
}

// Stats count what the processor saw, for tests and self-telemetry.
type Stats struct {
	Received, Rejected, Duplicates, Ran, Unanswerable int64
}

// Processor is the uplink's handler for cmd/#. Create with New, pass
// Handle to uplink.Subscribe("cmd/#", ...), and call Close at shutdown.
type Processor struct {
	o     Options
	log   *slog.Logger
	seen  *dedup
	sem   chan struct{}
	ctx   context.Context
	stop  context.CancelFunc
	wg    sync.WaitGroup
	stats struct{ received, rejected, duplicates, ran, unanswerable atomic.Int64 }
}

// New builds a Processor.
func New(o Options) *Processor {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = 4
	}
	if o.Stamp == nil {
		o.Stamp = func() contract.Stamp { return contract.Stamp{Time: time.Now(), Synced: true} }
	}
	ctx, stop := context.WithCancel(context.Background())
	return &Processor{o: o, log: o.Logger, seen: newDedup(1024, time.Hour), sem: make(chan struct{}, o.MaxConcurrent), ctx: ctx, stop: stop}
}

// Close cancels running commands and waits for them.
func (p *Processor) Close() {
	p.stop()
	p.wg.Wait()
}

// Stats returns the counters.
func (p *Processor) Stats() Stats {
	return Stats{Received: p.stats.received.Load(), Rejected: p.stats.rejected.Load(), Duplicates: p.stats.duplicates.Load(),
		Ran: p.stats.ran.Load(), Unanswerable: p.stats.unanswerable.Load()}
}

// Handle takes one message from cmd/#. It returns at once: the MQTT
// client's delivery goroutine must never block on a command.
func (p *Processor) Handle(topicSuffix string, payload []byte) {
	p.stats.received.Add(1)
	c, err := Parse(topicSuffix, payload)
	if err != nil {
		p.stats.rejected.Add(1)
		var pe *ParseError
		if !errors.As(err, &pe) || pe.ID == "" {
			p.stats.unanswerable.Add(1)
			p.log.Warn("command refused, no id to reply to", "topic", topicSuffix, "bytes", len(payload), "err", err)
			return
		}
		p.log.Warn("command refused", "topic", topicSuffix, "id", pe.ID, "err", err)
		p.answerOnce(pe.ID, nil, err)
		return
	}
	first, replies := p.seen.begin(c.ID, time.Now())
	if !first {
		p.stats.duplicates.Add(1)
		p.log.Debug("command redelivered: repeating its reply", "id", c.ID, "name", c.Name, "pending", replies == nil)
		if replies != nil {
			p.spawn(func() { p.publish(c.ID, replies) })
		}
		return
	}
	if err := p.check(c); err != nil {
		p.stats.rejected.Add(1)
		p.log.Warn("command refused", "name", c.Name, "id", c.ID, "err", err)
		// Not remembered: a forged command must not occupy an id whose
		// genuine command would then get the forgery's answer.
		p.seen.forget(c.ID)
		p.answerOnce(c.ID, nil, err)
		return
	}
	select {
	case p.sem <- struct{}{}:
	default:
		// Not remembered: the same id sent again later must run.
		p.seen.forget(c.ID)
		p.answerOnce(c.ID, nil, fmt.Errorf("busy: %d commands running, try again later", cap(p.sem)))
		return
	}
	p.spawn(func() {
		defer func() { <-p.sem }()
		p.run(c)
	})
}

func (p *Processor) check(c Command) error {
	if p.o.Verifier == nil {
		if c.Sig != nil {
			return errors.New("signed command but no provider keys configured")
		}
		return nil
	}
	return p.o.Verifier.Check(c)
}

func (p *Processor) spawn(f func()) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		f()
	}()
}

// run executes an authenticated command and answers it.
func (p *Processor) run(c Command) {
	p.stats.ran.Add(1)
	h, ok := p.o.Handlers[c.Name]
	if !ok {
		p.finishSync(c.ID, nil, fmt.Errorf("unknown command %q", c.Name))
		return
	}
	timeout := p.o.Timeout
	if d, ok := p.o.Timeouts[c.Name]; ok && d > 0 {
		timeout = d
	}
	ctx, cancel := context.WithTimeout(p.ctx, timeout)
	defer cancel()
	start := time.Now()
	res, err := p.call(ctx, h, Request{Name: c.Name, ID: c.ID, Args: c.Args, Signed: c.Sig != nil})
	var after func()
	if t, ok := res.(Then); ok {
		res, after = t.Result, t.After
	}
	p.log.Info("command ran", "name", c.Name, "id", c.ID, "signed", c.Sig != nil, "ok", err == nil, "took", time.Since(start).Round(time.Millisecond))
	p.finishSync(c.ID, res, err)
	if after != nil && err == nil {
		after()
	}
}

// call runs h, turning a panic into an error reply: a bug in one command
// must not take the daemon down.
func (p *Processor) call(ctx context.Context, h Handler, r Request) (res any, err error) {
	defer func() {
		if v := recover(); v != nil {
			p.log.Error("command handler panicked", "name", r.Name, "id", r.ID, "panic", v)
			res, err = nil, errors.New("internal error while running the command")
		}
	}()
	return h(ctx, r)
}

// finishSync stores and sends the reply on the calling goroutine.
func (p *Processor) finishSync(id string, res any, err error) {
	replies := p.encode(id, res, err)
	p.seen.finish(id, replies)
	p.publish(id, replies)
}

// answerOnce replies to a malformed command without remembering it: its
// id was never claimed, and a corrected resend under the same id must run.
func (p *Processor) answerOnce(id string, res any, err error) {
	replies := p.encode(id, res, err)
	p.spawn(func() { p.publish(id, replies) })
}

func (p *Processor) encode(id string, res any, err error) [][]byte {
	st := p.o.Stamp()
	clock := contract.ClockUnsynced
	if st.Synced {
		clock = contract.ClockSynced
	}
	h := contract.Header{Schema: contract.Schema, Gateway: p.o.Origin.Gateway, Boot: p.o.Origin.Boot, TS: contract.FormatTime(st.Time), Clock: clock}
	out, eerr := encodeReplies(h, id, res, err)
	if eerr != nil {
		p.log.Error("encode reply", "id", id, "err", eerr)
	}
	return out
}

func (p *Processor) publish(id string, replies [][]byte) {
	if p.o.Publisher == nil {
		return
	}
	for _, b := range replies {
		ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
		err := p.o.Publisher.Publish(ctx, contract.ReplyTopic(id), b, false)
		cancel()
		if err != nil {
			// The provider resends under the same id and gets the stored
			// reply; nothing is run twice.
			p.log.Warn("command reply not sent", "id", id, "err", err)
			return
		}
	}
}
