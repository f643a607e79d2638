package uplink

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/buffer"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
)

// TestDeliversAndEmptiesBuffer: records appended before and during the run
// all reach an independent subscriber, and the buffer ends empty because
// every record was acknowledged by PUBACK.
func TestDeliversAndEmptiesBuffer(t *testing.T) {
	m := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{})
	obs := newObserver(t, m.URL(), testRoot+"/#", false)
	q := buffer.NewMemory(buffer.Options{})
	want := map[uint64][]byte{}
	var recs []buffer.Record
	for i := range 300 {
		recs = append(recs, telemetry(t, fmt.Sprintf("dev-%d", i%3), i))
	}
	for i, s := range appendAll(t, q, recs) {
		want[s] = recs[i].Payload
	}
	r := startUplink(t, testConfig(m.URL()), q)
	more := []buffer.Record{event(t, "dev-1", "alarm.raised")}
	for i := range 200 {
		more = append(more, telemetry(t, fmt.Sprintf("dev-%d", i%3), 300+i))
	}
	for i, s := range appendAll(t, q, more) {
		want[s] = more[i].Payload
	}
	waitFor(t, 30*time.Second, "all records at the subscriber and the buffer empty", func() bool {
		return obs.distinct() >= len(want) && q.Stats().Records == 0
	})
	checkDelivered(t, obs, want)
	st := r.Stats()
	if !st.Connected || st.Published < int64(len(want)) || st.Generation != 1 {
		t.Errorf("stats = %+v, want connected, generation 1, published >= %d", st, len(want))
	}
}

// TestBrokerRestartLosesNothing stops the broker mid-stream while records
// keep being appended and starts it again: every seq reaches the
// subscriber, per-device order holds after de-duplication, and the buffer
// ends empty.
func TestBrokerRestartLosesNothing(t *testing.T) {
	// The observer keeps a persistent session on a broker that saves it at
	// shutdown, so it misses nothing published while it reconnects.
	m := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{Persistence: true})
	obs := newObserver(t, m.URL(), testRoot+"/#", true)
	q := buffer.NewMemory(buffer.Options{})
	r := startUplink(t, testConfig(m.URL()), q)

	const total = 4000
	var mu sync.Mutex
	want := map[uint64][]byte{}
	appended := make(chan struct{})
	go func() {
		defer close(appended)
		for i := range total {
			rec := telemetry(t, fmt.Sprintf("dev-%d", i%4), i)
			if i%500 == 250 {
				rec = event(t, fmt.Sprintf("dev-%d", i%4), "alarm.raised")
			}
			recs := []buffer.Record{rec}
			if err := q.Append(t.Context(), recs); err != nil {
				t.Errorf("append: %v", err)
				return
			}
			mu.Lock()
			want[recs[0].Seq] = rec.Payload
			mu.Unlock()
			if i%50 == 0 {
				time.Sleep(5 * time.Millisecond) // a steady stream, not one burst
			}
		}
	}()
	waitFor(t, 30*time.Second, "a third of the stream at the subscriber", func() bool { return obs.distinct() >= total/3 })
	m.Stop()
	waitFor(t, 10*time.Second, "the uplink to notice the broker is gone", func() bool { return !r.Connected() })
	time.Sleep(300 * time.Millisecond) // let the backlog grow and backoff run
	m.Restart()
	<-appended
	waitFor(t, 60*time.Second, "all records at the subscriber and the buffer empty", func() bool {
		return obs.distinct() >= total && q.Stats().Records == 0
	})
	mu.Lock()
	checkDelivered(t, obs, want)
	mu.Unlock()
	if st := r.Stats(); st.Reconnects < 1 {
		t.Errorf("stats = %+v, want at least one reconnect", st)
	}
}
