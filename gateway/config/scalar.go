package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// parseDuration accepts Go's duration syntax (90s, 1h30m, 250ms) plus a "d"
// unit of 24 hours, because retention is naturally written in days (30d,
// 1d12h) and 720h is easy to get wrong.
func parseDuration(s string) (time.Duration, error) {
	rest := s
	neg := false
	if rest != "" && (rest[0] == '-' || rest[0] == '+') {
		neg = rest[0] == '-'
		rest = rest[1:]
	}
	if rest == "0" {
		return 0, nil
	}
	if rest == "" {
		return 0, errors.New("empty")
	}
	var total time.Duration
	for rest != "" {
		// One segment: a decimal number, then a unit made of letters.
		i := 0
		for i < len(rest) && (rest[i] == '.' || ('0' <= rest[i] && rest[i] <= '9')) {
			i++
		}
		j := i
		for j < len(rest) && rest[j] != '.' && (rest[j] < '0' || rest[j] > '9') {
			j++
		}
		num, unit := rest[:i], rest[i:j]
		rest = rest[j:]
		if num == "" {
			return 0, errors.New("no number")
		}
		if unit == "" {
			return 0, errors.New("missing unit")
		}
		var seg time.Duration
		if unit == "d" {
			h, err := time.ParseDuration(num + "h")
			if err != nil {
				return 0, err
			}
			if h > math.MaxInt64/24 {
				return 0, errors.New("too large")
			}
			seg = h * 24
		} else {
			d, err := time.ParseDuration(num + unit)
			if err != nil {
				return 0, err
			}
			seg = d
		}
		if total > math.MaxInt64-seg {
			return 0, errors.New("too large")
		}
		total += seg
	}
	if neg {
		total = -total
	}
	return total, nil
}

// byteUnits maps the size suffixes the config accepts to their factor.
// Both decimal (KB = 1000) and binary (KiB = 1024) units are allowed because
// disk vendors and technicians use both; matching is case-insensitive.
var byteUnits = map[string]int64{
	"b":   1,
	"kb":  1000,
	"mb":  1000 * 1000,
	"gb":  1000 * 1000 * 1000,
	"tb":  1000 * 1000 * 1000 * 1000,
	"kib": 1 << 10,
	"mib": 1 << 20,
	"gib": 1 << 30,
	"tib": 1 << 40,
}

// parseByteSize accepts a plain number of bytes or a number with a unit,
// optionally separated by a space: 1048576, 512MiB, 1.5 GiB.
func parseByteSize(s string) (ByteSize, error) {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && (s[i] == '.' || ('0' <= s[i] && s[i] <= '9')) {
		i++
	}
	num, unit := s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
	if num == "" {
		return 0, errors.New("no number")
	}
	factor := int64(1)
	if unit != "" {
		f, ok := byteUnits[unit]
		if !ok {
			return 0, fmt.Errorf("unknown unit %q", s[i:])
		}
		factor = f
	}
	if !strings.Contains(num, ".") {
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || n > math.MaxInt64/factor {
			return 0, errors.New("too large")
		}
		return ByteSize(n * factor), nil
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, err
	}
	v := f * float64(factor)
	if v >= math.MaxInt64 {
		return 0, errors.New("too large")
	}
	return ByteSize(v), nil
}

// String prints the size in the largest binary unit that divides it, so
// defaults read back as they are documented (2GiB, not 2147483648).
func (b ByteSize) String() string {
	for _, u := range []struct {
		name string
		f    int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if b != 0 && int64(b)%u.f == 0 {
			return strconv.FormatInt(int64(b)/u.f, 10) + u.name
		}
	}
	return strconv.FormatInt(int64(b), 10) + "B"
}

// shown quotes a scalar from the file for an error message, shortened so a
// pasted certificate does not flood the terminal.
func shown(s string) string {
	const max = 40
	r := []rune(s)
	if len(r) > max {
		return strconv.Quote(string(r[:max])) + "..."
	}
	return strconv.Quote(s)
}

// suggest returns the known key closest to an unknown one, or "" when none
// is close enough to be a likely typo.
func suggest(key string, known []string) string {
	best, bestDist := "", 3
	lk := strings.ToLower(strings.ReplaceAll(key, "-", "_"))
	for _, k := range known {
		if lk == k {
			return k
		}
		d := editDistance(lk, k)
		limit := 2
		if len(k) <= 4 {
			limit = 1
		}
		if d <= limit && d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		// Keys that long are not typos of ours; avoid quadratic work on
		// hostile input.
		return 1 << 20
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
