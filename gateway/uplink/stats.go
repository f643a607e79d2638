package uplink

import (
	"math"
	"time"
)

// Stats is a snapshot for the web page, self-telemetry and tests.
type Stats struct {
	// Connected is true while a connection is up and serving.
	Connected bool
	// ConnectedSince is when the current connection came up.
	ConnectedSince time.Time
	// Generation numbers connections, starting at 1.
	Generation uint64
	// Reconnects counts connections established after the first one.
	Reconnects int64
	// Published counts buffer records acknowledged by the broker.
	Published int64
	// LastPublish is when the last PUBACK for a record was processed.
	LastPublish time.Time
	// Inflight is how many records await PUBACK right now.
	Inflight int
	// PublishRate is an exponentially weighted moving average of
	// acknowledged records per second (time constant rateWindow).
	PublishRate float64
	// LastError is the most recent connection or publish error.
	LastError string
}

// rateWindow is the EWMA time constant: long enough to smooth the burst
// pattern of batched acks, short enough to show a drain's speed.
const rateWindow = 5 * time.Second

// ewma tracks a rate from a monotonically increasing counter.
type ewma struct {
	rate      float64
	lastCount int64
	lastAt    time.Time
}

// update folds the counter into the average; samples closer than 250 ms
// are merged with the next one to keep the estimate stable.
func (e *ewma) update(now time.Time, count int64) {
	if e.lastAt.IsZero() {
		e.lastAt, e.lastCount = now, count
		return
	}
	dt := now.Sub(e.lastAt)
	if dt < 250*time.Millisecond {
		return
	}
	inst := float64(count-e.lastCount) / dt.Seconds()
	alpha := 1 - math.Exp(-dt.Seconds()/rateWindow.Seconds())
	e.rate += alpha * (inst - e.rate)
	e.lastAt, e.lastCount = now, count
}
