package fleetwatch

import (
	"fmt"
	"strings"
	"time"
)

// maxRanges bounds the open gaps kept per box; beyond it the oldest is
// reported at once rather than kept.
const maxRanges = 1000

// gap is a run of seqs lo..hi not seen yet, open since.
type gap struct {
	lo, hi uint64
	since  time.Time
}

// seqTrack finds seqs that stay missing within one boot. Seqs need not
// arrive in order (events overtake backlog telemetry, and a shared
// subscription spreads a box's messages over instances): a jump opens a
// gap, a late seq closes its part of it, and only a gap still open after
// the grace time is a loss.
type seqTrack struct {
	boot string
	max  uint64
	gaps []gap
}

// see records seq of boot; overflow returns gaps pushed out by maxRanges.
func (s *seqTrack) see(boot string, seq uint64, now time.Time) (overflow []gap) {
	if boot != s.boot {
		*s = seqTrack{boot: boot}
	}
	switch {
	case s.max == 0:
		s.max = seq
	case seq > s.max:
		if seq > s.max+1 {
			s.gaps = append(s.gaps, gap{s.max + 1, seq - 1, now})
			if len(s.gaps) > maxRanges {
				overflow = append(overflow, s.gaps[0])
				s.gaps = s.gaps[1:]
			}
		}
		s.max = seq
	default:
		for i, g := range s.gaps {
			if seq < g.lo || seq > g.hi {
				continue
			}
			switch {
			case g.lo == g.hi:
				s.gaps = append(s.gaps[:i], s.gaps[i+1:]...)
			case seq == g.lo:
				s.gaps[i].lo++
			case seq == g.hi:
				s.gaps[i].hi--
			default:
				rest := gap{seq + 1, g.hi, g.since}
				s.gaps[i].hi = seq - 1
				s.gaps = append(s.gaps[:i+1], append([]gap{rest}, s.gaps[i+1:]...)...)
			}
			break
		}
	}
	return overflow
}

// expired removes and returns the gaps open since before cutoff.
func (s *seqTrack) expired(cutoff time.Time) []gap {
	var out []gap
	keep := s.gaps[:0]
	for _, g := range s.gaps {
		if g.since.Before(cutoff) {
			out = append(out, g)
		} else {
			keep = append(keep, g)
		}
	}
	s.gaps = keep
	return out
}

func describeGaps(gs []gap) (text string, missing uint64) {
	var b strings.Builder
	for i, g := range gs {
		missing += g.hi - g.lo + 1
		if i == 20 {
			fmt.Fprintf(&b, " and %d more ranges", len(gs)-20)
			continue
		}
		if i > 20 {
			continue
		}
		if i > 0 {
			b.WriteString(", ")
		}
		if g.lo == g.hi {
			fmt.Fprintf(&b, "%d", g.lo)
		} else {
			fmt.Fprintf(&b, "%d-%d", g.lo, g.hi)
		}
	}
	return b.String(), missing
}
