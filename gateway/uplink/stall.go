package uplink

import (
	"fmt"
	"log/slog"
)

// stallAfter is how many connections in a row may die before the first
// PUBACK before the uplink raises an error.
const stallAfter = 5

// recordInfo describes a record for the stall diagnosis (never its
// payload, which could be large).
type recordInfo struct {
	seq   uint64
	topic string
	size  int
}

// stallWatch notices a broker that drops the connection every time, before
// acknowledging anything: typically it refuses one record (larger than its
// packet limit, or a topic its ACL answers with a disconnect). Because the
// uplink resends oldest first, such a record blocks the queue; the watch
// names it in one error line so an operator can act. It does not drop the
// record: telling a poison record from a flapping link is not safe enough
// to destroy data automatically.
type stallWatch struct {
	streak   int
	reported bool
}

// observe is called after each lost generation with its pump (nil when
// the generation ended before publishing).
func (s *stallWatch) observe(p *pump, log *slog.Logger) {
	if p == nil || p.sent.Load() == 0 {
		return // nothing was tried: no evidence either way
	}
	if p.acked.Load() > 0 {
		if s.reported {
			log.Info("uplink: records are acknowledged again")
		}
		s.streak, s.reported = 0, false
		return
	}
	s.streak++
	if s.streak >= stallAfter && !s.reported {
		s.reported = true
		first := p.first.Load()
		log.Error(fmt.Sprintf("uplink: the broker dropped %d connections in a row before acknowledging any record; it may be refusing the oldest one (too large for its packet limit, or denied by an ACL that disconnects)", s.streak),
			"oldest_seq", first.seq, "topic", first.topic, "payload_bytes", first.size)
	}
}
