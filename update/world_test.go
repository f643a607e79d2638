package update_test

import (
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/update"
)

// world is the outside the trial's uplink check connects to: a TCP
// listener on loopback that the test takes down and brings back on the
// same port.
type world struct {
	t    *testing.T
	addr string
	mu   sync.Mutex
	ln   net.Listener
}

func newWorld(t *testing.T) *world {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, addr: ln.Addr().String()}
	w.serve(ln)
	t.Cleanup(w.down)
	return w
}

func (w *world) serve(ln net.Listener) {
	w.mu.Lock()
	w.ln = ln
	w.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
}

func (w *world) down() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ln != nil {
		w.ln.Close()
		w.ln = nil
	}
}

func (w *world) up() {
	var ln net.Listener
	var err error
	for range 50 { // the port was ours a moment ago; bounded retries
		if ln, err = net.Listen("tcp", w.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		w.t.Fatalf("bring the world back on %s: %v", w.addr, err)
	}
	w.serve(ln)
}

// A good release rolled back because the world was down during its trial
// (its uplink could not connect) is not blacklisted: the previous
// version, running again, cannot connect either, so it plans a retry
// after a backoff instead; the retry while the world is still down backs
// off longer; once the world is back, the release installs and commits.
func TestWorldDownIsNotTheRelease(t *testing.T) {
	v2, v3 := testapp(t, "2.0.0", "ok"), testapp(t, "3.0.0", "ok")
	w := newWorld(t)
	w.down()
	r := newRepo(t)
	r.add(t, v3, "3.0.0", nil)
	b := newBox(t, v2, "2.0.0", rootOf(t, r))
	b.start(r.URL, 100*time.Millisecond, 0, "-uplink", w.addr, "-trial-timeout", "1s",
		"-trial-interval", "100ms", "-retry-after", "1s", "-force=false")
	first := b.waitFor(waitLong, "first rollback of 3.0.0", func(e evLine) bool {
		return e.State == update.StateRolledBack && e.From == "3.0.0"
	})
	if !strings.Contains(first.Reason, "uplink: not connected") {
		t.Fatalf("rollback reason %q", first.Reason)
	}
	b.waitFor(waitLong, "a retry planned by 2.0.0", func(e evLine) bool {
		return e.State == update.StateDeferred && e.Running == "2.0.0" && e.To == "3.0.0" &&
			strings.Contains(e.Reason, "world was down") && strings.Contains(e.Reason, "uplink failed for 2.0.0 too")
	})
	// The world stays down for the retry: rolled back again, longer backoff.
	b.waitFor(waitLong, "second retry planned", func(e evLine) bool {
		return e.State == update.StateDeferred && e.Running == "2.0.0" && e.To == "3.0.0" &&
			strings.Contains(e.Reason, "world was down") && e.Time.After(first.Time.Add(500*time.Millisecond)) &&
			len(b.state().Retry) == 1 && b.state().Retry[0].Tries >= 2
	})
	w.up()
	b.waitFor(waitLong, "commit of 3.0.0 once the world is back", isState(update.StateCommitted, "3.0.0", "3.0.0"))
	b.stop()
	s := b.state()
	if s.Committed != "3.0.0" || s.Trial != nil || s.IsFailed("3.0.0") || len(s.Retry) != 0 || s.Doubt != nil {
		t.Fatalf("state: %+v", s)
	}
	t.Logf("events:\n%s", b.dump())
}

// The same outage, but the release breaks its own uplink: the previous
// version connects at once, so the release is to blame and stays failed.
func TestWorldUpReleaseBlamed(t *testing.T) {
	v2, v3 := testapp(t, "2.0.0", "ok"), testapp(t, "3.0.0", "unhealthy")
	w := newWorld(t)
	r := newRepo(t)
	r.add(t, v3, "3.0.0", nil)
	b := newBox(t, v2, "2.0.0", rootOf(t, r))
	b.start(r.URL, 100*time.Millisecond, 0, "-uplink", w.addr, "-trial-timeout", "1s",
		"-trial-interval", "100ms", "-retry-after", "1s", "-force=false")
	b.waitFor(waitLong, "rollback of 3.0.0", func(e evLine) bool {
		return e.State == update.StateRolledBack && e.From == "3.0.0"
	})
	b.waitFor(waitLong, "3.0.0 not tried again", func(e evLine) bool {
		return e.Running == "2.0.0" && e.State == update.StateUpToDate && strings.Contains(e.Reason, "rolled back here before")
	})
	b.stop()
	s := b.state()
	if s.Committed != "2.0.0" || !s.IsFailed("3.0.0") || len(s.Retry) != 0 || s.Doubt != nil {
		t.Fatalf("state: %+v", s)
	}
	for _, e := range b.readEvents() {
		if e.State == update.StateDeferred {
			t.Fatalf("a retry was planned for a release that broke its own uplink: %+v", e)
		}
	}
}
