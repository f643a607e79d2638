// Package demo runs a whole praxisgate installation in one process for a
// newcomer: an embedded MQTT broker standing in for the provider's, a
// gateway with simulated devices (a vaccine fridge whose door is left open,
// a room sensor, a UPS that loses mains power), and a "provider" subscriber
// printing what arrives. Half-way through, the gateway's link is cut: the
// readings pile up in the durable buffer and drain in order when it returns.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"text/template"
	"time"

	mqttsrv "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	_ "github.com/praxisgate/praxisgate/drivers/sim"
	_ "github.com/praxisgate/praxisgate/drivers/ups"
	"github.com/praxisgate/praxisgate/drivers/ups/upssim"
	"github.com/praxisgate/praxisgate/gateway"
	"github.com/praxisgate/praxisgate/gateway/config"
)

// Options shape a demo run.
type Options struct {
	// Broker is an external broker URL (tcp://host:port); empty starts the
	// embedded one on Listen.
	Broker string
	// Listen is the embedded broker's address. Default 127.0.0.1:18830;
	// a busy port falls back to a free one.
	Listen string
	// DataDir keeps the gateway's state and buffer; empty uses a temporary
	// directory removed at the end.
	DataDir string
	// Duration of the whole demo (0: until ctx ends). OutageAt and
	// OutageFor place the cut link.
	Duration, OutageAt, OutageFor time.Duration
	// Version is reported by the gateway.
	Version string
	// Out receives the narration and the provider's view; Log the
	// gateway's own log lines (warnings and errors unless Verbose).
	Out, Log io.Writer
	Verbose  bool
}

// Summary is what the provider saw, checked for loss.
type Summary struct {
	Messages, Telemetry, Events, Duplicates int
	FirstSeq, LastSeq                       uint64
	Gaps                                    []uint64
	AlarmsRaised, AlarmsCleared             int
}

// Run runs the demo and returns what the provider received.
func Run(ctx context.Context, o Options) (Summary, error) {
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.Log == nil {
		o.Log = os.Stderr
	}
	if o.Listen == "" {
		o.Listen = "127.0.0.1:18830"
	}
	say := func(format string, args ...any) {
		fmt.Fprintf(o.Out, "[demo]     "+format+"\n", args...)
	}

	brokerAddr, stopBroker, err := startBroker(o)
	if err != nil {
		return Summary{}, err
	}
	defer stopBroker()

	px, err := newProxy(brokerAddr)
	if err != nil {
		return Summary{}, fmt.Errorf("demo: start link proxy: %w", err)
	}
	defer px.close()

	dir := o.DataDir
	if dir == "" {
		dir, err = os.MkdirTemp("", "praxisgate-demo-")
		if err != nil {
			return Summary{}, err
		}
		defer os.RemoveAll(dir)
	}
	// The UPS is simulated on a pseudo-terminal speaking APC's smart
	// protocol, read by the real serial driver, as in a practice's rack.
	upsPort, stopUPS, err := upssim.Start(ctx, upssim.APCSmart, "demo")
	if err != nil {
		return Summary{}, fmt.Errorf("demo: start the simulated UPS: %w", err)
	}
	defer stopUPS()
	cfg, err := demoConfig(dir, px.addr, upsPort)
	if err != nil {
		return Summary{}, err
	}
	lvl := slog.LevelWarn
	if o.Verbose {
		lvl = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(o.Log, &slog.HandlerOptions{Level: lvl}))

	prov, err := startProvider(ctx, brokerAddr, o.Out)
	if err != nil {
		return Summary{}, err
	}
	defer prov.stop()

	g, err := gateway.New(cfg, gateway.Options{Version: o.Version, Logger: log})
	if err != nil {
		return Summary{}, err
	}
	say("broker   %s (the provider's side; subscriber connected)", brokerAddr)
	say("gateway  site %s, gateway %s, buffer in %s", cfg.Site, cfg.Gateway, cfg.Buffer.Dir)
	say("watch it yourself:  mosquitto_sub -h %s -p %s -t 'praxisgate/v1/#' -v", host(brokerAddr), port(brokerAddr))
	if o.Duration > 0 {
		say("timeline: fridge door open at 0:10 for 10 s; UPS (APC smart protocol on a pseudo-terminal) loses mains at 0:20, battery low at 0:40; internet down at %s for %s; end at %s",
			mmss(o.OutageAt), o.OutageFor, mmss(o.Duration))
	}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- g.Run(runCtx) }()

	start := time.Now()
	tick := time.NewTicker(3 * time.Second)
	defer tick.Stop()
	var end <-chan time.Time
	if o.Duration > 0 {
		t := time.NewTimer(o.Duration)
		defer t.Stop()
		end = t.C
	}
	outage := time.NewTimer(o.OutageAt)
	defer outage.Stop()
	if o.OutageFor <= 0 {
		outage.Stop()
	}
	var restore <-chan time.Time
	cut := false
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-end:
			break loop
		case err := <-done:
			return prov.summary(), fmt.Errorf("demo: gateway stopped early: %w", err)
		case <-outage.C:
			px.cut()
			cut = true
			say("%s  ✂ internet down: the gateway's link to the broker is cut for %s", mmss(time.Since(start)), o.OutageFor)
			restore = time.After(o.OutageFor)
		case <-restore:
			if err := px.restore(); err != nil {
				return prov.summary(), fmt.Errorf("demo: restore link: %w", err)
			}
			cut = false
			b := g.Stats().Buffer
			say("%s  ✔ internet back: %d buffered record(s) drain in order, events first", mmss(time.Since(start)), b.Records)
		case <-tick.C:
			if cut {
				b := g.Stats().Buffer
				age := time.Duration(0)
				if !b.Oldest.IsZero() {
					age = time.Since(b.Oldest).Round(time.Second)
				}
				say("%s  offline: buffer holds %d record(s) on disk, oldest %s", mmss(time.Since(start)), b.Records, age)
			}
		}
	}
	stop()
	gerr := <-done
	prov.settle(1500 * time.Millisecond)
	sum := prov.summary()
	fmt.Fprintln(o.Out)
	say("provider received %d message(s): %d telemetry, %d event(s); seq %d..%d", sum.Messages, sum.Telemetry, sum.Events, sum.FirstSeq, sum.LastSeq)
	say("alarms raised %d, cleared %d; duplicates %d (delivery is at-least-once; consumers de-duplicate on seq)", sum.AlarmsRaised, sum.AlarmsCleared, sum.Duplicates)
	if len(sum.Gaps) == 0 {
		say("no gaps: every reading taken during the outage arrived")
	} else {
		say("GAPS in seq: %v", sum.Gaps)
	}
	if gerr != nil && !errors.Is(gerr, context.Canceled) {
		return sum, gerr
	}
	return sum, nil
}

func startBroker(o Options) (addr string, stop func(), err error) {
	if o.Broker != "" {
		u, err := url.Parse(o.Broker)
		if err != nil || u.Host == "" {
			return "", nil, fmt.Errorf("demo: --broker %q: want tcp://host:port", o.Broker)
		}
		if u.Scheme != "tcp" && u.Scheme != "mqtt" {
			return "", nil, fmt.Errorf("demo: --broker %q: the demo speaks plain MQTT (tcp://host:port) only", o.Broker)
		}
		h := u.Host
		if u.Port() == "" {
			h = net.JoinHostPort(u.Hostname(), "1883")
		}
		return h, func() {}, nil
	}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", nil, fmt.Errorf("demo: listen for the embedded broker: %w", err)
		}
	}
	addr = ln.Addr().String()
	ln.Close()
	srv := mqttsrv.New(&mqttsrv.Options{InlineClient: false, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := srv.AddHook(new(allowAll), nil); err != nil {
		return "", nil, fmt.Errorf("demo: broker auth hook: %w", err)
	}
	if err := srv.AddListener(listeners.NewTCP(listeners.Config{ID: "demo", Address: addr})); err != nil {
		return "", nil, fmt.Errorf("demo: broker listener on %s: %w", addr, err)
	}
	if err := srv.Serve(); err != nil {
		return "", nil, fmt.Errorf("demo: start embedded broker: %w", err)
	}
	return addr, func() { srv.Close() }, nil
}

// allowAll lets every client connect and use every topic: the demo's broker
// listens on loopback only and serves the demo's own clients. It replaces
// mochi's hooks/auth.AllowHook, whose package also links a YAML library
// (gopkg.in/yaml.v3, 0.3 MB of the binary) for its rule files.
type allowAll struct{ mqttsrv.HookBase }

func (*allowAll) ID() string { return "demo-allow-all" }

func (*allowAll) Provides(b byte) bool {
	return b == mqttsrv.OnConnectAuthenticate || b == mqttsrv.OnACLCheck
}

func (*allowAll) OnConnectAuthenticate(*mqttsrv.Client, packets.Packet) bool { return true }

func (*allowAll) OnACLCheck(*mqttsrv.Client, string, bool) bool { return true }

var configTmpl = template.Must(template.New("demo").Parse(`# The demo's config: the same file format as /etc/praxisgate/praxisgate.yaml.
site: praxis-demo
gateway: gw-demo
state_dir: {{.Dir}}
uplink:
  broker: tcp://{{.Broker}}
  backoff_min: 500ms
  backoff_max: 3s
  reconnect_spread: 1s
buffer:
  max_bytes: 64MiB
self:
  interval: 10s
devices:
  - id: kuehlschrank-impf
    name: Impfstoffkühlschrank
    driver: sim
    kind: fridge
    interval: 2s
    sim: {scenario: fridge, speed: 30, episodes: [{at: 5m, for: 5m}]}
  - id: raumklima-empfang
    name: Raumklima Empfang
    driver: sim
    kind: climate
    interval: 5s
    sim: {scenario: room}
  - id: usv-rack
    name: USV Serverschrank
    driver: ups
    interval: 2s
    ups: {port: {{.UPSPort}}, protocol: auto}
alarms:
  - device: kuehlschrank-impf
    metric: temperature
    above: 8
    below: 2
    for: 10s
    hysteresis: 0.5
    severity: critical
`))

func demoConfig(dir, broker, upsPort string) (*config.Config, error) {
	var b strings.Builder
	if err := configTmpl.Execute(&b, map[string]string{"Dir": dir, "Broker": broker, "UPSPort": upsPort}); err != nil {
		return nil, err
	}
	cfg, err := config.Parse([]byte(b.String()), dir+"/demo.yaml")
	if err != nil {
		return nil, fmt.Errorf("demo: built-in config: %w", err)
	}
	return cfg, nil
}

func host(addr string) string { h, _, _ := net.SplitHostPort(addr); return h }
func port(addr string) string { _, p, _ := net.SplitHostPort(addr); return p }

func mmss(d time.Duration) string {
	s := int(d.Round(time.Second).Seconds())
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
