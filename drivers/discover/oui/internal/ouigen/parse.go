package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// entry is one MA-L assignment.
type entry struct {
	prefix uint32
	org    string
}

// parseCSV reads the IEEE registry CSV (Registry,Assignment,Organization
// Name,Organization Address). It keeps MA-L rows only: MA-M and MA-S blocks
// share their 24-bit prefix with many organisations, so the prefix alone
// would name the wrong one. Entries come back sorted by prefix without
// duplicates, because Lookup relies on a binary search.
func parseCSV(r io.Reader) ([]entry, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	if len(head) < 3 || strings.TrimPrefix(head[0], "\ufeff") != "Registry" || head[1] != "Assignment" {
		return nil, fmt.Errorf("header %q is not the IEEE registry layout", head)
	}
	var out []entry
	seen := map[uint32]bool{}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if len(rec) < 3 {
			return nil, fmt.Errorf("line %d: %d fields, want at least 3", line, len(rec))
		}
		if rec[0] != "MA-L" {
			continue
		}
		a := strings.TrimSpace(rec[1])
		if len(a) != 6 {
			return nil, fmt.Errorf("line %d: assignment %q is not 6 hex digits", line, a)
		}
		p, err := strconv.ParseUint(a, 16, 32)
		if err != nil {
			return nil, fmt.Errorf("line %d: assignment %q: %w", line, a, err)
		}
		org := strings.Join(strings.Fields(rec[2]), " ")
		if org == "" {
			return nil, fmt.Errorf("line %d: empty organisation for %s", line, a)
		}
		if seen[uint32(p)] {
			// The registry really lists a few historic prefixes more than
			// once (080030: three organisations). Keep the first, so the
			// result does not depend on map or sort order.
			continue
		}
		seen[uint32(p)] = true
		out = append(out, entry{prefix: uint32(p), org: org})
	}
	if len(out) == 0 {
		return nil, errors.New("no MA-L rows")
	}
	sort.Slice(out, func(i, j int) bool { return out[i].prefix < out[j].prefix })
	return out, nil
}
