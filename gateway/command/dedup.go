package command

import (
	"sync"
	"time"
)

// dedup remembers, per command id, whether it is running and the reply
// messages it produced, so a QoS 1 redelivery (or the provider resending
// after a timeout) gets the same answer again instead of running the
// command twice. Bounded in entries and age.
type dedup struct {
	mu      sync.Mutex
	max     int
	ttl     time.Duration
	entries map[string]*dedupEntry
	order   []string // insertion order, for eviction
}

type dedupEntry struct {
	done    bool
	replies [][]byte
	at      time.Time
}

func newDedup(max int, ttl time.Duration) *dedup {
	return &dedup{max: max, ttl: ttl, entries: map[string]*dedupEntry{}}
}

// begin claims id. It returns first=true when the command should run; else
// the stored replies (nil while the first delivery is still running, in
// which case its reply is still to come).
func (d *dedup) begin(id string, now time.Time) (first bool, replies [][]byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if e, ok := d.entries[id]; ok && now.Sub(e.at) < d.ttl {
		return false, e.replies
	}
	d.evict(now)
	d.entries[id] = &dedupEntry{at: now}
	d.order = append(d.order, id)
	return true, nil
}

// finish stores the replies of id.
func (d *dedup) finish(id string, replies [][]byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if e, ok := d.entries[id]; ok {
		e.done, e.replies = true, replies
	}
}

// evict drops expired entries and, when still full, the oldest finished.
func (d *dedup) evict(now time.Time) {
	keep := d.order[:0]
	for _, id := range d.order {
		e, ok := d.entries[id]
		if !ok {
			continue
		}
		if now.Sub(e.at) >= d.ttl || (len(d.entries) >= d.max && e.done) {
			delete(d.entries, id)
			continue
		}
		keep = append(keep, id)
	}
	d.order = keep
}

// forget drops id, so that a later delivery runs it.
func (d *dedup) forget(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.entries, id)
}
