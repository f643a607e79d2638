package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/praxisgate/praxisgate/buffer"
	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway/config"
	"github.com/praxisgate/praxisgate/gateway/contract"
	"github.com/praxisgate/praxisgate/gateway/uplink"
)

// fleetsimCmd runs N light gateways (the real uplink over an in-memory
// buffer, one synthetic device each) against one broker, to show what a
// provider's broker sees from a fleet: how connection attempts spread when
// the broker goes away and comes back, how long the boxes take to
// reconnect, and that no reading is lost (issue 10).
func fleetsimCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("fleetsim", "fleetsim -n N -broker tcp://HOST:PORT [flags]", stderr)
	o := fleetOptions{}
	fs.IntVar(&o.N, "n", 100, "number of simulated gateways")
	fs.StringVar(&o.Broker, "broker", "tcp://127.0.0.1:1883", "the broker (plain tcp://; the gateways connect through a local counting proxy)")
	fs.DurationVar(&o.Interval, "interval", time.Second, "one reading per gateway every interval")
	fs.DurationVar(&o.Ramp, "ramp", 0, "spread the first connects over this time (default n/40 s: 40 new connections a second)")
	fs.DurationVar(&o.BackoffMin, "backoff-min", time.Second, "uplink.backoff_min of every gateway")
	fs.DurationVar(&o.ReconnectSpread, "reconnect-spread", 20*time.Second, "uplink.reconnect_spread of every gateway")
	fs.DurationVar(&o.BackoffMax, "backoff-max", 2*time.Minute, "uplink.backoff_max of every gateway")
	fs.DurationVar(&o.OutageAt, "outage-at", 10*time.Second, "when, after all are connected, the proxy cuts every connection (0: never)")
	fs.DurationVar(&o.OutageFor, "outage-for", 2*time.Second, "how long the proxy then refuses connections, like a broker restart")
	fs.DurationVar(&o.Timeout, "timeout", 3*time.Minute, "give up waiting for reconnects and the drain after this")
	if err := parse(fs, args); err != nil {
		return err
	}
	if o.N < 1 || o.N > 20000 {
		return fmt.Errorf("fleetsim: -n must be 1-20000, got %d", o.N)
	}
	o.Out = stdout
	rep, err := runFleet(ctx, o)
	if err != nil {
		return err
	}
	rep.print(stdout)
	return rep.verdict()
}

// fleetOptions shape one simulation; tests set Outage to restart a real
// broker instead of cutting the proxy.
type fleetOptions struct {
	N                      int
	Broker                 string
	Interval, Ramp         time.Duration
	BackoffMin, BackoffMax time.Duration
	ReconnectSpread        time.Duration
	OutageAt, OutageFor    time.Duration
	Timeout                time.Duration
	// Stall, when set, turns Timeout into a deadline that moves with
	// progress: a wait ends only when nothing has improved for Stall (or
	// after MaxWait). A loaded machine slows 500 gateways down without
	// stopping them, and a test must judge what happened, not the clock.
	Stall, MaxWait time.Duration
	// Outage, when set, replaces the proxy cut: it must take the broker
	// away and bring it back (a test restarts Mosquitto).
	Outage func()
	Out    io.Writer
	Logger *slog.Logger
}

// fleetReport is what the simulation measured.
type fleetReport struct {
	N int
	// Reconnect is, per gateway, the time from the outage to its new
	// connection being up; missing gateways did not reconnect.
	Reconnect []time.Duration
	// Dials is connection attempts per second since the outage began.
	Dials []int
	// Published and Received count readings; Missing counts seqs the
	// observer never saw (data loss), per gateway.
	Published, Received int64
	Missing             map[string]int
	HadOutage           bool
}

// fleetGateway is one simulated box.
type fleetGateway struct {
	name    string
	buf     *buffer.Memory
	up      *uplink.Uplink
	stopped atomic.Bool
}

func runFleet(ctx context.Context, o fleetOptions) (*fleetReport, error) {
	if o.Ramp == 0 {
		o.Ramp = time.Duration(o.N) * time.Second / 40
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	bu, err := url.Parse(o.Broker)
	if err != nil || (bu.Scheme != "tcp" && bu.Scheme != "mqtt") || bu.Port() == "" {
		return nil, fmt.Errorf("fleetsim: -broker must be tcp://host:port, got %q", o.Broker)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	px, err := newDialCounter(bu.Host)
	if err != nil {
		return nil, err
	}
	defer px.Close()
	obs, err := newFleetObserver(o.Broker)
	if err != nil {
		return nil, err
	}
	defer obs.close()

	fleet := make([]*fleetGateway, o.N)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range fleet {
		fg, err := newFleetGateway(i, "tcp://"+px.Addr(), o)
		if err != nil {
			return nil, err
		}
		fleet[i] = fg
		wg.Add(2)
		delay := time.Duration(i) * o.Ramp / time.Duration(o.N)
		go func() {
			defer wg.Done()
			if sleepCtx(ctx, delay) {
				fg.up.Run(ctx)
			}
		}()
		go func() {
			defer wg.Done()
			fg.produce(ctx, o.Interval)
		}()
	}
	stopAll := func() {
		cancel()
		wg.Wait()
	}
	fmt.Fprintf(o.Out, "fleetsim: %d gateways connecting through %s to %s over %s\n", o.N, px.Addr(), o.Broker, o.Ramp)
	if !o.wait(ctx, start.Add(o.Ramp+o.Timeout), func() int { return countConnected(fleet) }, o.N) {
		stopAll()
		return nil, fmt.Errorf("fleetsim: only %d of %d gateways connected within %s", countConnected(fleet), o.N, o.Ramp+o.Timeout)
	}
	fmt.Fprintf(o.Out, "fleetsim: all %d connected after %s\n", o.N, time.Since(start).Round(time.Millisecond))

	rep := &fleetReport{N: o.N, Missing: map[string]int{}}
	if o.OutageAt > 0 {
		sleepCtx(ctx, o.OutageAt)
		gens := make([]uint64, o.N)
		for i, fg := range fleet {
			gens[i] = fg.up.Stats().Generation
		}
		t0 := time.Now()
		px.markOutage(t0)
		rep.HadOutage = true
		if o.Outage != nil {
			fmt.Fprintln(o.Out, "fleetsim: broker outage (restart)")
			o.Outage()
		} else {
			fmt.Fprintf(o.Out, "fleetsim: cutting every connection and refusing new ones for %s\n", o.OutageFor)
			px.cut(o.OutageFor)
		}
		back := func() int {
			n := 0
			for i, fg := range fleet {
				if s := fg.up.Stats(); s.Connected && s.Generation != gens[i] {
					n++
				}
			}
			return n
		}
		o.wait(ctx, t0.Add(o.Timeout), back, o.N)
		for i, fg := range fleet {
			if s := fg.up.Stats(); s.Connected && s.Generation > gens[i] {
				rep.Reconnect = append(rep.Reconnect, s.ConnectedSince.Sub(t0))
			}
		}
		rep.Dials = px.perSecond()
	}

	// Stop producing, let every buffer drain, then check the observer saw
	// every seq of every gateway.
	for _, fg := range fleet {
		fg.stopProducing()
	}
	o.wait(ctx, time.Now().Add(o.Timeout), func() int {
		n := 0
		for _, fg := range fleet {
			if fg.buf.Stats().Records == 0 {
				n++
			}
		}
		return n
	}, o.N)
	last := map[string]uint64{}
	for _, fg := range fleet {
		st := fg.buf.Stats()
		last[fg.name] = st.LastSeq
		rep.Published += int64(st.LastSeq)
	}
	waitUntil(ctx, time.Now().Add(30*time.Second), func() bool { return obs.missing(last, nil) == 0 })
	rep.Received = obs.received.Load()
	obs.missing(last, rep.Missing)
	stopAll()
	return rep, nil
}

func newFleetGateway(i int, broker string, o fleetOptions) (*fleetGateway, error) {
	name := fmt.Sprintf("gw-%05d", i+1)
	fg := &fleetGateway{name: name, buf: buffer.NewMemory(buffer.Options{})}
	up, err := uplink.New(uplink.Options{
		Config: config.Uplink{Broker: broker, BackoffMin: o.BackoffMin, BackoffMax: o.BackoffMax, ReconnectSpread: &o.ReconnectSpread, KeepAlive: 30 * time.Second},
		Site:   "fleet", Gateway: name, Origin: contract.Origin{Gateway: name, Boot: "fleetsim"},
		Version: "fleetsim", Started: time.Now(), Logger: o.Logger,
	}, fg.buf)
	if err != nil {
		return nil, fmt.Errorf("fleetsim: %w", err)
	}
	fg.up = up
	return fg, nil
}

// produce appends one reading every interval until stopped.
func (fg *fleetGateway) produce(ctx context.Context, every time.Duration) {
	origin := contract.Origin{Gateway: fg.name, Boot: "fleetsim"}
	t := time.NewTicker(every)
	defer t.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if fg.stopped.Load() {
			return
		}
		s := drivers.Sample{Device: "sim", Kind: "sim", Time: time.Now(), Metrics: []drivers.Metric{drivers.Num("counter", float64(n), "")}}
		body, err := origin.EncodeTelemetry(s, contract.Stamp{Time: s.Time, Synced: true})
		if err != nil {
			return
		}
		if err := fg.buf.Append(ctx, []buffer.Record{{Class: buffer.Telemetry, Topic: contract.TelemetryTopic("sim"), Payload: body}}); err != nil {
			return
		}
	}
}

func (fg *fleetGateway) stopProducing() { fg.stopped.Store(true) }

func countConnected(fleet []*fleetGateway) int {
	n := 0
	for _, fg := range fleet {
		if fg.up.Connected() {
			n++
		}
	}
	return n
}

// wait polls count every 50 ms until it reaches target (true). Without
// Stall it gives up at deadline; with Stall the deadline moves on while
// count grows, so only a fleet that stopped making progress for Stall (or
// ran past MaxWait) gives up.
func (o fleetOptions) wait(ctx context.Context, deadline time.Time, count func() int, target int) bool {
	if o.Stall <= 0 {
		return waitUntil(ctx, deadline, func() bool { return count() >= target })
	}
	limit := time.Now().Add(o.MaxWait)
	best := -1
	for {
		n := count()
		if n >= target {
			return true
		}
		now := time.Now()
		if n > best {
			best = n
			if d := now.Add(o.Stall); d.After(deadline) {
				deadline = d
			}
		}
		if now.After(deadline) || (o.MaxWait > 0 && now.After(limit)) || !sleepCtx(ctx, 50*time.Millisecond) {
			return false
		}
	}
}

// waitUntil polls cond every 50 ms until it holds (true), the deadline
// passes or ctx ends (false).
func waitUntil(ctx context.Context, deadline time.Time, cond func() bool) bool {
	for !cond() {
		if time.Now().After(deadline) || !sleepCtx(ctx, 50*time.Millisecond) {
			return false
		}
	}
	return true
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// fleetObserver is the provider: one persistent-session subscriber that
// records which seqs of which gateway arrived.
type fleetObserver struct {
	cl       mqtt.Client
	mu       sync.Mutex
	seen     map[string]map[uint64]bool
	received atomic.Int64
}

func newFleetObserver(broker string) (*fleetObserver, error) {
	o := &fleetObserver{seen: map[string]map[uint64]bool{}}
	opts := mqtt.NewClientOptions().AddBroker(broker).SetClientID(fmt.Sprintf("fleetsim-observer-%d", time.Now().UnixNano())).
		SetCleanSession(false).SetAutoReconnect(true).SetMaxReconnectInterval(time.Second).SetOrderMatters(false)
	opts.SetOnConnectHandler(func(c mqtt.Client) {
		c.Subscribe(contract.DefaultPrefix+"/fleet/+/telemetry/#", 1, o.handle)
	})
	o.cl = mqtt.NewClient(opts)
	if tok := o.cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return nil, fmt.Errorf("fleetsim: observer connect to %s: %v", broker, tok.Error())
	}
	return o, nil
}

func (o *fleetObserver) handle(_ mqtt.Client, m mqtt.Message) {
	var p struct {
		Gateway string `json:"gateway"`
		Seq     uint64 `json:"seq"`
	}
	if json.Unmarshal(m.Payload(), &p) != nil || p.Seq == 0 {
		return
	}
	o.received.Add(1)
	o.mu.Lock()
	s := o.seen[p.Gateway]
	if s == nil {
		s = map[uint64]bool{}
		o.seen[p.Gateway] = s
	}
	s[p.Seq] = true
	o.mu.Unlock()
}

// missing counts seqs 1..last[gw] not seen, filling per when not nil.
func (o *fleetObserver) missing(last map[string]uint64, per map[string]int) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	total := 0
	for gw, n := range last {
		miss := 0
		for s := uint64(1); s <= n; s++ {
			if !o.seen[gw][s] {
				miss++
			}
		}
		if miss > 0 && per != nil {
			per[gw] = miss
		}
		total += miss
	}
	return total
}

func (o *fleetObserver) close() { o.cl.Disconnect(100) }

// maxDials is the highest attempts-per-second figure.
func (r *fleetReport) maxDials() int {
	m := 0
	for _, n := range r.Dials {
		m = max(m, n)
	}
	return m
}

// quantile returns the q-quantile of the reconnect times (0 when none).
func (r *fleetReport) quantile(q float64) time.Duration {
	if len(r.Reconnect) == 0 {
		return 0
	}
	d := append([]time.Duration(nil), r.Reconnect...)
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[int(q*float64(len(d)-1))]
}

// slowest is the longest reconnect time.
func (r *fleetReport) slowest() time.Duration { return r.quantile(1) }

// histogram renders reconnect times in 5 s buckets.
func (r *fleetReport) histogram() string {
	if len(r.Reconnect) == 0 {
		return "  (none)\n"
	}
	d := append([]time.Duration(nil), r.Reconnect...)
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	const bucket = 5 * time.Second
	counts := make([]int, int(d[len(d)-1]/bucket)+1)
	for _, x := range d {
		counts[int(x/bucket)]++
	}
	var b strings.Builder
	for i, n := range counts {
		fmt.Fprintf(&b, "  %3d-%3ds %5d %s\n", i*5, (i+1)*5, n, strings.Repeat("#", (n+4)/5))
	}
	fmt.Fprintf(&b, "  p50 %s  p99 %s  max %s\n", r.quantile(0.5).Round(time.Millisecond), r.quantile(0.99).Round(time.Millisecond), r.slowest().Round(time.Millisecond))
	return b.String()
}

func (r *fleetReport) print(w io.Writer) {
	if r.HadOutage {
		fmt.Fprintf(w, "reconnected after the outage: %d of %d\n", len(r.Reconnect), r.N)
		fmt.Fprintf(w, "reconnect time (from the outage to connected), 5 s buckets:\n%s", r.histogram())
		fmt.Fprintf(w, "connection attempts per second since the outage (max %d): %v\n", r.maxDials(), r.Dials)
	}
	fmt.Fprintf(w, "readings published %d, received %d (with duplicates), gateways missing readings: %d\n", r.Published, r.Received, len(r.Missing))
}

// verdict fails the run when a gateway did not come back or lost data.
func (r *fleetReport) verdict() error {
	var probs []string
	if r.HadOutage && len(r.Reconnect) < r.N {
		probs = append(probs, fmt.Sprintf("%d gateways did not reconnect", r.N-len(r.Reconnect)))
	}
	if len(r.Missing) > 0 {
		probs = append(probs, fmt.Sprintf("%d gateways lost readings", len(r.Missing)))
	}
	if len(probs) > 0 {
		return errors.New("fleetsim: " + strings.Join(probs, "; "))
	}
	return nil
}
