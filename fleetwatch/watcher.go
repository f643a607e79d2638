package fleetwatch

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// Options are the parts of a watcher that are not configuration.
type Options struct {
	Logger *slog.Logger
	// Password for the broker (read from Config.PasswordFile by the
	// command). Never logged.
	Password string
	// HTTPClient posts to the webhook (default: 10 s timeout).
	HTTPClient *http.Client
	// Resend re-posts firing alerts this often, as Alertmanager expects
	// of a client (its resolve_timeout ends alerts that are not
	// repeated). 0: never.
	Resend time.Duration
}

// box is what the watcher knows of one gateway. Status, boot, clock and
// alarms are kept by every instance (they come from retained topics);
// lastSeen and seq tracking only by the box's owner.
type box struct {
	state  string // "online", "offline", "" (unknown)
	boot   string
	clock  string
	alarms []Alarm

	owned    bool
	lastSeen time.Time
	seq      seqTrack
}

// digestEntry is what an instance saw of a box it does not own.
type digestEntry struct {
	Boot  string   `json:"boot,omitempty"`
	Clock string   `json:"clock,omitempty"`
	Seqs  []uint64 `json:"seqs,omitempty"`
}

type digest struct {
	From  string                  `json:"from"`
	Boxes map[string]*digestEntry `json:"boxes"`
}

// Watcher is one instance of a watch group.
type Watcher struct {
	cfg  Config
	opts Options
	log  *slog.Logger
	m    *metrics
	cl   mqtt.Client
	base string // praxisgate-watch/{group}

	mu       sync.Mutex
	members  map[string]bool
	heard    map[string]time.Time // member → last announcement
	boxes    map[string]*box
	markers  map[string][]byte                  // marker topic → alert JSON (retained)
	outbox   map[string]map[string]*digestEntry // owner → box → entry
	resentAt map[string]time.Time
	queue    []Alert
	ready    bool
}

// New checks cfg and prepares a watcher; Run connects.
func New(cfg Config, opts Options) (*Watcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("watch config: %w", err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	w := &Watcher{
		cfg: cfg, opts: opts, log: opts.Logger, m: newMetrics(),
		base:    "praxisgate-watch/" + cfg.Group,
		members: map[string]bool{cfg.Instance: true}, heard: map[string]time.Time{}, boxes: map[string]*box{},
		markers: map[string][]byte{}, outbox: map[string]map[string]*digestEntry{}, resentAt: map[string]time.Time{},
	}
	return w, nil
}

// An instance re-announces itself every memberEvery; one not heard for
// memberStale is dropped even if its retained member topic remains (a
// broker that lost the Last Will, e.g. when it crashed itself).
const (
	memberEvery = 10 * time.Second
	memberStale = 35 * time.Second
)

func (w *Watcher) announce(c mqtt.Client) {
	me, _ := json.Marshal(map[string]string{"instance": w.cfg.Instance, "ts": rfc3339(time.Now())})
	c.Publish(w.memberTopic(w.cfg.Instance), 1, true, me)
}

func (w *Watcher) memberTopic(id string) string { return w.base + "/member/" + id }
func (w *Watcher) markerTopic(b, name string) string {
	return w.base + "/alert/" + b + "/" + name
}

func (w *Watcher) clientOptions() (*mqtt.ClientOptions, error) {
	u, err := url.Parse(w.cfg.Broker)
	if err != nil {
		return nil, fmt.Errorf("broker %q: %w", w.cfg.Broker, err)
	}
	o := mqtt.NewClientOptions().AddBroker(w.cfg.Broker).SetClientID("praxisgate-watch-"+w.cfg.Instance).
		SetCleanSession(true).SetAutoReconnect(true).SetConnectRetry(true).SetMaxReconnectInterval(10*time.Second).
		SetKeepAlive(15*time.Second).SetOrderMatters(false).
		SetBinaryWill(w.memberTopic(w.cfg.Instance), nil, 1, true)
	if w.cfg.Username != "" {
		o.SetUsername(w.cfg.Username).SetPassword(w.opts.Password)
	}
	switch u.Scheme {
	case "tls", "ssl", "mqtts":
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if w.cfg.CAFile != "" {
			pem, err := os.ReadFile(w.cfg.CAFile)
			if err != nil {
				return nil, fmt.Errorf("read ca_file: %w", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("ca_file %s: no certificate", w.cfg.CAFile)
			}
		}
		o.SetTLSConfig(tc)
	case "tcp", "mqtt":
		if w.cfg.CAFile != "" {
			return nil, errors.New("ca_file given with a plain tcp:// broker; use tls://")
		}
	default:
		return nil, fmt.Errorf("broker %q: unknown scheme", w.cfg.Broker)
	}
	o.SetOnConnectHandler(w.onConnect)
	o.SetConnectionLostHandler(func(_ mqtt.Client, err error) { w.log.Warn("watch: broker connection lost", "err", err) })
	return o, nil
}

// onConnect announces this instance and subscribes. Retained messages
// (members, markers, status, alarms) arrive right after the SUBACKs.
func (w *Watcher) onConnect(c mqtt.Client) {
	w.announce(c)
	p := w.cfg.Prefix
	subs := map[string]mqtt.MessageHandler{
		w.base + "/member/+":                     w.onMember,
		w.base + "/alert/#":                      w.onMarker,
		w.base + "/seen/" + w.cfg.Instance:       w.onDigest,
		p + "/+/+/status":                        w.onState,
		p + "/+/+/alarms":                        w.onState,
		"$share/" + w.cfg.Group + "/" + p + "/#": w.onShared,
	}
	filters := map[string]byte{}
	for f := range subs {
		filters[f] = 1
	}
	tok := c.SubscribeMultiple(filters, nil)
	for f, h := range subs {
		c.AddRoute(strings.TrimPrefix(f, "$share/"+w.cfg.Group+"/"), h)
	}
	go func() {
		if tok.WaitTimeout(30*time.Second) && tok.Error() == nil {
			w.log.Info("watch: subscribed", "instance", w.cfg.Instance, "group", w.cfg.Group)
			return
		}
		w.log.Error("watch: subscribe failed", "err", tok.Error())
	}()
}

// Run watches until ctx ends. It leaves the group cleanly (its member
// topic cleared) so the others take its share at once.
func (w *Watcher) Run(ctx context.Context) error {
	o, err := w.clientOptions()
	if err != nil {
		return err
	}
	// The routes decide which handler gets a message; a filter that no
	// route matches (none here) would reach this default.
	o.SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) { w.m.invalid.Inc() })
	w.cl = mqtt.NewClient(o)
	tok := w.cl.Connect()
	select {
	case <-tok.Done():
		if tok.Error() != nil {
			return fmt.Errorf("connect to %s: %w", w.cfg.Broker, tok.Error())
		}
	case <-ctx.Done():
		return ctx.Err()
	}
	var srv *http.Server
	errc := make(chan error, 1)
	if w.cfg.Listen != "" {
		ln, err := net.Listen("tcp", w.cfg.Listen)
		if err != nil {
			w.cl.Disconnect(250)
			return fmt.Errorf("metrics listen %s: %w", w.cfg.Listen, err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", w.m)
		srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() { errc <- srv.Serve(ln) }()
		w.log.Info("watch: metrics", "listen", ln.Addr().String())
	}
	t := time.NewTicker(w.cfg.Tick)
	defer t.Stop()
	// Give the retained messages that follow the SUBACKs a moment before
	// the first verdict, so a starting instance knows the markers of
	// alerts already reported and the other members.
	settle := time.Now().Add(3 * w.cfg.Tick)
	announced := time.Now()
	for {
		select {
		case <-ctx.Done():
			w.cl.Publish(w.memberTopic(w.cfg.Instance), 1, true, []byte{}).WaitTimeout(2 * time.Second)
			w.cl.Disconnect(500)
			if srv != nil {
				sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				_ = srv.Shutdown(sctx)
				cancel()
			}
			return nil
		case err := <-errc:
			return fmt.Errorf("metrics server: %w", err)
		case now := <-t.C:
			if now.Sub(announced) >= memberEvery {
				announced = now
				w.announce(w.cl)
			}
			w.flushDigests()
			if now.After(settle) {
				w.evaluate(now)
			}
			w.postQueued(ctx)
		}
	}
}

// owner picks the instance responsible for box b among the live members.
func (w *Watcher) owner(b string) string { return pickOwner(w.members, b) }

// Owner is the instance of members responsible for box ("site/gateway"):
// rendezvous hashing, so a member joining or leaving moves only its own
// share. Every instance computes the same answer from the same members.
func Owner(members []string, box string) string {
	set := make(map[string]bool, len(members))
	for _, m := range members {
		set[m] = true
	}
	return pickOwner(set, box)
}

func pickOwner(members map[string]bool, b string) string {
	var best string
	var bestH uint64
	for id := range members {
		h := fnv.New64a()
		h.Write([]byte(id))
		h.Write([]byte{0})
		h.Write([]byte(b))
		if v := mix64(h.Sum64()); best == "" || v > bestH || (v == bestH && id < best) {
			best, bestH = id, v
		}
	}
	return best
}

// mix64 is MurmurHash3's finaliser: FNV alone mixes ids that differ in
// one late byte ("w1", "w2") so poorly that one of them rarely wins.
func mix64(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb53fe1a85ec3
	x ^= x >> 33
	return x
}

func (w *Watcher) boxLocked(name string) *box {
	b := w.boxes[name]
	if b == nil {
		b = &box{}
		w.boxes[name] = b
	}
	return b
}

func (w *Watcher) onMember(_ mqtt.Client, m mqtt.Message) {
	id := m.Topic()[strings.LastIndexByte(m.Topic(), '/')+1:]
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(m.Payload()) == 0 && id != w.cfg.Instance {
		delete(w.members, id)
		delete(w.heard, id)
	} else {
		w.members[id] = true
		w.heard[id] = time.Now()
	}
	w.m.members.Set(float64(len(w.members)))
}

func (w *Watcher) onMarker(_ mqtt.Client, m mqtt.Message) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(m.Payload()) == 0 {
		delete(w.markers, m.Topic())
	} else {
		w.markers[m.Topic()] = append([]byte(nil), m.Payload()...)
	}
}

// onState takes the retained state topics, which every instance reads.
func (w *Watcher) onState(_ mqtt.Client, m mqtt.Message) {
	msg, err := Decode(w.cfg.Prefix, m.Topic(), m.Payload())
	if err != nil {
		w.m.invalid.Inc()
		w.log.Debug("watch: bad message", "topic", m.Topic(), "err", err)
		return
	}
	w.m.messages.WithLabelValues(msg.Kind.String()).Inc()
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	b := w.boxLocked(msg.Box)
	switch msg.Kind {
	case KindStatus:
		if len(m.Payload()) == 0 {
			b.state = ""
			return
		}
		if msg.State == "online" {
			if b.boot != "" && msg.Boot != b.boot && b.owned && !m.Retained() {
				w.fireOneOffLocked(msg.Box, AlertRebooted, "minor", now,
					fmt.Sprintf("box %s restarted: boot %s after %s", msg.Box, msg.Boot, b.boot))
				w.m.reboots.Inc()
			}
			b.boot = msg.Boot
			b.clock = msg.Clock
			b.lastSeen = now
		}
		b.state = msg.State
	case KindAlarms:
		b.alarms = msg.Alarms
		if len(m.Payload()) != 0 && b.state == "online" {
			b.lastSeen = now
		}
	}
}

// onShared takes the box messages the shared subscription hands this
// instance: its own boxes are tracked, the others' go into a digest.
func (w *Watcher) onShared(_ mqtt.Client, m mqtt.Message) {
	msg, err := Decode(w.cfg.Prefix, m.Topic(), m.Payload())
	if err != nil {
		w.m.invalid.Inc()
		w.log.Debug("watch: bad message", "topic", m.Topic(), "err", err)
		return
	}
	switch msg.Kind {
	case KindStatus, KindAlarms, KindCommand:
		return // state topics come through onState; commands are not the box's
	}
	w.m.messages.WithLabelValues(msg.Kind.String()).Inc()
	var seqs []uint64
	if msg.Seq != 0 {
		seqs = []uint64{msg.Seq}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	owner := w.owner(msg.Box)
	if owner == w.cfg.Instance {
		w.observeLocked(msg.Box, msg.Boot, msg.Clock, seqs, time.Now())
		return
	}
	per := w.outbox[owner]
	if per == nil {
		per = map[string]*digestEntry{}
		w.outbox[owner] = per
	}
	e := per[msg.Box]
	if e == nil {
		e = &digestEntry{}
		per[msg.Box] = e
	}
	if msg.Boot != "" && msg.Boot != e.Boot {
		// One digest entry covers one boot; flush the old one first.
		if e.Boot != "" {
			w.flushLocked(owner)
			per = map[string]*digestEntry{}
			w.outbox[owner] = per
			e = &digestEntry{}
			per[msg.Box] = e
		}
		e.Boot = msg.Boot
	}
	if msg.Clock != "" {
		e.Clock = msg.Clock
	}
	e.Seqs = append(e.Seqs, seqs...)
}

func (w *Watcher) onDigest(_ mqtt.Client, m mqtt.Message) {
	var d digest
	if err := json.Unmarshal(m.Payload(), &d); err != nil {
		w.m.invalid.Inc()
		return
	}
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	for name, e := range d.Boxes {
		if e == nil || w.owner(name) != w.cfg.Instance {
			continue // ownership moved on; the new owner starts afresh
		}
		w.observeLocked(name, e.Boot, e.Clock, e.Seqs, now)
	}
}

// observeLocked records a sign of life of an owned box.
func (w *Watcher) observeLocked(name, boot, clock string, seqs []uint64, now time.Time) {
	b := w.boxLocked(name)
	b.lastSeen = now
	if clock != "" {
		b.clock = clock
	}
	for _, s := range seqs {
		if over := b.seq.see(boot, s, now); len(over) > 0 {
			w.reportGapsLocked(name, over, now)
		}
	}
}

func (w *Watcher) flushDigests() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for owner := range w.outbox {
		w.flushLocked(owner)
	}
}

func (w *Watcher) flushLocked(owner string) {
	per := w.outbox[owner]
	delete(w.outbox, owner)
	if len(per) == 0 || w.cl == nil {
		return
	}
	body, err := json.Marshal(digest{From: w.cfg.Instance, Boxes: per})
	if err != nil {
		return
	}
	w.cl.Publish(w.base+"/seen/"+owner, 1, false, body)
	w.m.digests.Inc()
}

// evaluate runs every detection over the owned boxes.
func (w *Watcher) evaluate(now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	silence := w.cfg.Silence()
	for id, at := range w.heard {
		if id != w.cfg.Instance && now.Sub(at) > memberStale {
			w.log.Warn("watch: member not heard, dropped", "member", id, "last", rfc3339(at))
			delete(w.members, id)
			delete(w.heard, id)
		}
	}
	w.m.members.Set(float64(len(w.members)))
	owned, offline, unsynced := 0, 0, 0
	names := make([]string, 0, len(w.boxes))
	for n := range w.boxes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		b := w.boxes[name]
		mine := w.owner(name) == w.cfg.Instance
		if mine && !b.owned {
			// Taken over (start, or another instance left): what we
			// know of its silence and seqs starts now.
			b.lastSeen = now
			b.seq = seqTrack{}
		}
		b.owned = mine
		if !mine {
			continue
		}
		owned++
		// Offline: the Last Will (or a clean goodbye), or silence.
		silent := now.Sub(b.lastSeen) > silence
		if b.state == "offline" || silent {
			offline++
			why := fmt.Sprintf("box %s sent nothing for %s (silence limit %s)", name, now.Sub(b.lastSeen).Round(time.Second), silence)
			if b.state == "offline" {
				why = fmt.Sprintf("box %s is offline (status offline: Last Will or shutdown)", name)
			}
			w.fireLocked(name, "offline", AlertOffline, "critical", now, why, nil)
		} else {
			w.resolveLocked(name, "offline", now)
		}
		if b.clock == "unsynced" && b.state == "online" && !silent {
			unsynced++
			w.fireLocked(name, "clock", AlertClock, "minor", now,
				fmt.Sprintf("box %s reports clock unsynced: its timestamps are estimates", name), nil)
		} else if b.clock == "synced" || b.state == "online" {
			w.resolveLocked(name, "clock", now)
		}
		active := map[string]bool{}
		for _, a := range b.alarms {
			key := "alarm/" + a.ID
			active[key] = true
			sla, watched := w.cfg.SLA[a.Severity]
			since := a.Since
			if since.IsZero() {
				continue
			}
			if watched && now.Sub(since) >= sla {
				w.fireLocked(name, key, AlertSLA, a.Severity, now,
					fmt.Sprintf("alarm %s on %s active since %s, over the %s SLA of %s: %s", a.ID, name, rfc3339(since), a.Severity, sla, a.Message),
					map[string]string{"alarm": a.ID, "device": a.Device})
			}
		}
		prefix := w.markerTopic(name, "alarm/")
		for topic := range w.markers {
			if strings.HasPrefix(topic, prefix) && !active["alarm/"+strings.TrimPrefix(topic, prefix)] {
				w.resolveLocked(name, "alarm/"+strings.TrimPrefix(topic, prefix), now)
			}
		}
		if gs := b.seq.expired(now.Add(-w.cfg.GapGrace)); len(gs) > 0 {
			w.reportGapsLocked(name, gs, now)
		}
	}
	w.m.owned.Set(float64(owned))
	w.m.offline.Set(float64(offline))
	w.m.unsynced.Set(float64(unsynced))
}

func (w *Watcher) reportGapsLocked(name string, gs []gap, now time.Time) {
	text, missing := describeGaps(gs)
	w.m.gaps.Add(float64(len(gs)))
	w.m.missing.Add(float64(missing))
	w.fireOneOffLocked(name, AlertSeqGap, "major", now,
		fmt.Sprintf("box %s: %d records never arrived (seq %s, boot %s): lost between the box and this watcher (broker loss after PUBACK, or the box's buffer bounds)", name, missing, text, w.boxes[name].seq.boot))
}

func (w *Watcher) labels(name, alertname, severity string, extra map[string]string) map[string]string {
	site, gw, _ := strings.Cut(name, "/")
	l := map[string]string{"alertname": alertname, "severity": severity, "site": site, "gateway": gw, "group": w.cfg.Group}
	for k, v := range extra {
		l[k] = v
	}
	return l
}

// fireLocked raises a state alert once: the retained marker says it was
// reported, to this instance after a restart and to whoever takes over.
func (w *Watcher) fireLocked(name, key, alertname, severity string, now time.Time, summary string, extra map[string]string) {
	topic := w.markerTopic(name, key)
	if old, ok := w.markers[topic]; ok {
		if w.opts.Resend > 0 && now.Sub(w.resentAt[topic]) >= w.opts.Resend {
			var a Alert
			if json.Unmarshal(old, &a) == nil {
				w.resentAt[topic] = now
				w.queue = append(w.queue, a)
			}
		}
		return
	}
	a := Alert{Labels: w.labels(name, alertname, severity, extra), StartsAt: rfc3339(now),
		Annotations: map[string]string{"summary": summary, "watcher": w.cfg.Instance}}
	body, _ := json.Marshal(a)
	w.markers[topic] = body
	w.resentAt[topic] = now
	w.queue = append(w.queue, a)
	w.m.alerts.WithLabelValues(alertname, "firing").Inc()
	w.cl.Publish(topic, 1, true, body)
	w.log.Info("watch: alert", "alert", alertname, "box", name, "severity", severity, "summary", summary)
}

// resolveLocked ends a state alert that was reported.
func (w *Watcher) resolveLocked(name, key string, now time.Time) {
	topic := w.markerTopic(name, key)
	old, ok := w.markers[topic]
	if !ok {
		return
	}
	delete(w.markers, topic)
	delete(w.resentAt, topic)
	w.cl.Publish(topic, 1, true, []byte{})
	var a Alert
	if json.Unmarshal(old, &a) != nil || a.Labels == nil {
		return
	}
	a.EndsAt = rfc3339(now)
	a.Annotations = map[string]string{"summary": a.Annotations["summary"] + " (resolved)", "watcher": w.cfg.Instance}
	w.queue = append(w.queue, a)
	w.m.alerts.WithLabelValues(a.Labels["alertname"], "resolved").Inc()
	w.log.Info("watch: resolved", "alert", a.Labels["alertname"], "box", name)
}

// fireOneOffLocked posts an alert about something that happened (reboot,
// lost records): it carries its own end.
func (w *Watcher) fireOneOffLocked(name, alertname, severity string, now time.Time, summary string) {
	a := Alert{Labels: w.labels(name, alertname, severity, nil), StartsAt: rfc3339(now), EndsAt: rfc3339(now.Add(w.cfg.OneOffHold)),
		Annotations: map[string]string{"summary": summary, "watcher": w.cfg.Instance}}
	w.queue = append(w.queue, a)
	w.m.alerts.WithLabelValues(alertname, "firing").Inc()
	w.log.Info("watch: alert", "alert", alertname, "box", name, "severity", severity, "summary", summary)
}

// postQueued sends the queued alerts in one batch; a failed post keeps
// them (bounded) for the next tick.
func (w *Watcher) postQueued(ctx context.Context) {
	w.mu.Lock()
	q := w.queue
	w.queue = nil
	w.mu.Unlock()
	if len(q) == 0 || w.cfg.Webhook == "" {
		return
	}
	if err := (poster{url: w.cfg.Webhook, client: w.opts.HTTPClient}).post(ctx, q); err != nil {
		w.m.webhookFails.Inc()
		w.log.Warn("watch: webhook", "err", err, "alerts", len(q))
		w.mu.Lock()
		w.queue = append(q, w.queue...)
		if over := len(w.queue) - 10000; over > 0 {
			w.queue = w.queue[over:]
		}
		w.mu.Unlock()
	}
}
