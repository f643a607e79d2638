package coldchain

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Record is one fridge's cold-chain day. It is stored as one JSON line in
// <dir>/<device>/<year>.jsonl; those bytes, exactly as stored, are the
// record's canonical form, and the next day's record carries their
// SHA-256 in Prev. Changing, removing or inserting a day therefore breaks
// the chain, which Verify reports.
type Record struct {
	// Date is the local calendar day (YYYY-MM-DD in TZ).
	Date   string `json:"date"`
	Device string `json:"device"`
	TZ     string `json:"tz"`
	// Low and High are the band the excursions are measured against.
	Low  float64 `json:"low_c"`
	High float64 `json:"high_c"`
	// Samples is the number of readings; Min, Max, Mean and MKT are null on
	// a day without readings.
	Samples int      `json:"samples"`
	Min     *float64 `json:"min_c"`
	Max     *float64 `json:"max_c"`
	Mean    *float64 `json:"mean_c"`
	MKT     *float64 `json:"mkt_c"`
	// MinutesOut is the time out of the band; MinutesNoData the time of
	// the day no reading covers (box off, sensor silent, longer gaps than
	// the hold time).
	MinutesOut    float64     `json:"minutes_out"`
	MinutesNoData float64     `json:"minutes_no_data"`
	Excursions    []Excursion `json:"excursions"`
	// Checks are the day's confirmed daily checks ("Tageskontrolle") and
	// Acks the acknowledgements of the fridge's alarms, each with who,
	// when and why (audit.go). They are part of the chained line, so
	// Verify covers them like the temperatures.
	Checks []DailyCheck `json:"checks,omitempty"`
	Acks   []Ack        `json:"acks,omitempty"`
	// OffsetC is the probe's calibration offset that was added to every
	// reading of the day (calibrate.go); nil: none configured.
	// CalibrationDue is the probe's next calibration date as configured.
	OffsetC        *float64 `json:"offset_c,omitempty"`
	CalibrationDue string   `json:"calibration_due,omitempty"`
	// Prev is the hex SHA-256 of the previous record's line; empty for
	// the device's first record.
	Prev string `json:"prev"`
}

// Excursion is a time out of the band, as far as it falls on the record's
// day.
type Excursion struct {
	// Start is the first reading out of the band (on an earlier day when
	// the excursion went on over midnight).
	Start time.Time `json:"start"`
	// End is the first reading back inside; nil when the day ended with the
	// excursion still going on.
	End *time.Time `json:"end,omitempty"`
	// Direction is above (warm) or below (freezing).
	Direction string `json:"direction"`
	// Peak is the reading farthest out of the band on this day.
	Peak float64 `json:"peak_c"`
	// Minutes is the time out of the band on this day.
	Minutes float64 `json:"minutes"`
}

// Hash is the chain hash of a record's canonical line.
func Hash(line []byte) string {
	sum := sha256.Sum256(line)
	return hex.EncodeToString(sum[:])
}

func deviceDir(dir, device string) string { return filepath.Join(dir, device) }

// yearFiles lists a device's record files oldest first.
func yearFiles(dir, device string) ([]string, error) {
	ents, err := os.ReadDir(deviceDir(dir, device))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("coldchain: list records of %s: %w", device, err)
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if len(n) == len("2006.jsonl") && strings.HasSuffix(n, ".jsonl") && !e.IsDir() {
			out = append(out, filepath.Join(deviceDir(dir, device), n))
		}
	}
	sort.Strings(out)
	return out, nil
}

// line is one stored record with where it was found.
type line struct {
	file string
	no   int
	raw  []byte
}

// readLines returns every stored line of a device, oldest first.
func readLines(dir, device string) ([]line, error) {
	files, err := yearFiles(dir, device)
	if err != nil {
		return nil, err
	}
	var out []line
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("coldchain: read %s: %w", f, err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for no := 1; sc.Scan(); no++ {
			out = append(out, line{file: f, no: no, raw: append([]byte(nil), sc.Bytes()...)})
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("coldchain: read %s: %w", f, err)
		}
	}
	return out, nil
}

// appendRecord stores a record as the next line of its year's file and
// returns the line. The write is fsynced before the chain moves on, since
// the next record's Prev commits to it.
func appendRecord(dir string, r Record) ([]byte, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("coldchain: encode record %s of %s: %w", r.Date, r.Device, err)
	}
	ddir := deviceDir(dir, r.Device)
	if err := os.MkdirAll(ddir, 0o750); err != nil {
		return nil, fmt.Errorf("coldchain: %w", err)
	}
	path := filepath.Join(ddir, r.Date[:4]+".jsonl")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("coldchain: open %s: %w", path, err)
	}
	_, werr := f.Write(append(b, '\n'))
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return nil, fmt.Errorf("coldchain: append to %s: %w", path, err)
	}
	return b, nil
}

// repairTail cuts a torn last line (a power cut during appendRecord) from
// the newest file, so the chain continues from the last complete record.
// It returns what was cut.
func repairTail(dir, device string) (int, error) {
	files, err := yearFiles(dir, device)
	if err != nil || len(files) == 0 {
		return 0, err
	}
	last := files[len(files)-1]
	b, err := os.ReadFile(last)
	if err != nil {
		return 0, fmt.Errorf("coldchain: read %s: %w", last, err)
	}
	if len(b) == 0 || b[len(b)-1] == '\n' {
		return 0, nil
	}
	keep := bytes.LastIndexByte(b, '\n') + 1
	if err := os.Truncate(last, int64(keep)); err != nil {
		return 0, fmt.Errorf("coldchain: cut torn record from %s: %w", last, err)
	}
	return len(b) - keep, nil
}

// Records returns a device's records with from ≤ Date ≤ to (YYYY-MM-DD;
// empty means unbounded), oldest first.
func Records(dir, device, from, to string) ([]Record, error) {
	lines, err := readLines(dir, device)
	if err != nil {
		return nil, err
	}
	var out []Record
	for _, l := range lines {
		var r Record
		if err := json.Unmarshal(l.raw, &r); err != nil {
			return nil, fmt.Errorf("coldchain: %s line %d: %w", l.file, l.no, err)
		}
		if (from == "" || r.Date >= from) && (to == "" || r.Date <= to) {
			out = append(out, r)
		}
	}
	return out, nil
}
