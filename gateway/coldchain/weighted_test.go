package coldchain

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

// An on-change sensor (MQTT, Zigbee) sends bursts while the temperature
// moves and nothing while it is steady. The record's mean, MKT, minimum,
// maximum and minutes without data are checked against a brute-force
// expansion of the readings to one value per second of the day: each
// reading holds until the next one or the hold time, a reading from before
// midnight included.
func TestTimeWeightedAgainstPerSecond(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		rng := rand.New(rand.NewPCG(seed, 19))
		hold := 15 * time.Minute
		type reading struct {
			at time.Time
			v  float64
		}
		var rs []reading
		at, v := day0.Add(-2*time.Hour), 5.0
		for at.Before(day0.Add(25 * time.Hour)) {
			rs = append(rs, reading{at, v})
			var gap time.Duration
			switch {
			case rng.IntN(40) == 0:
				gap = time.Duration(1+rng.IntN(3)) * time.Hour // the sensor falls silent
			case v > 7:
				gap = time.Duration(5+rng.IntN(30)) * time.Second // a burst while warm
			default:
				gap = time.Duration(2+rng.IntN(12)) * time.Minute
			}
			at = at.Add(gap)
			switch {
			case rng.IntN(25) == 0:
				v = 9 + rng.Float64()*4 // the door opens
			case v > 7:
				v -= rng.Float64() * 0.8
			default:
				v = 3.5 + rng.Float64()*3
			}
			v = math.Round(v*100) / 100
		}

		dir := t.TempDir()
		r, err := New(Options{Dir: dir, Location: time.UTC, Fridges: []Fridge{{ID: "kuehlschrank", Low: 2, High: 8, Hold: hold}}})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range rs {
			r.Tick(x.at)
			r.Observe(temp(x.at, x.v))
		}
		r.Tick(day0.Add(26 * time.Hour))
		recs := records(t, dir)
		var rec *Record
		for i := range recs {
			if recs[i].Date == "2026-11-20" {
				rec = &recs[i]
			}
		}
		if rec == nil {
			t.Fatalf("seed %d: no record of the day: %+v", seed, recs)
		}

		// Brute force: the value standing at each second of the day.
		var vals []float64
		var eqSum float64
		eqN := 0
		for s := 0; s < 86400; s++ {
			sec := day0.Add(time.Duration(s) * time.Second)
			i := sort.Search(len(rs), func(i int) bool { return rs[i].at.After(sec) }) - 1
			if i >= 0 && sec.Before(rs[i].at.Add(hold)) {
				vals = append(vals, rs[i].v)
			}
		}
		var sum float64
		mn, mx := math.Inf(1), math.Inf(-1)
		for _, x := range vals {
			sum += x
			mn, mx = math.Min(mn, x), math.Max(mx, x)
		}
		for _, x := range rs {
			if !x.at.Before(day0) && x.at.Before(day0.Add(24*time.Hour)) {
				eqSum += x.v
				eqN++
			}
		}
		mean, mkt := sum/float64(len(vals)), MKT(vals)
		noData := float64(86400-len(vals)) / 60
		near := func(got, want float64) bool { return math.Abs(got-want) <= 0.0051 }
		if !near(*rec.Mean, mean) || !near(*rec.MKT, mkt) || *rec.Min != mn || *rec.Max != mx || math.Abs(rec.MinutesNoData-noData) > 0.051 {
			t.Fatalf("seed %d: record mean %v MKT %v min %v max %v no data %v; per second: mean %.4f MKT %.4f min %v max %v no data %.2f",
				seed, *rec.Mean, *rec.MKT, *rec.Min, *rec.Max, rec.MinutesNoData, mean, mkt, mn, mx, noData)
		}
		// The scenario is one where weighting matters: the equal-weight
		// mean of the readings is far off.
		if eq := eqSum / float64(eqN); math.Abs(eq-mean) < 0.3 {
			t.Fatalf("seed %d: equal weights give %.2f, time weights %.2f: the test data does not tell them apart", seed, eq, mean)
		}
	}
}
