package snmpsim

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Source returns the recording to answer from. It is called for every
// request, so a source that re-reads a changed file lets a test move counters
// forward or simulate an agent restart while snmpd keeps running.
type Source func() (*Recording, error)

// FileSource reads the snmprec file at path and reads it again whenever its
// modification time or size changes.
func FileSource(path string) Source {
	var (
		mu    sync.Mutex
		rec   *Recording
		mtime time.Time
		size  int64
	)
	return func() (*Recording, error) {
		mu.Lock()
		defer mu.Unlock()
		st, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("snmpsim: stat recording: %w", err)
		}
		if rec != nil && st.ModTime().Equal(mtime) && st.Size() == size {
			return rec, nil
		}
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("snmpsim: open recording: %w", err)
		}
		defer f.Close()
		r, err := Parse(f)
		if err != nil {
			return nil, fmt.Errorf("snmpsim: %s: %w", path, err)
		}
		rec, mtime, size = r, st.ModTime(), st.Size()
		return rec, nil
	}
}

// ServePassPersist speaks snmpd's pass_persist protocol on in/out until in
// ends: PING is answered with PONG, get and getnext with three lines (OID,
// type, value) or NONE, and set with not-writable. root limits answers to the
// subtree snmpd registered the helper for, so a GETNEXT past the end of the
// recording ends the walk instead of wandering into other subtrees. delay is
// added before every answer to play a slow agent.
func ServePassPersist(in io.Reader, out io.Writer, root OID, src Source, delay time.Duration) error {
	sc := bufio.NewScanner(in)
	w := bufio.NewWriter(out)
	next := func() (string, bool) {
		if !sc.Scan() {
			return "", false
		}
		return strings.TrimSpace(sc.Text()), true
	}
	for {
		cmd, ok := next()
		if !ok {
			return sc.Err()
		}
		var reply string
		switch strings.ToLower(cmd) {
		case "":
			continue
		case "ping":
			reply = "PONG\n"
		case "get", "getnext":
			oidText, ok := next()
			if !ok {
				return sc.Err()
			}
			reply = answer(strings.ToLower(cmd), oidText, root, src)
		case "set":
			if _, ok := next(); !ok {
				return sc.Err()
			}
			if _, ok := next(); !ok {
				return sc.Err()
			}
			reply = "not-writable\n"
		default:
			reply = "NONE\n"
		}
		if delay > 0 && reply != "PONG\n" {
			time.Sleep(delay)
		}
		if _, err := w.WriteString(reply); err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
}

func answer(cmd, oidText string, root OID, src Source) string {
	oid, err := ParseOID(oidText)
	if err != nil {
		return "NONE\n"
	}
	rec, err := src()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return "NONE\n"
	}
	if cmd == "get" {
		v, ok := rec.Get(oid)
		if !ok {
			return "NONE\n"
		}
		return render(v)
	}
	v, ok := rec.Next(oid)
	if !ok || !hasPrefix(v.OID, root) {
		return "NONE\n"
	}
	return render(v)
}

func render(v Var) string {
	return v.OID.String() + "\n" + v.Type + "\n" + v.Value + "\n"
}

func hasPrefix(o, root OID) bool {
	return len(o) >= len(root) && o[:len(root)].Compare(root) == 0
}
