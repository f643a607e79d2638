package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// provider plays the provider's cloud: it subscribes to everything the
// gateway publishes, prints it, and checks the seq stream for gaps.
type provider struct {
	client mqtt.Client
	out    io.Writer

	mu       sync.Mutex
	seen     map[uint64]bool
	sum      Summary
	lastRecv time.Time
}

type message struct {
	Seq      *uint64 `json:"seq"`
	Device   string  `json:"device"`
	Type     string  `json:"type"`
	Severity string  `json:"severity"`
	Message  string  `json:"message"`
	State    string  `json:"state"`
	Version  string  `json:"version"`
	TS       string  `json:"ts"`
	Metrics  []struct {
		Name  string `json:"name"`
		Value any    `json:"value"`
		Unit  string `json:"unit"`
	} `json:"metrics"`
	Alarms []struct {
		ID       string `json:"id"`
		Severity string `json:"severity"`
	} `json:"alarms"`
}

func startProvider(ctx context.Context, broker string, out io.Writer) (*provider, error) {
	p := &provider{out: out, seen: map[uint64]bool{}}
	opts := mqtt.NewClientOptions().AddBroker("tcp://" + broker).SetClientID("demo-provider").
		SetCleanSession(true).SetAutoReconnect(true).SetConnectTimeout(5 * time.Second).SetOrderMatters(true)
	opts.SetOnConnectHandler(func(c mqtt.Client) {
		c.Subscribe("praxisgate/v1/#", 1, p.receive)
	})
	p.client = mqtt.NewClient(opts)
	tok := p.client.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		return nil, fmt.Errorf("demo: provider subscriber: connect to %s timed out", broker)
	}
	if err := tok.Error(); err != nil {
		return nil, fmt.Errorf("demo: provider subscriber: %w", err)
	}
	return p, nil
}

func (p *provider) receive(_ mqtt.Client, m mqtt.Message) {
	var msg message
	topic := m.Topic()
	// praxisgate/v1/{site}/{gateway}/{suffix...}
	parts := strings.SplitN(topic, "/", 5)
	suffix := topic
	if len(parts) == 5 {
		suffix = parts[4]
	}
	if err := json.Unmarshal(m.Payload(), &msg); err != nil {
		fmt.Fprintf(p.out, "[provider] %s: undecodable payload: %v\n", topic, err)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lastRecv = time.Now()
	ts := msg.TS
	if len(ts) >= 23 {
		ts = ts[11:23] // hh:mm:ss.mmm of the measurement
	}
	if msg.Seq != nil {
		seq := *msg.Seq
		dup := p.seen[seq]
		if dup {
			p.sum.Duplicates++
		} else {
			p.seen[seq] = true
			p.sum.Messages++
			if p.sum.FirstSeq == 0 || seq < p.sum.FirstSeq {
				p.sum.FirstSeq = seq
			}
			if seq > p.sum.LastSeq {
				p.sum.LastSeq = seq
			}
		}
		mark := ""
		if dup {
			mark = " (duplicate)"
		}
		switch {
		case strings.HasPrefix(suffix, "telemetry/"):
			if !dup {
				p.sum.Telemetry++
			}
			fmt.Fprintf(p.out, "[provider] %s seq %4d  %-18s %s%s\n", ts, seq, msg.Device, p.metrics(msg), mark)
		case strings.HasPrefix(suffix, "event/"):
			if !dup {
				p.sum.Events++
				switch msg.Type {
				case "alarm.raised":
					p.sum.AlarmsRaised++
				case "alarm.cleared":
					p.sum.AlarmsCleared++
				}
			}
			fmt.Fprintf(p.out, "[provider] %s seq %4d  EVENT %s [%s] %s: %s%s\n", ts, seq, msg.Type, msg.Severity, msg.Device, msg.Message, mark)
		}
		return
	}
	switch suffix {
	case "status":
		fmt.Fprintf(p.out, "[provider] status: %s (version %s, retained)\n", msg.State, msg.Version)
	case "alarms":
		ids := make([]string, 0, len(msg.Alarms))
		for _, a := range msg.Alarms {
			ids = append(ids, a.ID+" ["+a.Severity+"]")
		}
		fmt.Fprintf(p.out, "[provider] active alarms (retained): %d %s\n", len(msg.Alarms), strings.Join(ids, ", "))
	default:
		fmt.Fprintf(p.out, "[provider] %s: %s\n", suffix, m.Payload())
	}
}

// demoHidden keeps the UPS line readable; the full set is on the broker.
var demoHidden = map[string]bool{"ups.firmware": true, "ups.protocol": true, "battery.voltage.nominal": true,
	"input.frequency": true, "output.voltage": true, "ups.temperature": true, "battery.voltage": true}

// selfShown are the metrics of the gateway's own telemetry worth a line.
var selfShown = map[string]bool{"buffer.records": true, "uplink.connected": true, "uplink.reconnects": true, "process.rss": true, "clock.synced": true}

func (p *provider) metrics(msg message) string {
	var b strings.Builder
	for _, m := range msg.Metrics {
		if msg.Device == "gateway" && !selfShown[m.Name] {
			continue
		}
		if demoHidden[m.Name] || strings.HasPrefix(m.Name, "device.") {
			continue
		}
		v := m.Value
		if m.Name == "process.rss" {
			if f, ok := v.(float64); ok {
				v = fmt.Sprintf("%.1f", f/(1<<20))
				m.Unit = "MiB"
			}
		}
		fmt.Fprintf(&b, "%s=%v%s ", m.Name, v, m.Unit)
	}
	return strings.TrimSpace(b.String())
}

// settle waits until no message arrived for a while (bounded).
func (p *provider) settle(quiet time.Duration) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		last := p.lastRecv
		p.mu.Unlock()
		if time.Since(last) >= quiet {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (p *provider) summary() Summary {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.sum
	seqs := make([]uint64, 0, len(p.seen))
	for q := range p.seen {
		seqs = append(seqs, q)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	for i := 1; i < len(seqs); i++ {
		for q := seqs[i-1] + 1; q < seqs[i] && len(s.Gaps) < 100; q++ {
			s.Gaps = append(s.Gaps, q)
		}
	}
	return s
}

func (p *provider) stop() { p.client.Disconnect(250) }
