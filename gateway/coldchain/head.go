package coldchain

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The chain head is a second, append-only file per fridge,
// <dir>/<device>/head.log, with one line "YYYY-MM-DD <sha256>" for every
// record the recorder wrote. It lives outside the day files so that editing,
// deleting or reordering days cannot also move the anchor they are checked
// against: Verify compares every record with its head line, and the
// recorder continues the chain from the head, never from whatever the day
// files hold. A line starting with "!" notes something that weakens the
// check for good (the head was found missing and rebuilt); Verify keeps
// reporting it. A line starting with "#" is a remark Verify skips (the head
// created on the first start of a version that keeps one).
const headName = "head.log"

func headFile(dir, device string) string { return filepath.Join(deviceDir(dir, device), headName) }

// headEntry is one day in the chain head.
type headEntry struct {
	line int
	date string
	hash string
}

// headNote is a "!" line of the chain head.
type headNote struct {
	line int
	text string
}

// headLog is a parsed chain head.
type headLog struct {
	exists  bool
	entries []headEntry
	notes   []headNote
	// bad are lines that are neither an entry nor a note.
	bad []headNote
}

func (h headLog) last() (headEntry, bool) {
	if len(h.entries) == 0 {
		return headEntry{}, false
	}
	return h.entries[len(h.entries)-1], true
}

func readHead(dir, device string) (headLog, error) {
	b, err := os.ReadFile(headFile(dir, device))
	if errors.Is(err, fs.ErrNotExist) {
		return headLog{}, nil
	}
	if err != nil {
		return headLog{}, fmt.Errorf("coldchain: read chain head of %s: %w", device, err)
	}
	h := headLog{exists: true}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 4<<10), 1<<20)
	for no := 1; sc.Scan(); no++ {
		s := sc.Text()
		if strings.HasPrefix(s, "#") {
			continue
		}
		if strings.HasPrefix(s, "!") {
			h.notes = append(h.notes, headNote{line: no, text: strings.TrimSpace(s[1:])})
			continue
		}
		date, hash, ok := strings.Cut(s, " ")
		if _, err := time.Parse(time.DateOnly, date); !ok || err != nil || len(hash) != 64 {
			h.bad = append(h.bad, headNote{line: no, text: s})
			continue
		}
		h.entries = append(h.entries, headEntry{line: no, date: date, hash: hash})
	}
	if err := sc.Err(); err != nil {
		return headLog{}, fmt.Errorf("coldchain: read chain head of %s: %w", device, err)
	}
	return h, nil
}

// appendHead adds lines to the chain head and fsyncs them (and, when the
// file is new, its directory).
func appendHead(dir, device string, lines ...string) error {
	ddir := deviceDir(dir, device)
	if err := os.MkdirAll(ddir, 0o750); err != nil {
		return fmt.Errorf("coldchain: %w", err)
	}
	path := headFile(dir, device)
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("coldchain: open chain head %s: %w", path, err)
	}
	var buf bytes.Buffer
	for _, l := range lines {
		buf.WriteString(l)
		buf.WriteByte('\n')
	}
	_, werr := f.Write(buf.Bytes())
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("coldchain: append to chain head %s: %w", path, err)
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		syncDir(ddir)
	}
	return nil
}

func headLine(date, hash string) string { return date + " " + hash }

// syncDir makes a new file's directory entry durable; a failure only
// weakens crash safety, so it is not reported.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// repairHeadTail cuts a torn last line of the chain head (a power cut
// while it was appended); the recorder re-adds the entry from the record
// it belongs to.
func repairHeadTail(dir, device string) (int, error) {
	path := headFile(dir, device)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("coldchain: read chain head %s: %w", path, err)
	}
	if len(b) == 0 || b[len(b)-1] == '\n' {
		return 0, nil
	}
	keep := bytes.LastIndexByte(b, '\n') + 1
	if err := os.Truncate(path, int64(keep)); err != nil {
		return 0, fmt.Errorf("coldchain: cut torn line from %s: %w", path, err)
	}
	return len(b) - keep, nil
}

// Head returns the newest entry of a device's chain head: the date and
// hash of the last day written, which the provider also holds from the
// daily event. Empty when no day was written yet.
func Head(dir, device string) (date, hash string, err error) {
	h, err := readHead(dir, device)
	if err != nil {
		return "", "", err
	}
	e, _ := h.last()
	return e.date, e.hash, nil
}
