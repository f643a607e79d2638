package update_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/update"
	"github.com/praxisgate/praxisgate/update/release"
)

// fakeBinary writes a small shell script that stands for a binary:
// Manager only runs "<binary> version" before it installs, which the
// script answers like praxisgate does; the rest is padding to size.
func fakeBinary(t *testing.T, version string, size int) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "praxisgate-"+version)
	b := []byte("#!/bin/sh\necho praxisgate " + version + "\nexit 0\n")
	b = append(b, bytes.Repeat([]byte("# praxisgate "+version+"\n"), size/16+1)...)[:size]
	if err := os.WriteFile(p, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

type inproc struct {
	layout *update.Layout
	events []update.Event
	cfg    update.Config
}

func newInproc(t *testing.T, r *repo, running string, root []byte, mod func(*update.Config)) (*update.Manager, *inproc) {
	t.Helper()
	p := &inproc{layout: &update.Layout{Dir: filepath.Join(t.TempDir(), "state")}}
	if err := p.layout.Provision(running, fakeBinary(t, running, 1000)); err != nil {
		t.Fatal(err)
	}
	p.cfg = update.Config{Layout: p.layout, RepoURL: r.URL, TrustedRoot: root, GatewayID: "gw-01", Running: running,
		OnEvent: func(e update.Event) { p.events = append(p.events, e) }}
	if mod != nil {
		mod(&p.cfg)
	}
	m, err := update.NewManager(p.cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m, p
}

func TestManagerGates(t *testing.T) {
	r := newRepo(t)
	r.add(t, fakeBinary(t, "2.0.0", 5000), "2.0.0", nil)
	closed := func(time.Time) bool { return false }
	battery := func(context.Context) (string, bool) { return "UPS on battery", true }
	cases := []struct {
		name   string
		mod    func(*update.Config)
		force  bool
		state  string
		reason string
	}{
		{"open", nil, false, update.StateInstalled, ""},
		{"window closed", func(c *update.Config) { c.Window = closed }, false, update.StateDeferred, "maintenance window"},
		{"on battery", func(c *update.Config) { c.Gates = []update.Gate{battery} }, false, update.StateDeferred, "UPS on battery"},
		{"forced past gates", func(c *update.Config) { c.Window = closed; c.Gates = []update.Gate{battery} }, true, update.StateInstalled, ""},
		{"too big", func(c *update.Config) { c.MaxSize = 4000 }, false, update.StateRefused, "limit 4000"},
		{"beta channel empty", func(c *update.Config) { c.Channel = "beta" }, false, update.StateRefused, "no release for beta"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, p := newInproc(t, r, "1.0.0", rootOf(t, r), c.mod)
			ev := m.Check(context.Background(), c.force)
			if ev.State != c.state || !strings.Contains(ev.Reason, c.reason) {
				t.Fatalf("got %+v, want %s %q", ev, c.state, c.reason)
			}
			s, _ := p.layout.ReadState()
			if installed := s.Trial != nil && s.Trial.Version == "2.0.0"; installed != (c.state == update.StateInstalled) {
				t.Fatalf("state %+v after %s", s, c.state)
			}
			if c.state == update.StateInstalled {
				if v, _ := p.layout.Linked(); v != "2.0.0" {
					t.Fatalf("current -> %s", v)
				}
				got, _ := os.ReadFile(p.layout.CurrentBinary())
				want, _ := os.ReadFile(fakeBinary(t, "2.0.0", 5000))
				if !bytes.Equal(got, want) {
					t.Fatal("installed binary differs from the release")
				}
				var states []string
				for _, e := range p.events {
					states = append(states, e.State)
				}
				if strings.Join(states, ",") != "checking,available,downloading,installed" {
					t.Fatalf("events %v", states)
				}
			}
		})
	}
}

func TestManagerRolloutAndDowngrade(t *testing.T) {
	r := newRepo(t)
	r.add(t, fakeBinary(t, "2.0.0", 3000), "2.0.0", func(tg *release.Target) { tg.RolloutPercent = 0 })
	m, _ := newInproc(t, r, "1.0.0", rootOf(t, r), nil)
	if ev := m.Check(context.Background(), false); ev.State != update.StateDeferred || !strings.Contains(ev.Reason, "staged rollout at 0%") {
		t.Fatalf("0%% rollout: %+v", ev)
	}
	r.add(t, fakeBinary(t, "2.0.0", 3000), "2.0.0", func(tg *release.Target) { tg.RolloutPercent = 100 })
	if ev := m.Check(context.Background(), false); ev.State != update.StateInstalled {
		t.Fatalf("100%% rollout: %+v", ev)
	}

	// An explicitly allowed downgrade (emergency release) is installed.
	r2 := newRepo(t)
	r2.add(t, fakeBinary(t, "1.5.0", 3000), "1.5.0", func(tg *release.Target) { tg.AllowDowngrade = true })
	m2, p2 := newInproc(t, r2, "2.0.0", rootOf(t, r2), nil)
	if ev := m2.Check(context.Background(), false); ev.State != update.StateInstalled || ev.To != "1.5.0" {
		t.Fatalf("allowed downgrade: %+v", ev)
	}
	// A version that failed here is not tried again until a newer one appears.
	if err := p2.layout.Rollback("1.5.0", "test"); err != nil {
		t.Fatal(err)
	}
	if ev := m2.Check(context.Background(), false); ev.State != update.StateUpToDate || !strings.Contains(ev.Reason, "rolled back here before") {
		t.Fatalf("failed version retried: %+v", ev)
	}
	r2.add(t, fakeBinary(t, "2.0.1", 3000), "2.0.1", nil)
	if ev := m2.Check(context.Background(), false); ev.State != update.StateInstalled || ev.To != "2.0.1" {
		t.Fatalf("newer after failure: %+v", ev)
	}
}

// After every role's key is rotated (root last, signed by old and new root
// keys), a box provisioned with the first root still follows and updates.
func TestRotateKeys(t *testing.T) {
	r := newRepo(t)
	oldRoot := rootOf(t, r)
	m, p := newInproc(t, r, "1.0.0", oldRoot, nil)
	if ev := m.Check(context.Background(), false); ev.State != update.StateRefused {
		t.Fatalf("empty repo: %+v", ev)
	}
	for _, role := range release.Roles {
		if err := r.Rotate(role); err != nil {
			t.Fatalf("rotate %s: %v", role, err)
		}
	}
	r.add(t, fakeBinary(t, "2.0.0", 3000), "2.0.0", nil)
	if ev := m.Check(context.Background(), false); ev.State != update.StateInstalled {
		t.Fatalf("after rotation: %+v", ev)
	}
	cached, err := os.ReadFile(filepath.Join(p.layout.Dir, "tuf", "root.json"))
	if err != nil || bytes.Equal(cached, oldRoot) {
		t.Fatalf("box did not move to the rotated root: %v", err)
	}
	if _, err := os.Stat(filepath.Join(r.KeyDir, "root.key.old")); err == nil {
		t.Fatal("old root key left on disk")
	}
}

// An interrupted download resumes with a Range request instead of
// starting again, and the result is verified as a whole.
func TestDownloadResumes(t *testing.T) {
	r := newRepo(t)
	bin := fakeBinary(t, "2.0.0", 300_000)
	r.add(t, bin, "2.0.0", nil)
	var ranged atomic.Int32
	fs := http.FileServer(http.Dir(r.Dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, q *http.Request) {
		if q.Header.Get("Range") != "" {
			ranged.Add(1)
		}
		fs.ServeHTTP(w, q)
	}))
	defer srv.Close()
	m, p := newInproc(t, r, "1.0.0", rootOf(t, r), func(c *update.Config) { c.RepoURL = srv.URL })
	data, _ := os.ReadFile(bin)
	if err := os.MkdirAll(p.layout.VersionDir("2.0.0"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.layout.VersionDir("2.0.0"), update.BinaryName+".part"), data[:123_456], 0o600); err != nil {
		t.Fatal(err)
	}
	if ev := m.Check(context.Background(), false); ev.State != update.StateInstalled {
		t.Fatalf("%+v", ev)
	}
	if ranged.Load() != 1 {
		t.Fatalf("%d range requests, want 1", ranged.Load())
	}
	got, _ := os.ReadFile(p.layout.BinaryPath("2.0.0"))
	if !bytes.Equal(got, data) {
		t.Fatal("resumed download differs")
	}

	// A corrupt partial file is not trusted: the resumed download does not
	// verify, so the part is deleted and the file fetched afresh in the
	// same check; an honest server is never refused for it.
	r.add(t, fakeBinary(t, "2.0.1", 300_000), "2.0.1", nil)
	if err := p.layout.Commit("2.0.0"); err != nil {
		t.Fatal(err)
	}
	m2, err := update.NewManager(func() update.Config { c := p.cfg; c.RepoURL = srv.URL; c.Running = "2.0.0"; return c }())
	if err != nil {
		t.Fatal(err)
	}
	_ = os.MkdirAll(p.layout.VersionDir("2.0.1"), 0o755)
	_ = os.WriteFile(filepath.Join(p.layout.VersionDir("2.0.1"), update.BinaryName+".part"), bytes.Repeat([]byte{'X'}, 1000), 0o600)
	if ev := m2.Check(context.Background(), false); ev.State != update.StateInstalled {
		t.Fatalf("corrupt part: %+v", ev)
	}
	if ranged.Load() != 2 {
		t.Fatalf("%d range requests, want 2 (the corrupt part was resumed once)", ranged.Load())
	}
}

func TestRepoURLMustBeSecure(t *testing.T) {
	for url, ok := range map[string]bool{
		"https://updates.example": true, "http://127.0.0.1:8080": true, "http://[::1]:80": true, "http://localhost": true,
		"http://updates.example": false, "ftp://x": false, "file:///tmp": false,
	} {
		_, err := update.NewManager(update.Config{Layout: &update.Layout{Dir: t.TempDir()}, RepoURL: url, TrustedRoot: []byte("{}")})
		if (err == nil) != ok {
			t.Errorf("%s: err %v", url, err)
		}
	}
}

// A repository that cannot be reached is a failure to try again later, not
// a refusal: nothing was offered.
func TestRepositoryDown(t *testing.T) {
	r := newRepo(t)
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	m, _ := newInproc(t, r, "1.0.0", rootOf(t, r), func(c *update.Config) { c.RepoURL = url })
	if ev := m.Check(context.Background(), false); ev.State != update.StateFailed || !strings.Contains(ev.Reason, "tuf refresh") {
		t.Fatalf("%+v", ev)
	}
	if ev := m.Last(); ev.State != update.StateFailed {
		t.Fatalf("Last() = %+v", ev)
	}
}

// Daemon first commits the version on trial, then checks periodically
// and installs what it finds; Peek only reports.
func TestDaemon(t *testing.T) {
	r := newRepo(t)
	m, p := newInproc(t, r, "1.0.0", rootOf(t, r), nil)
	r.add(t, fakeBinary(t, "1.1.0", 2000), "1.1.0", nil)
	if ev := m.Peek(context.Background()); ev.State != update.StateAvailable || ev.To != "1.1.0" {
		t.Fatalf("peek: %+v", ev)
	}
	if s, _ := p.layout.ReadState(); s.Trial != nil {
		t.Fatal("peek installed")
	}
	if ev := m.Check(context.Background(), false); ev.State != update.StateInstalled {
		t.Fatalf("%+v", ev)
	}
	// The new version starts: it is on trial, becomes healthy, commits,
	// then finds 1.2.0 on its first periodic check.
	r.add(t, fakeBinary(t, "1.2.0", 2000), "1.2.0", nil)
	var evs []update.Event
	installed := make(chan struct{})
	cfg := p.cfg
	cfg.Running = "1.1.0"
	cfg.OnEvent = func(e update.Event) {
		evs = append(evs, e)
		if e.State == update.StateInstalled {
			close(installed)
		}
	}
	m2, err := update.NewManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	d := &update.Daemon{Layout: p.layout, Manager: m2, Interval: time.Hour, Jitter: time.Millisecond,
		Trial: update.TrialConfig{Version: "1.1.0", Interval: 10 * time.Millisecond, OnEvent: cfg.OnEvent,
			Health: update.AllHealthy(update.Check{Name: "uplink", Fn: func(context.Context) error { return nil }})}}
	go func() { done <- d.Run(ctx) }()
	select {
	case <-installed:
	case <-time.After(30 * time.Second):
		t.Fatalf("no install; events %+v", evs)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, e := range evs {
		states = append(states, e.State)
	}
	if got := strings.Join(states, ","); got != "trial,committed,checking,available,downloading,installed" {
		t.Fatalf("events %s", got)
	}
}
