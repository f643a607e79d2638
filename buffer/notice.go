package buffer

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Notice is something the buffer did or found on its own that the
// provider must hear about: records evicted, damage found and repaired at
// Open, records lost. The buffer stores it as an Event record of its own
// (Options.NoticeRecord builds the record), in the same transaction as the
// evictions it reports, so no eviction or loss goes unreported, even
// across a crash.
type Notice struct {
	// Type is dotted: "buffer.evicted" or "buffer.damaged".
	Type string
	// Severity is "minor" (evictions by the configured bounds) or "major"
	// (evictions because the disk ran short, damage, loss).
	Severity string
	// Message is a short English sentence.
	Message string
	// Attrs carries the counts and seq ranges (JSON-encodable values).
	Attrs map[string]any
}

// noticeEvery is how often, at most, evictions are reported: evictions
// after the first are summed up in the meta record until this much time
// has passed, so a full buffer evicting a little on every commit sends one
// event a minute, not one per commit.
const noticeEvery = time.Minute

// evictNotice sums up the pending evictions of st.
func evictNotice(st *meta) Notice {
	var why []string
	sev := "minor"
	if st.pendWhy&whyBytes != 0 {
		why = append(why, "max_bytes")
	}
	if st.pendWhy&whyAge != 0 {
		why = append(why, "max_age")
	}
	if st.pendWhy&whyDisk != 0 {
		why = append(why, "disk_reserve")
		sev = "major"
	}
	attrs := map[string]any{"reason": strings.Join(why, ",")}
	var total int64
	var parts []string
	for _, c := range classes {
		p := st.class(c).pend
		if p.count == 0 {
			continue
		}
		if c == Event {
			sev = "major"
		}
		total += p.count
		attrs[c.String()+"_records"] = p.count
		attrs[c.String()+"_bytes"] = p.bytes
		attrs[c.String()+"_first_seq"] = p.firstSeq
		attrs[c.String()+"_last_seq"] = p.lastSeq
		parts = append(parts, fmt.Sprintf("%d %s records (seq %d-%d)", p.count, c, p.firstSeq, p.lastSeq))
	}
	attrs["records"] = total
	return Notice{
		Type:     "buffer.evicted",
		Severity: sev,
		Message:  fmt.Sprintf("buffer evicted %s (%s) before they were sent", strings.Join(parts, " and "), attrs["reason"]),
		Attrs:    attrs,
	}
}

// hasPending reports whether st holds evictions not yet reported.
func (m *meta) hasPending() bool { return m.cls[0].pend.count > 0 || m.cls[1].pend.count > 0 }

// clearPending forgets reported evictions.
func (m *meta) clearPending() {
	m.cls[0].pend, m.cls[1].pend, m.pendWhy = evictRange{}, evictRange{}, 0
}

// putNotice stores n as an Event record in w's transaction (when the
// options can build one) and logs it either way.
func (d *DB) putNotice(w *txnWriter, n Notice, now time.Time) error {
	level := slog.LevelWarn
	if n.Severity == "major" {
		level = slog.LevelError
	}
	args := []any{"type", n.Type}
	for k, v := range n.Attrs {
		args = append(args, k, v)
	}
	d.log.Log(context.Background(), level, "buffer: "+n.Message, args...)
	if d.opts.NoticeRecord == nil {
		return nil
	}
	r, err := d.opts.NoticeRecord(n)
	if err != nil {
		d.log.Error("buffer: cannot encode notice; it is only in this log", "type", n.Type, "err", err)
		return nil
	}
	r.Class, r.Seq, r.Created = Event, w.st.lastSeq+1, now
	if err := w.put(r, encodeValue(now, r.Topic, r.Payload)); err != nil {
		return fmt.Errorf("buffer: store notice %s: %w", n.Type, err)
	}
	return nil
}

// reportEvictions turns the pending evictions into a notice when the last
// one is at least noticeEvery old. Called inside a cycle, after evict.
func (d *DB) reportEvictions(w *txnWriter, now time.Time) error {
	if !w.st.hasPending() || (!d.lastEvictNotice.IsZero() && now.Sub(d.lastEvictNotice) < d.noticeEvery) {
		return nil
	}
	n := evictNotice(&w.st)
	w.st.clearPending()
	if err := d.putNotice(w, n, now); err != nil {
		return err
	}
	d.lastEvictNotice = now
	return nil
}
