package uplink

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/buffer"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
)

// TestEventsBeforeBacklogTelemetry: when the link returns to a backlog,
// the events in it go out before any telemetry, and an event raised during
// the drain overtakes the telemetry still waiting.
func TestEventsBeforeBacklogTelemetry(t *testing.T) {
	m := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{})
	obs := newObserver(t, m.URL(), testRoot+"/#", false)
	q := buffer.NewMemory(buffer.Options{})
	const backlog = 20000
	var recs []buffer.Record
	for i := range backlog {
		recs = append(recs, telemetry(t, fmt.Sprintf("dev-%d", i%5), i))
		if i%5000 == 4999 {
			recs = append(recs, event(t, "dev-1", "alarm.raised"))
		}
	}
	if err := q.Append(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	var lastTelemetry uint64
	for _, r := range recs {
		lastTelemetry = max(lastTelemetry, r.Seq)
	}
	startUplink(t, testConfig(m.URL()), q)
	waitFor(t, 30*time.Second, "1000 records at the subscriber", func() bool { return obs.distinct() >= 1000 })
	live := []buffer.Record{event(t, "dev-2", "alarm.raised")}
	if err := q.Append(t.Context(), live); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the backlog drained", func() bool { return obs.distinct() >= backlog+5 && q.Stats().Records == 0 })

	var sawTelemetry, sawLive bool
	events := 0
	for _, msg := range obs.messages() {
		switch {
		case strings.Contains(msg.Topic, "/event/"):
			events++
			if msg.Seq == live[0].Seq {
				sawLive = true
			} else if sawTelemetry {
				t.Errorf("backlog event seq %d arrived after telemetry", msg.Seq)
			}
		case strings.Contains(msg.Topic, "/telemetry/"):
			sawTelemetry = true
			if msg.Seq == lastTelemetry && !sawLive {
				t.Errorf("the live event (seq %d) arrived after the whole telemetry backlog", live[0].Seq)
			}
		}
	}
	if events != 5 {
		t.Errorf("got %d event messages, want 5", events)
	}
}
