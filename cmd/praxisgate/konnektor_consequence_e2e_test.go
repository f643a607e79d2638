package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers/konnektor/konnektorsim"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
)

const konnektorOfflineConfig = `site: praxis-test
gateway: gw-01
state_dir: %s
uplink:
  broker: tcp://%s
  backoff_min: 100ms
  backoff_max: 500ms
self: {interval: 1s}
web: {listen: "off", redirect_listen: "off"}
devices:
  - id: konnektor
    driver: konnektor
    interval: 2s
    timeout: 2s
    unreachable_after: 2
    konnektor:
      url: %s
      ca_file: %s
      mandant_id: Mandant1
      client_system_id: praxisgate
      workplace_id: Monitoring
`

// TestKonnektorVPNDownWhileOffline runs the daemon with its link to the
// broker through a cuttable line (the practice's internet): the line goes
// down, then the connector's TI VPN. The VPN alarm is held back as a
// consequence of the box's lost uplink (alarm.suppressed, cause
// gateway/uplink.down), delivered once the line is back; the VPN staying
// down after the line returned raises it as a cause of its own
// (after_cause), and the VPN coming back clears it.
func TestKonnektorVPNDownWhileOffline(t *testing.T) {
	mq := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{})
	line := newLine(t, "127.0.0.1:"+strconv.Itoa(mq.Port))
	pki := testpeer.NewTestPKI(t)
	sim, err := konnektorsim.Start(konnektorsim.Options{CertFile: pki.ServerCert, KeyFile: pki.ServerKey})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	sim.Practice(time.Now())

	dir := t.TempDir()
	cfg := writeFile(t, dir, "c.yaml", fmt.Sprintf(konnektorOfflineConfig, dir, line.addr, sim.URL(), pki.CAFile))
	sub := subscribe(t, mq.URL(), "praxisgate/v1/#")
	startRun(t, cfg)
	root := "praxisgate/v1/praxis-test/gw-01/"
	up := `{"name":"uplink.connected","value":true}`
	waitFor(t, "a self reading with the uplink connected", 60*time.Second, func() bool { return sub.find(root+"telemetry/gateway", up) })

	line.cut()
	// Give the box a few self readings (every 1 s) without its uplink;
	// whether one came before the VPN-down poll is checked below from
	// what was recorded, not assumed from the clock.
	time.Sleep(4 * time.Second)
	sim.SetVPN(false, false)
	time.Sleep(5 * time.Second)
	line.restore()

	ev := root + "event/konnektor"
	vpn := `"condition":"konnektor.ec_no_vpn_ti_connection"`
	waitFor(t, "the VPN alarm held back", 60*time.Second, func() bool {
		return sub.findAll(ev, `"type":"alarm.suppressed"`, vpn, `"cause":"gateway/uplink.down"`)
	})
	// The precondition, from the records: the first poll that saw the VPN
	// down came after a self reading with the uplink down.
	firstDown := firstSeq(t, sub, root+"telemetry/konnektor", `{"name":"vpn.ti.online","value":false}`)
	if s := lastBefore(t, sub, root+"telemetry/gateway", firstDown); !strings.Contains(s, `{"name":"uplink.connected","value":false}`) {
		t.Fatalf("the self reading before the first VPN-down poll (seq %d) does not say the uplink is down: %s", firstDown, s)
	}
	if sub.findAll(ev, `"type":"alarm.raised"`, vpn, `"severity":"critical"`) && !sub.findAll(ev, `"type":"alarm.raised"`, vpn, `"after_cause":"gateway/uplink.down"`) {
		t.Fatal("the VPN alarm was raised as a cause while the uplink was down")
	}
	waitFor(t, "the VPN alarm raised after the line returned", 60*time.Second, func() bool {
		return sub.findAll(ev, `"type":"alarm.raised"`, vpn, `"after_cause":"gateway/uplink.down"`)
	})
	sim.SetVPN(true, false)
	waitFor(t, "the VPN alarm cleared", 60*time.Second, func() bool { return sub.findAll(ev, `"type":"alarm.cleared"`, vpn) })
}

// firstSeq is the lowest seq of the messages on topic that contain s.
func firstSeq(t *testing.T, c *collector, topic, s string) uint64 {
	t.Helper()
	var seqs []uint64
	for _, m := range c.all(topic) {
		if strings.Contains(string(m), s) {
			seqs = append(seqs, seqOf(t, m))
		}
	}
	if len(seqs) == 0 {
		t.Fatalf("no message on %s contains %s", topic, s)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	return seqs[0]
}

// lastBefore is the message on topic with the highest seq below seq.
func lastBefore(t *testing.T, c *collector, topic string, seq uint64) string {
	t.Helper()
	var best []byte
	var bestSeq uint64
	for _, m := range c.all(topic) {
		if s := seqOf(t, m); s < seq && s >= bestSeq {
			best, bestSeq = m, s
		}
	}
	return string(best)
}

func seqOf(t *testing.T, m []byte) uint64 {
	t.Helper()
	var h struct {
		Seq uint64 `json:"seq"`
	}
	if err := json.Unmarshal(m, &h); err != nil {
		t.Fatalf("message %s: %v", m, err)
	}
	return h.Seq
}

func (c *collector) all(topic string) [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.msgs[topic]...)
}

// line is a TCP relay to the broker that a test can cut, like the
// practice's internet line, while the provider's subscriber stays
// connected to the broker directly.
type line struct {
	t      *testing.T
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
}

func newLine(t *testing.T, target string) *line {
	l := &line{t: t, target: target, conns: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l.addr = ln.Addr().String()
	l.serve(ln)
	t.Cleanup(l.cut)
	return l
}

func (l *line) serve(ln net.Listener) {
	l.mu.Lock()
	l.ln = ln
	l.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go l.pipe(c)
		}
	}()
}

func (l *line) pipe(c net.Conn) {
	up, err := net.DialTimeout("tcp", l.target, 5*time.Second)
	if err != nil {
		c.Close()
		return
	}
	l.mu.Lock()
	if l.ln == nil {
		l.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	l.conns[c], l.conns[up] = true, true
	l.mu.Unlock()
	go func() { io.Copy(up, c); up.Close(); c.Close() }()
	io.Copy(c, up)
	c.Close()
	up.Close()
}

// cut refuses new connections and closes the open ones.
func (l *line) cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ln != nil {
		l.ln.Close()
		l.ln = nil
	}
	for c := range l.conns {
		c.Close()
		delete(l.conns, c)
	}
}

// restore listens again on the same address.
func (l *line) restore() {
	ln, err := net.Listen("tcp", l.addr)
	if err != nil {
		l.t.Fatalf("restore the line: %v", err)
	}
	l.serve(ln)
}
