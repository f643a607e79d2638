package update_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/update"
	"github.com/praxisgate/praxisgate/update/release"
)

// builds caches test binaries per (version, behaviour) for the whole run:
// linking is the slow part, so each variant is built once.
var builds struct {
	sync.Mutex
	dir  string
	bins map[string]string
}

// testapp builds update/internal/testapp with the given version and
// behaviour baked in, as the release process builds praxisgate.
func testapp(t testing.TB, version, behaviour string) string {
	t.Helper()
	builds.Lock()
	defer builds.Unlock()
	key := version + "-" + behaviour
	if p, ok := builds.bins[key]; ok {
		return p
	}
	if builds.dir == "" {
		d, err := os.MkdirTemp("", "update-testapp")
		if err != nil {
			t.Fatal(err)
		}
		builds.dir, builds.bins = d, map[string]string{}
	}
	out := filepath.Join(builds.dir, key)
	cmd := exec.Command("go", "build", "-trimpath", "-o", out,
		"-ldflags", fmt.Sprintf("-s -w -X main.version=%s -X main.behaviour=%s", version, behaviour),
		"./internal/testapp")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build testapp %s: %v\n%s", key, err, b)
	}
	builds.bins[key] = out
	return out
}

// repo is a release repository made by the release tool and served over
// HTTP on loopback.
type repo struct {
	*release.Repo
	URL string
}

func newRepo(t testing.TB) *repo {
	t.Helper()
	d := t.TempDir()
	r := &release.Repo{Dir: filepath.Join(d, "repo"), KeyDir: filepath.Join(d, "keys")}
	if err := r.Init(); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(r.Dir)))
	t.Cleanup(srv.Close)
	return &repo{Repo: r, URL: srv.URL}
}

func (r *repo) add(t testing.TB, bin, version string, mod func(*release.Target)) update.Release {
	t.Helper()
	tg := release.Target{File: bin, Version: version, OS: runtime.GOOS, Arch: runtime.GOARCH, RolloutPercent: 100}
	if mod != nil {
		mod(&tg)
	}
	rel, err := r.Add(tg)
	if err != nil {
		t.Fatal(err)
	}
	return rel
}

// box is one gateway: a provisioned state directory, supervised like
// systemd would, with the events its daemon writes.
type box struct {
	t       testing.TB
	layout  *update.Layout
	events  string
	root    string
	cancel  context.CancelFunc
	done    chan struct{}
	mu      sync.Mutex
	boots   []update.BootResult
	env     []string
	started time.Time
	// startTimeout is the supervisor's limit until READY=1; 0 means 5 s
	// (a loaded test machine may start the testapp slowly).
	startTimeout time.Duration
	exits        []update.Exit
}

func newBox(t testing.TB, first, version string, rootJSON []byte) *box {
	t.Helper()
	d := t.TempDir()
	b := &box{t: t, layout: &update.Layout{Dir: filepath.Join(d, "state")},
		events: filepath.Join(d, "events.jsonl"), root: filepath.Join(d, "root.json")}
	if err := b.layout.Provision(version, first); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b.root, rootJSON, 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

func rootOf(t testing.TB, r *repo) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(r.Dir, "root.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// start supervises the box's daemon in the background until the test ends.
func (b *box) start(repoURL string, restartDelay, watchdog time.Duration, extraArgs ...string) {
	ctx, cancel := context.WithCancel(context.Background())
	b.cancel, b.done = cancel, make(chan struct{})
	args := append([]string{"-state", b.layout.Dir, "-repo", repoURL, "-root", b.root, "-events", b.events}, extraArgs...)
	if b.startTimeout == 0 {
		b.startTimeout = 5 * time.Second
	}
	s := &update.Supervisor{Layout: b.layout, Args: args, RestartDelay: restartDelay, Watchdog: watchdog,
		StartTimeout: b.startTimeout, Env: b.env, Stderr: testWriter{b.t}, OnBoot: func(r update.BootResult) {
			b.mu.Lock()
			b.boots = append(b.boots, r)
			b.mu.Unlock()
		}, OnExit: func(e update.Exit) {
			b.mu.Lock()
			b.exits = append(b.exits, e)
			b.mu.Unlock()
		}}
	b.started = time.Now()
	go func() {
		defer close(b.done)
		_ = s.Run(ctx)
	}()
	b.t.Cleanup(b.stop)
}

func (b *box) stop() {
	if b.cancel != nil {
		b.cancel()
		<-b.done
		b.cancel = nil
	}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("daemon: %s", bytes.TrimRight(p, "\n"))
	return len(p), nil
}

type evLine struct {
	update.Event
	Running string `json:"running"`
	PID     int    `json:"pid"`
}

func (b *box) readEvents() []evLine {
	f, err := os.Open(b.events)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []evLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e evLine
		if json.Unmarshal(sc.Bytes(), &e) == nil {
			out = append(out, e)
		}
	}
	return out
}

// waitFor polls the events until match holds for one of them (bounded by
// timeout) and returns it.
func (b *box) waitFor(timeout time.Duration, what string, match func(evLine) bool) evLine {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, e := range b.readEvents() {
			if match(e) {
				return e
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.t.Fatalf("no %s within %s; events:\n%s", what, timeout, b.dump())
	return evLine{}
}

func (b *box) dump() string {
	var s strings.Builder
	for _, e := range b.readEvents() {
		fmt.Fprintf(&s, "  %s running=%s state=%s from=%s to=%s reason=%q\n", e.Time.Format("15:04:05.000"), e.Running, e.State, e.From, e.To, e.Reason)
	}
	return s.String()
}

func (b *box) state() update.State {
	b.t.Helper()
	s, err := b.layout.ReadState()
	if err != nil {
		b.t.Fatal(err)
	}
	return s
}

func (b *box) linked() string {
	b.t.Helper()
	v, err := b.layout.Linked()
	if err != nil {
		b.t.Fatal(err)
	}
	return v
}
