//go:build vmtest

package vmtest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/praxisgate/praxisgate/buffer"
	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
	"github.com/praxisgate/praxisgate/gateway/coldchain"
	"github.com/praxisgate/praxisgate/gateway/config"
	"github.com/praxisgate/praxisgate/gateway/contract"
	"github.com/praxisgate/praxisgate/gateway/uplink"
)

// The power-cut test's gateway: its site, name and cold-chain fridge.
const (
	cutSite    = "cut"
	cutGateway = "gw"
	cutFridge  = "fridge1"
)

// TestPowerCutBuffer cuts the power of a guest whose gateway parts run as
// on the box: eight goroutines append to the badger buffer (package buffer
// as it is), a cold-chain recorder closes fridge days and appends their
// coldchain.daily events, and the uplink publishes the buffer to a real
// Mosquitto on the host (QoS 1, deleting what the broker acknowledged).
// A record counts as acknowledged once Append returned and the
// acknowledgement left the guest.
//
// After every cut: the buffer opens without repair and holds, under its
// seq and byte for byte, every acknowledged record that has not reached
// the broker; the cold-chain record verifies. At the end the buffer is
// drained and every acknowledged record must have reached the broker's
// subscriber exactly as appended (seq added by the uplink), and every copy
// of every seq (duplicates after a lost PUBACK) must be byte-identical: a
// seq handed out twice would show as two payloads.
func TestPowerCutBuffer(t *testing.T) {
	if InGuest() {
		guestBuffer(t)
		return
	}
	// 20 cuts in the gate (issue 17); `make powercut-soak` runs 200.
	cuts := 20
	if s := os.Getenv("VMTEST_BUFFER_CUTS"); s != "" {
		cuts, _ = strconv.Atoi(s)
	}
	broker := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{
		// An online subscriber must never have a QoS 1 message dropped
		// for a full queue: that would read as a loss.
		Extra: []string{"max_queued_messages 0", "max_inflight_messages 0"},
	})
	sub := newCutSubscriber(t, broker.URL())
	owed := func(acked []string) []string {
		sub.settle()
		var out []string
		for _, k := range acked {
			seq, _, _ := parseCutKey(t, k)
			if !sub.has(seq) {
				out = append(out, k)
			}
		}
		return out
	}
	opts := Options{
		MemoryMiB: 768,
		Net:       true,
		Modules:   NetModules,
		Env:       []string{"VMTEST_BROKER=" + fmt.Sprintf("tcp://%s:%d", HostAddr, broker.Port)},
		Timeout:   4 * time.Minute,
	}
	rep := PowerCutsOwed(t, opts, cuts, 150, owed)

	// The final boot drained the buffer: every acknowledged record is at
	// the subscriber, and every copy of every seq is what was appended.
	want := map[uint64]string{}
	for _, k := range rep.Keys {
		seq, topic, payload := parseCutKey(t, k)
		want[seq] = contract.Root(config.DefaultPrefix, cutSite, cutGateway) + "/" + topic + "|" + string(contract.WithSeq([]byte(payload), seq))
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		missing := 0
		for seq := range want {
			if !sub.has(seq) {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged records never reached the broker's subscriber", missing, len(want))
		}
		time.Sleep(100 * time.Millisecond)
	}
	copies, dups, events := 0, 0, 0
	for seq, got := range sub.all() {
		for i, c := range got {
			copies++
			if i > 0 {
				dups++
			}
			if c != got[0] {
				t.Errorf("seq %d delivered as two different records:\n%s\n%s", seq, got[0], c)
			}
		}
		if strings.Contains(got[0], `"type":"`+coldchain.DailyEvent+`"`) {
			events++
		}
		if w, ok := want[seq]; ok && got[0] != w {
			t.Errorf("seq %d arrived changed:\ngot  %s\nwant %s", seq, got[0], w)
		}
	}
	t.Logf("%d power cuts, %d acknowledged records, 0 lost: %d distinct seqs at the broker's subscriber (%d coldchain.daily), %d copies, %d byte-identical duplicates; checks after each boot found %v",
		rep.Cuts, rep.Acked, len(sub.all()), events, copies, dups, rep.Verified)
}

// parseCutKey splits an acknowledgement "seq:topic|payload".
func parseCutKey(t testing.TB, k string) (uint64, string, string) {
	t.Helper()
	s, rest, ok1 := strings.Cut(k, ":")
	topic, payload, ok2 := strings.Cut(rest, "|")
	seq, err := strconv.ParseUint(s, 10, 64)
	if !ok1 || !ok2 || err != nil {
		t.Fatalf("bad ack %q", k)
	}
	return seq, topic, payload
}

// cutSubscriber is the provider's side: a QoS 1 subscription to
// everything, recording each copy of each seq as "topic|payload".
type cutSubscriber struct {
	mu   sync.Mutex
	seqs map[uint64][]string
	n    int
}

func newCutSubscriber(t *testing.T, url string) *cutSubscriber {
	t.Helper()
	s := &cutSubscriber{seqs: map[uint64][]string{}}
	handler := func(_ mqtt.Client, m mqtt.Message) {
		var head struct {
			Seq *uint64 `json:"seq"`
		}
		if json.Unmarshal(m.Payload(), &head) != nil || head.Seq == nil {
			return // retained status, not a buffered record
		}
		s.mu.Lock()
		s.seqs[*head.Seq] = append(s.seqs[*head.Seq], m.Topic()+"|"+string(m.Payload()))
		s.n++
		s.mu.Unlock()
	}
	o := mqtt.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("cut-subscriber-%d", os.Getpid())).
		SetCleanSession(true).SetAutoReconnect(true).SetConnectTimeout(5 * time.Second).
		SetOrderMatters(false).SetMessageChannelDepth(100000)
	c := mqtt.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber connect: %v", tok.Error())
	}
	if tok := c.Subscribe("#", 1, handler); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	c.AddRoute("#", handler)
	t.Cleanup(func() { c.Disconnect(100) })
	return s
}

func (s *cutSubscriber) has(seq uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seqs[seq]) > 0
}

func (s *cutSubscriber) all() map[uint64][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[uint64][]string, len(s.seqs))
	for k, v := range s.seqs {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// settle waits until nothing has arrived for half a second (bounded), so
// what the broker took before the cut is counted before the next boot.
func (s *cutSubscriber) settle() {
	last, since := -1, time.Now()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		s.mu.Lock()
		n := s.n
		s.mu.Unlock()
		if n != last {
			last, since = n, time.Now()
		} else if time.Since(since) > 500*time.Millisecond {
			return
		}
	}
}

// cutEpoch is the cold-chain clock of boot 0; each boot starts 40 days
// later and advances it 10 minutes per reading (at most 39 days), so boots
// never overlap and the days between two boots are an outage: days of no
// data in the record.
var cutEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func guestBuffer(t *testing.T) {
	r := CutRound(t)
	if err := MountDisk("/dev/vda", "/mnt", "ext4"); err != nil {
		t.Fatal(err)
	}
	if err := NetUp(); err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelWarn}))
	db, err := buffer.Open("/mnt/buffer", buffer.Options{Logger: quiet})
	if err != nil {
		t.Fatalf("the buffer does not open after the power cut: %v", err)
	}
	defer db.Close()
	st := db.Stats()
	got := map[uint64]string{}
	for int64(len(got)) < st.Records {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		recs, err := db.Next(ctx, 1000)
		cancel()
		if err != nil {
			t.Fatalf("read back after %d of %d records: %v", len(got), st.Records, err)
		}
		for _, rec := range recs {
			if _, dup := got[rec.Seq]; dup {
				t.Fatalf("seq %d read twice", rec.Seq)
			}
			got[rec.Seq] = rec.Topic + "|" + string(rec.Payload)
		}
	}
	db.Rewind()
	lost, changed := 0, 0
	var maxSeq uint64
	for _, k := range r.Acked {
		seq, topic, payload := parseCutKey(t, k)
		want := topic + "|" + payload
		maxSeq = max(maxSeq, seq)
		have, ok := got[seq]
		switch {
		case !ok:
			lost++
			t.Errorf("acknowledged seq %d (%s) neither reached the broker nor is in the buffer", seq, want)
		case have != want:
			changed++
			t.Errorf("acknowledged seq %d holds %q, want %q", seq, have, want)
		}
	}
	if st.LastSeq < maxSeq {
		t.Errorf("last seq %d is below the acknowledged seq %d: seqs would be handed out again", st.LastSeq, maxSeq)
	}
	// The cold-chain record: New repairs a torn last line by itself (no
	// hand needed), then the chain must verify.
	// The day in progress is saved every 6 hours of its clock (4 fsyncs a
	// day), so days close quickly enough to be cut while they do.
	cc, err := coldchain.New(coldchain.Options{Dir: "/mnt/coldchain", Location: time.UTC, Log: quiet, SaveEvery: 6 * time.Hour,
		Fridges: []coldchain.Fridge{{ID: cutFridge, Metric: "temperature", Low: 2, High: 8, Interval: 10 * time.Minute, Hold: 30 * time.Minute}},
		Now:     func() time.Time { return cutEpoch.AddDate(0, 0, 40*r.Index) }})
	if err != nil {
		t.Fatalf("the cold-chain record does not open after the power cut: %v", err)
	}
	status, err := coldchain.Check("/mnt/coldchain", cutFridge)
	if err != nil {
		t.Fatalf("cold-chain check: %v", err)
	}
	if !status.Intact() {
		t.Errorf("the cold-chain record does not verify after the power cut: %v", status.Breaks)
	}
	t.Logf("buffer: %d records, last seq %d; %d acknowledged records owed: %d lost, %d changed; cold chain: %d days, intact %v",
		st.Records, st.LastSeq, len(r.Acked), lost, changed, status.Days, status.Intact())
	if t.Failed() {
		t.FailNow()
	}

	origin := contract.Origin{Gateway: cutGateway, Boot: fmt.Sprintf("boot-%d", r.Index)}
	up, err := uplink.New(uplink.Options{
		Config: config.Uplink{Broker: os.Getenv("VMTEST_BROKER"), KeepAlive: 5 * time.Second, ConnectTimeout: 5 * time.Second,
			WriteTimeout: 5 * time.Second, BackoffMin: 50 * time.Millisecond, BackoffMax: 500 * time.Millisecond, MaxInflight: 32},
		Site: cutSite, Gateway: cutGateway, Origin: origin, Version: "powercut", Logger: quiet,
	}, db)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- up.Run(ctx) }()
	for deadline := time.Now().Add(60 * time.Second); !up.Connected(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the uplink did not reach the host's broker %s", os.Getenv("VMTEST_BROKER"))
		}
	}
	if r.Final {
		for deadline := time.Now().Add(2 * time.Minute); db.Stats().Records > 0; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the buffer still holds %d records after 2 minutes connected", db.Stats().Records)
			}
		}
		cancel()
		if err := <-ran; err != nil {
			t.Fatal(err)
		}
		r.Verified(len(got))
		return
	}
	r.Verified(len(got))

	appendAck := func(recs []buffer.Record) error {
		if err := db.Append(context.Background(), recs); err != nil {
			return err
		}
		for _, rec := range recs {
			if err := r.Ack(fmt.Sprintf("%d:%s|%s", rec.Seq, rec.Topic, rec.Payload)); err != nil {
				return err
			}
		}
		return nil
	}
	var wg sync.WaitGroup
	errs := make(chan error, 9)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dev := fmt.Sprintf("dev%d", g)
			for i := range 100000 {
				st := contract.Stamp{Time: time.Now(), Synced: true}
				var rec buffer.Record
				if i%10 == 0 {
					b, err := origin.EncodeEvent(drivers.Event{Device: dev, Type: "test.tick", Severity: drivers.Info, Message: "tick",
						Attrs: map[string]any{"boot": r.Index, "i": i}}, st)
					if err != nil {
						errs <- err
						return
					}
					rec = buffer.Record{Class: buffer.Event, Topic: contract.EventTopic(dev), Payload: b}
				} else {
					b, err := origin.EncodeTelemetry(drivers.Sample{Device: dev, Kind: "test", Metrics: []drivers.Metric{
						drivers.Num("test.boot", float64(r.Index), ""), drivers.Num("test.i", float64(i), ""),
					}}, st)
					if err != nil {
						errs <- err
						return
					}
					rec = buffer.Record{Class: buffer.Telemetry, Topic: contract.TelemetryTopic(dev), Payload: b}
				}
				if err := appendAck([]buffer.Record{rec}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	// The fridge: one reading per 10 minutes of cold-chain time, a
	// warm spell now and then; every day closed is a coldchain.daily
	// event in the buffer, as the gateway appends it.
	wg.Add(1)
	go func() {
		defer wg.Done()
		at := cutEpoch.AddDate(0, 0, 40*r.Index)
		for n := range 39 * 144 {
			at = at.Add(10 * time.Minute)
			v := 5.0
			if n%200 > 190 {
				v = 9.5
			}
			cc.Observe(drivers.Sample{Device: cutFridge, Kind: "fridge", Time: at, Metrics: []drivers.Metric{drivers.Num("temperature", v, "°C")}})
			for _, ev := range cc.Tick(at) {
				b, err := origin.EncodeEvent(ev, contract.Stamp{Time: at, Synced: true})
				if err != nil {
					errs <- err
					return
				}
				if err := appendAck([]buffer.Record{{Class: buffer.Event, Topic: contract.EventTopic(ev.Device), Payload: b}}); err != nil {
					errs <- err
					return
				}
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Fatal("the power was not cut")
}
