package coldchain

import (
	"encoding/json"
	"fmt"
	"time"
)

// HashedRecord is a stored day with the SHA-256 of its stored line: the
// hash the next day's Prev and the chain head commit to, which a printed
// report shows so the day can be compared with the provider's copy.
type HashedRecord struct {
	Record
	Hash string
}

// HashedRecords returns a device's records with from ≤ Date ≤ to
// (YYYY-MM-DD; empty means unbounded), oldest first, each with its hash.
func HashedRecords(dir, device, from, to string) ([]HashedRecord, error) {
	lines, err := readLines(dir, device)
	if err != nil {
		return nil, err
	}
	var out []HashedRecord
	for _, l := range lines {
		var r Record
		if err := json.Unmarshal(l.raw, &r); err != nil {
			return nil, fmt.Errorf("coldchain: %s line %d: %w", l.file, l.no, err)
		}
		if (from == "" || r.Date >= from) && (to == "" || r.Date <= to) {
			out = append(out, HashedRecord{Record: r, Hash: Hash(l.raw)})
		}
	}
	return out, nil
}

// CurrentDay returns the day the recorder is accumulating, as last
// saved, with its figures up to now; ok is false when there is none. Its
// MinutesNoData counts only the part of the day up to now.
func CurrentDay(dir, device string, now time.Time) (Record, bool) {
	return inProgress(dir, device, now)
}
