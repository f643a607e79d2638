package buffer

import "time"

// evictBatch is how many victims one scan collects before deleting them.
const evictBatch = 512

// evict enforces MaxBytes and MaxAge inside the cycle's transactions, so
// the durable state after the fsync is always within bounds.
func (d *DB) evict(w *txnWriter, now time.Time) error {
	if err := evictBytes(w, d.opts.MaxBytes); err != nil {
		return err
	}
	return evictAge(w, now.Add(-d.opts.MaxAge).UnixNano())
}

// evictBytes drops the oldest telemetry until the logical size fits
// limit, and events only once no telemetry is left: alarms matter more
// than readings.
func evictBytes(w *txnWriter, limit int64) error {
	for _, c := range [...]Class{Telemetry, Event} {
		for w.st.totalBytes() > limit && w.st.class(c).count > 0 {
			need := w.st.totalBytes() - limit
			var freed int64
			vs, err := w.scan(c, evictBatch, func(_ int64, size int64) bool {
				if freed >= need {
					return false
				}
				freed += size
				return true
			})
			if err != nil {
				return err
			}
			if len(vs) == 0 {
				break
			}
			w.st.pendWhy |= whyBytes
			for _, v := range vs {
				if err := w.remove(c, v.seq, v.size, true); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// evictAge drops records created before cutoff (unix ns). Records are
// walked in seq order and the walk stops at the first younger one, so a
// clock that jumped backwards only delays eviction, never drops new data.
func evictAge(w *txnWriter, cutoff int64) error {
	for _, c := range [...]Class{Telemetry, Event} {
		for {
			cm := w.st.class(c)
			if cm.count == 0 || (!w.headDirty[classIndex(c)] && cm.headCreated >= cutoff) {
				break
			}
			vs, err := w.scan(c, evictBatch, func(created int64, _ int64) bool { return created < cutoff })
			if err != nil {
				return err
			}
			if len(vs) > 0 {
				w.st.pendWhy |= whyAge
			}
			for _, v := range vs {
				if err := w.remove(c, v.seq, v.size, true); err != nil {
					return err
				}
			}
			if len(vs) < evictBatch {
				break
			}
		}
	}
	return nil
}
