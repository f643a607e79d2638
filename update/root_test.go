package update_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/praxisgate/praxisgate/update"
	"github.com/praxisgate/praxisgate/update/release"
)

// A cached root.json that no longer verifies (a flipped byte in a
// signature, half of it lost) does not block updates for ever: the box
// moves it aside, starts again from the provisioned root, follows the
// signed chain of rotated roots from the repository and installs, with
// no file deleted by hand.
func TestCachedRootDamaged(t *testing.T) {
	cases := []struct {
		name   string
		damage func([]byte) []byte
	}{
		{"signature byte flipped", func(b []byte) []byte {
			i := bytes.Index(b, []byte(`"sig":"`)) + len(`"sig":"`)
			out := append([]byte{}, b...)
			if out[i] == '0' {
				out[i] = '1'
			} else {
				out[i] = '0'
			}
			return out
		}},
		{"truncated", func(b []byte) []byte { return b[:len(b)/2] }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRepo(t)
			provisioned := rootOf(t, r)
			m, p := newInproc(t, r, "1.0.0", provisioned, nil)
			// The box follows a root rotation, so its cache holds root v2.
			if err := r.Rotate(release.Roles[0]); err != nil {
				t.Fatal(err)
			}
			if ev := m.Check(context.Background(), false); ev.State != update.StateRefused || !strings.Contains(ev.Reason, "no release") {
				t.Fatalf("first check: %+v", ev)
			}
			cachedPath := filepath.Join(p.layout.Dir, "tuf", "root.json")
			cached, err := os.ReadFile(cachedPath)
			if err != nil || bytes.Equal(cached, provisioned) {
				t.Fatalf("the cache does not hold the rotated root: %v", err)
			}
			if err := os.WriteFile(cachedPath, tc.damage(cached), 0o644); err != nil {
				t.Fatal(err)
			}
			r.add(t, fakeBinary(t, "2.0.0", 3000), "2.0.0", nil)
			if ev := m.Check(context.Background(), false); ev.State != update.StateInstalled {
				t.Fatalf("with a damaged cached root: %+v", ev)
			}
			again, err := os.ReadFile(cachedPath)
			if err != nil || !bytes.Equal(again, rootOf(t, r)) {
				t.Fatalf("the cache does not hold the repository's root again: %v", err)
			}
			if _, err := os.Stat(cachedPath + ".bad"); err != nil {
				t.Fatalf("the damaged root was not kept aside: %v", err)
			}
			said := false
			for _, e := range p.events {
				// A root cut short is not even JSON: set aside before
				// it is tried.
				said = said || strings.Contains(e.Reason, "cached root metadata does not verify") ||
					strings.Contains(e.Reason, "cached metadata cut short (root.json)")
			}
			if !said {
				t.Fatalf("no event says the cached root was replaced: %+v", p.events)
			}
		})
	}
}

// go-tuf writes its cache without fsync, so a power cut can leave any
// cached metadata file empty or cut short (found by the power-cut night
// in a qemu guest: the box then failed every check with "unexpected end
// of JSON input"). Such files are moved aside and fetched again, and the
// next release installs.
func TestCachedMetadataTorn(t *testing.T) {
	empty := func([]byte) []byte { return nil }
	half := func(b []byte) []byte { return b[:len(b)/2] }
	all := []string{"root.json", "timestamp.json", "snapshot.json", "targets.json"}
	cases := []struct {
		name   string
		files  []string
		damage func([]byte) []byte
	}{
		{"timestamp empty", []string{"timestamp.json"}, empty},
		{"snapshot cut short", []string{"snapshot.json"}, half},
		{"targets empty", []string{"targets.json"}, empty},
		{"root empty", []string{"root.json"}, empty},
		{"all empty (power cut)", all, empty},
		{"all cut short", all, half},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRepo(t)
			m, p := newInproc(t, r, "1.0.0", rootOf(t, r), nil)
			if ev := m.Check(context.Background(), false); ev.State != update.StateRefused || !strings.Contains(ev.Reason, "no release") {
				t.Fatalf("first check: %+v", ev)
			}
			dir := filepath.Join(p.layout.Dir, "tuf")
			for _, f := range tc.files {
				b, err := os.ReadFile(filepath.Join(dir, f))
				if err != nil {
					t.Fatalf("the cache lacks %s after a check: %v", f, err)
				}
				if err := os.WriteFile(filepath.Join(dir, f), tc.damage(b), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			r.add(t, fakeBinary(t, "2.0.0", 3000), "2.0.0", nil)
			if ev := m.Check(context.Background(), false); ev.State != update.StateInstalled {
				t.Fatalf("with %v damaged: %+v", tc.files, ev)
			}
			for _, f := range tc.files {
				if _, err := os.Stat(filepath.Join(dir, f+".bad")); err != nil {
					t.Errorf("%s was not kept aside: %v", f, err)
				}
			}
			said := false
			for _, e := range p.events {
				said = said || strings.Contains(e.Reason, "cached metadata cut short") && strings.Contains(e.Reason, tc.files[0])
			}
			if !said {
				t.Fatalf("no event names the damaged cache: %+v", p.events)
			}
		})
	}
}
