package update_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/update"
	"github.com/praxisgate/praxisgate/update/release"
)

const waitLong = 60 * time.Second

func isState(state, running, to string) func(evLine) bool {
	return func(e evLine) bool {
		return e.State == state && (running == "" || e.Running == running) && (to == "" || e.To == to)
	}
}

// Version 1 finds version 2 in the repository, installs it, restarts into
// it, and version 2 commits itself after its health check.
func TestUpdateV1ToV2(t *testing.T) {
	r := newRepo(t)
	v1, v2 := testapp(t, "1.0.0", "ok"), testapp(t, "2.0.0", "ok")
	r.add(t, v2, "2.0.0", nil)
	b := newBox(t, v1, "1.0.0", rootOf(t, r))
	b.start(r.URL, 100*time.Millisecond, 0)
	b.waitFor(waitLong, "installed 2.0.0 by 1.0.0", isState(update.StateInstalled, "1.0.0", "2.0.0"))
	b.waitFor(waitLong, "trial of 2.0.0", isState(update.StateTrial, "2.0.0", "2.0.0"))
	b.waitFor(waitLong, "commit of 2.0.0", isState(update.StateCommitted, "2.0.0", "2.0.0"))
	b.waitFor(waitLong, "2.0.0 up to date", isState(update.StateUpToDate, "2.0.0", ""))
	b.stop()
	if s := b.state(); s.Committed != "2.0.0" || s.Trial != nil {
		t.Fatalf("state after update: %+v", s)
	}
	if got := b.linked(); got != "2.0.0" {
		t.Fatalf("current -> %s, want 2.0.0", got)
	}
	for _, e := range b.readEvents() {
		if e.State == "started" && e.Running != "1.0.0" && e.Running != "2.0.0" {
			t.Fatalf("unexpected start: %+v", e)
		}
	}
}

// Each bad repository is refused with a clear reason, and the running
// version stays.
func TestRefused(t *testing.T) {
	v1, v2 := testapp(t, "1.0.0", "ok"), testapp(t, "2.0.0", "ok")
	cases := []struct {
		name    string
		running string // version the box runs
		setup   func(t *testing.T, r *repo) []byte
		reason  string
	}{
		{"tampered binary", "1.0.0", func(t *testing.T, r *repo) []byte {
			rel := r.add(t, v2, "2.0.0", nil)
			tamper(t, r, rel)
			return rootOf(t, r)
		}, "does not match the signed target"},
		{"expired timestamp", "1.0.0", func(t *testing.T, r *repo) []byte {
			r.add(t, v2, "2.0.0", nil)
			if err := r.Load(); err != nil {
				t.Fatal(err)
			}
			if err := r.Timestamp(-time.Hour); err != nil {
				t.Fatal(err)
			}
			return rootOf(t, r)
		}, "expired"},
		{"older version", "2.0.0", func(t *testing.T, r *repo) []byte {
			r.add(t, v1, "1.0.0", nil)
			return rootOf(t, r)
		}, "downgrade refused"},
		{"other architecture", "1.0.0", func(t *testing.T, r *repo) []byte {
			r.add(t, v2, "2.0.0", func(tg *release.Target) { tg.Arch = otherArch() })
			return rootOf(t, r)
		}, "no release for stable on"},
		{"wrong root key", "1.0.0", func(t *testing.T, r *repo) []byte {
			r.add(t, v2, "2.0.0", nil)
			return rootOf(t, newRepo(t)) // another provider's root
		}, "signature"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRepo(t)
			root := tc.setup(t, r)
			bin := v1
			if tc.running == "2.0.0" {
				bin = v2
			}
			b := newBox(t, bin, tc.running, root)
			b.start(r.URL, 100*time.Millisecond, 0)
			ev := b.waitFor(waitLong, "refused", isState(update.StateRefused, tc.running, ""))
			// A second check must refuse too: nothing half-installed in between.
			b.waitFor(waitLong, "second refusal", func(e evLine) bool {
				return e.State == update.StateRefused && e.Time.After(ev.Time)
			})
			b.stop()
			if !strings.Contains(ev.Reason, tc.reason) {
				t.Fatalf("reason %q does not say %q", ev.Reason, tc.reason)
			}
			if s := b.state(); s.Committed != tc.running || s.Trial != nil {
				t.Fatalf("state: %+v", s)
			}
			if got := b.linked(); got != tc.running {
				t.Fatalf("current -> %s", got)
			}
			for _, e := range b.readEvents() {
				if e.Running != tc.running || e.State == update.StateInstalled || e.State == update.StateDownloading && tc.name != "tampered binary" {
					t.Fatalf("unexpected event: %+v\n%s", e, b.dump())
				}
			}
			t.Logf("refused: %s", ev.Reason)
		})
	}
}

func otherArch() string {
	if update.DefaultArch() == "arm64" {
		return "amd64"
	}
	return "arm64"
}

// tamper flips a byte of the published target file, as a compromised
// mirror would.
func tamper(t *testing.T, r *repo, rel update.Release) {
	t.Helper()
	dir := filepath.Join(r.Dir, "targets", filepath.Dir(rel.Path))
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) != 1 {
		t.Fatalf("target dir %s: %v %v", dir, ents, err)
	}
	p := filepath.Join(dir, ents[0].Name())
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
