package snmp

import (
	"math"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

// rates turns counters into per-second rates between two polls. SNMP
// counters only mean something as differences: they wrap (Counter32 at 2^32,
// which ifInOctets reaches in 34 s at 1 Gbit/s) and start again from zero
// when the agent restarts, which would show as a huge spike or a negative
// rate if taken at face value.
type rates struct {
	last   map[string]uint64
	at     time.Time
	uptime float64 // agent's sysUpTime in seconds at the last poll, -1 unknown
}

func newRates() *rates { return &rates{last: map[string]uint64{}, uptime: -1} }

// update returns the rates for this poll. uptime is the agent's sysUpTime in
// seconds (negative when unknown); a smaller value than last time means the
// agent restarted, and every counter starts over without a rate.
func (r *rates) update(now time.Time, uptime float64, cs []counterValue) (out []drivers.Metric, restarted bool) {
	restarted = uptime >= 0 && r.uptime >= 0 && uptime < r.uptime
	dt := now.Sub(r.at).Seconds()
	if restarted || r.at.IsZero() || dt <= 0 {
		r.reset(now, uptime, cs)
		return nil, restarted
	}
	next := make(map[string]uint64, len(cs))
	for _, c := range cs {
		next[c.name] = c.value
		prev, ok := r.last[c.name]
		if !ok {
			continue
		}
		d, ok := counterDelta(prev, c.value, c.bits)
		if !ok {
			continue
		}
		scale := c.scale
		if scale == 0 {
			scale = 1
		}
		out = append(out, drivers.Num(c.name, round(float64(d)*scale/dt), c.unit))
	}
	r.last, r.at, r.uptime = next, now, uptime
	return out, false
}

func (r *rates) reset(now time.Time, uptime float64, cs []counterValue) {
	r.last = make(map[string]uint64, len(cs))
	for _, c := range cs {
		r.last[c.name] = c.value
	}
	r.at, r.uptime = now, uptime
}

// counterDelta is cur-prev for a counter of the given width, allowing one
// wrap. Counters are kept as integers because a float64 cannot tell
// 2^64-10 from 2^64. A "wrap" that would mean more than half the counter's
// range passed between two polls is far likelier a reset (counter
// discontinuity, RFC 2578 7.1.6), so it gives no delta instead of a spike.
func counterDelta(prev, cur uint64, bits int) (uint64, bool) {
	if cur >= prev {
		return cur - prev, true
	}
	switch bits {
	case 32:
		if prev > math.MaxUint32 || cur > math.MaxUint32 {
			return 0, false
		}
		d := uint64(uint32(cur - prev))
		return d, d <= 1<<31
	case 64:
		d := cur - prev // wraps modulo 2^64
		return d, d <= 1<<63
	}
	return 0, false
}
