package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	cmdsig "github.com/praxisgate/praxisgate/gateway/command"
	"github.com/praxisgate/praxisgate/update"
)

// provider holds the provider's command signing key (config
// commands.keys on the box).
type provider struct {
	key ed25519.PrivateKey
	pub string
}

func newProvider(tb testing.TB) provider {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return provider{key: key, pub: base64.StdEncoding.EncodeToString(pub)}
}

// commandsYAML lets the provider's key sign commands for the box.
func (p provider) commandsYAML() string {
	return fmt.Sprintf("commands:\n  keys: [%q]\n", p.pub)
}

// send publishes cmd/{name} for the gateway at root, signed unless
// unsigned is set, with args sent byte for byte as given.
func (p provider) send(tb testing.TB, e *eventLog, root, name, id, args string, unsigned bool) {
	tb.Helper()
	nb := make([]byte, 16)
	if _, err := rand.Read(nb); err != nil {
		tb.Fatal(err)
	}
	nonce, ts := hex.EncodeToString(nb), time.Now().UTC().Format(time.RFC3339Nano)
	msg := fmt.Sprintf(`{"id":%q,"ts":%q,"nonce":%q,"args":%s`, id, ts, nonce, args)
	if !unsigned {
		msg += fmt.Sprintf(`,"sig":%q`, cmdsig.Sign(p.key, root, name, id, ts, nonce, []byte(args)))
	}
	e.publish(tb, root+"/cmd/"+name, msg+"}")
}

// commandsReady pings the gateway at root until it answers, so a command
// sent next is not lost: "online" in the status can come before the box's
// subscription to cmd/# is in place.
func (e *eventLog) commandsReady(tb testing.TB, root string) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; time.Now().Before(deadline); i++ {
		id := fmt.Sprintf("ready-%d", i)
		e.publish(tb, root+"/cmd/ping", `{"id":"`+id+`"}`)
		for range 10 {
			if e.count(root+"/reply/"+id, `"ok":true`) > 0 {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	tb.Fatalf("%s does not answer ping within 30 s", root)
}

// closedWindow is a maintenance window that does not contain now (nor
// the next hour), so the box's own periodic check defers the update and
// only a forced command installs.
func closedWindow() string {
	h := time.Now().Hour()
	return fmt.Sprintf("%02d:00-%02d:00", (h+2)%24, (h+3)%24)
}

// retainedStatus connects as a newcomer (a provider's dashboard started
// now) and returns the retained status of the gateway at root.
func retainedStatus(tb testing.TB, url, root string) string {
	tb.Helper()
	got := make(chan string, 1)
	cl := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("dashboard-%d", time.Now().UnixNano())))
	if tok := cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		tb.Fatalf("dashboard connect: %v", tok.Error())
	}
	defer cl.Disconnect(100)
	tok := cl.Subscribe(root+"/status", 1, func(_ mqtt.Client, m mqtt.Message) {
		if m.Retained() {
			select {
			case got <- string(m.Payload()):
			default:
			}
		}
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		tb.Fatalf("dashboard subscribe: %v", tok.Error())
	}
	select {
	case s := <-got:
		return s
	case <-time.After(10 * time.Second):
		tb.Fatalf("no retained status on %s/status", root)
		return ""
	}
}

// historyStates is the box's recorded update history (update.Layout.History),
// as "state from→to" lines.
func historyStates(tb testing.TB, state string) []string {
	tb.Helper()
	h, err := (&update.Layout{Dir: state}).History()
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, e := range h {
		out = append(out, fmt.Sprintf("%s %s→%s", e.State, e.From, e.To))
	}
	return out
}

// containsInOrder tells whether want occur in got in this order (with
// anything between).
func containsInOrder(got, want []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

// TestDaemonUpdateByCommand: the provider triggers the update over MQTT.
// The real praxisgate 1.0.0 runs outside its maintenance window, so its
// own check defers the update; an unsigned update-install is refused; a
// signed one with force installs 2.0.0 from the release tool's repository
// on loopback, and the provider sees installed, trial and committed as
// events and 2.0.0 in the retained status. The box's update history has
// every step.
func TestDaemonUpdateByCommand(t *testing.T) {
	t.Parallel() // a box of its own; mostly waiting for restarts
	f := newUpdateFixture(t)
	prov := newProvider(t)
	const gateway = "gw-cmd"
	root := "praxisgate/v1/praxis-test/" + gateway
	events := root + "/event/gateway"
	b := f.startBoxWith(t, boxOptions{gateway: gateway, mode: "supervise", restartDelay: "1s", trialTimeout: "60s",
		window: closedWindow(), extra: prov.commandsYAML()})
	defer b.cleanup()
	f.sub.waitFor(t, "1.0.0 online", root+"/status", `"state":"online","version":"1.0.0"`)
	f.sub.waitFor(t, "the box's own check deferred", events, `"type":"update.deferred"`, `"to":"2.0.0"`, `outside the maintenance window`)
	f.sub.commandsReady(t, root)

	prov.send(t, f.sub, root, "update-install", "unsigned-1", `{"force":true}`, true)
	f.sub.waitFor(t, "unsigned update-install refused", root+"/reply/unsigned-1", `"ok":false`, "must be signed")

	sent := time.Now()
	prov.send(t, f.sub, root, "update-install", "install-1", `{"force":true}`, false)
	f.sub.waitFor(t, "update-install reply", root+"/reply/install-1", `"ok":true`, `"state":"installed"`, `"to":"2.0.0"`)
	installed := f.sub.waitFor(t, "update.installed", events, `"type":"update.installed"`, `"from":"1.0.0"`, `"to":"2.0.0"`)
	f.sub.waitFor(t, "2.0.0 online", root+"/status", `"state":"online","version":"2.0.0"`)
	f.sub.waitFor(t, "update.trial of 2.0.0", events, `"type":"update.trial"`, `"to":"2.0.0"`)
	committed := f.sub.waitFor(t, "update.committed", events, `"type":"update.committed"`, `"from":"1.0.0"`, `"to":"2.0.0"`)

	if st := retainedStatus(t, f.mq.URL(), root); !strings.Contains(st, `"state":"online","version":"2.0.0"`) {
		t.Fatalf("retained status after the update: %s", st)
	}
	l := &update.Layout{Dir: b.state}
	if s, err := l.ReadState(); err != nil || s.Committed != "2.0.0" || s.Trial != nil {
		t.Fatalf("state.json: %+v %v", s, err)
	}
	b.stop()
	h := historyStates(t, b.state)
	want := []string{"deferred 1.0.0→2.0.0", "downloading 1.0.0→2.0.0", "installed 1.0.0→2.0.0", "trial 1.0.0→2.0.0", "committed 1.0.0→2.0.0"}
	if !containsInOrder(h, want) {
		t.Fatalf("update history %q lacks %q in order", h, want)
	}
	t.Logf("update-install sent → committed: %s wall clock; installed → committed %s (event timestamps)",
		time.Since(sent).Round(10*time.Millisecond), committed.Sub(installed).Round(time.Millisecond))
}

// TestDaemonRefusesByCommand: for each bad repository the signed,
// forced update-install of the provider is answered with an error that
// says why, the box reports update.refused (major), its retained status
// still shows the running version, and nothing was switched. The same
// cases with the test app run in update/e2e_test.go (TestRefused).
func TestDaemonRefusesByCommand(t *testing.T) {
	t.Parallel() // a box of its own; mostly waiting for restarts
	f := newUpdateFixture(t)
	prov := newProvider(t)
	cases := []struct {
		name    string
		running string
		// publish makes the repository the box is pointed at and returns
		// its URL and the root file provisioned on the box.
		publish func(t *testing.T) (url, rootFile string)
		reason  string
	}{
		{"tampered binary", "1.0.0", func(t *testing.T) (string, string) {
			r := newReleaseRepo(t, f.bins["2.0.0"], "2.0.0", "-arch", runtime.GOARCH)
			r.tamper(t)
			return r.url, r.rootFile
		}, "does not match the signed target"},
		{"expired timestamp", "1.0.0", func(t *testing.T) (string, string) {
			r := newReleaseRepo(t, f.bins["2.0.0"], "2.0.0", "-arch", runtime.GOARCH)
			mustCall(context.Background(), t, releaseCmd, "timestamp", "-repo", r.dir, "-keys", r.keys, "-valid", "1s")
			time.Sleep(1100 * time.Millisecond) // the provider forgot to refresh it
			return r.url, r.rootFile
		}, "expired"},
		{"older version offered", "2.0.0", func(t *testing.T) (string, string) {
			r := newReleaseRepo(t, f.bins["1.0.0"], "1.0.0", "-arch", runtime.GOARCH)
			return r.url, r.rootFile
		}, "downgrade refused"},
		{"target for another architecture", "1.0.0", func(t *testing.T) (string, string) {
			r := newReleaseRepo(t, f.bins["2.0.0"], "2.0.0", "-arch", otherArch())
			return r.url, r.rootFile
		}, "no release for stable on " + runtime.GOOS + "/" + runtime.GOARCH},
		{"wrong root key", "1.0.0", func(t *testing.T) (string, string) {
			r := newReleaseRepo(t, f.bins["2.0.0"], "2.0.0", "-arch", runtime.GOARCH)
			other := newReleaseRepo(t, f.bins["2.0.0"], "2.0.0", "-arch", runtime.GOARCH)
			return r.url, other.rootFile // another provider's root
		}, "signature"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // independent boxes and repositories
			url, rootFile := tc.publish(t)
			gateway := fmt.Sprintf("gw-refuse-%d", i)
			root := "praxisgate/v1/praxis-test/" + gateway
			// No supervisor: a refused update must not restart anything.
			b := f.startBoxWith(t, boxOptions{gateway: gateway, mode: "alone", trialTimeout: "60s", first: tc.running,
				repoURL: url, rootFile: rootFile, window: closedWindow(), extra: prov.commandsYAML()})
			defer b.cleanup()
			f.sub.waitFor(t, tc.running+" online", root+"/status", `"state":"online","version":"`+tc.running+`"`)
			f.sub.commandsReady(t, root)
			id := fmt.Sprintf("refuse-%d", i)
			prov.send(t, f.sub, root, "update-install", id, `{"force":true}`, false)
			f.sub.waitFor(t, "error reply", root+"/reply/"+id, `"ok":false`, "update refused", tc.reason)
			f.sub.waitFor(t, "update.refused (major)", root+"/event/gateway", `"type":"update.refused"`, `"severity":"major"`, tc.reason)
			if st := retainedStatus(t, f.mq.URL(), root); !strings.Contains(st, `"state":"online","version":"`+tc.running+`"`) {
				t.Fatalf("retained status: %s", st)
			}
			b.stop()
			if n := f.sub.count(root+"/event/gateway", `"type":"update.installed"`); n != 0 {
				t.Fatalf("%d update.installed events", n)
			}
			l := &update.Layout{Dir: b.state}
			if s, err := l.ReadState(); err != nil || s.Committed != tc.running || s.Trial != nil {
				t.Fatalf("state.json: %+v %v", s, err)
			}
			if cur, err := l.Linked(); err != nil || cur != tc.running {
				t.Fatalf("current -> %q (%v)", cur, err)
			}
			if _, err := os.Stat(filepath.Join(l.VersionDir("2.0.0"), update.BinaryName+".part")); err == nil {
				t.Fatal("the refused download was left behind")
			}
			// The box's own check (after a random delay) may come before or
			// after the command: both end in refused or deferred, never more.
			h := historyStates(t, b.state)
			if !slices.ContainsFunc(h, func(s string) bool { return strings.HasPrefix(s, "refused ") }) {
				t.Fatalf("no refusal in the history %q", h)
			}
			for _, s := range h {
				if strings.HasPrefix(s, "installed ") || strings.HasPrefix(s, "trial ") {
					t.Fatalf("history %q", h)
				}
			}
		})
	}
}

// TestDaemonRollsBackCrashingVersion: a real praxisgate 3.0.0 built with
// -tags pgfault exits at every start (PRAXISGATE_FAULT=exit-at-start), or
// hangs at every start without pinging the watchdog (hang-at-start); the
// committed 2.0.0 is a release build and ignores the variable. 2.0.0
// installs 3.0.0 under "update supervise" with the unit's pacing
// (RestartSec=2, 3 starts on trial; a 5 s start timeout for the hang,
// which comes before READY=1); after the third failed start of 3.0.0 the
// box is back on 2.0.0 by itself,
// 2.0.0 reports the rollback, and it does not install 3.0.0 again.
func TestDaemonRollsBackCrashingVersion(t *testing.T) {
	t.Parallel() // a box of its own; mostly waiting for restarts
	f := newUpdateFixture(t)
	r := newReleaseRepo(t, buildFaulty(t, "3.0.0"), "3.0.0", "-arch", runtime.GOARCH)
	// hang-at-start hangs before READY=1: the start timeout kills it.
	for _, tc := range []struct{ fault, limit string }{{"exit-at-start", "60s"}, {"hang-at-start", "5s"}} {
		t.Run(tc.fault, func(t *testing.T) {
			t.Parallel() // both mostly wait for restarts
			back, online := f.crashRollbackOnce(t, r, "gw-"+tc.fault, tc.fault, tc.limit)
			t.Logf("3.0.0 %s: installed → rollback reported by 2.0.0 %s, → 2.0.0 online again %s (event timestamps; target ≤ 60 s)",
				tc.fault, back.Round(time.Millisecond), online.Round(time.Millisecond))
		})
	}
}

// BenchmarkDaemonRollbackCrash measures, with the real daemon and the
// unit's pacing (RestartSec=2, 3 starts on trial), how long a box runs a
// version that exits at start: from update.installed to the rollback and
// to the previous version online again (the target: ≤ 60 s).
func BenchmarkDaemonRollbackCrash(b *testing.B) {
	f := newUpdateFixture(b)
	r := newReleaseRepo(b, buildFaulty(b, "3.0.0"), "3.0.0", "-arch", runtime.GOARCH)
	var back, online time.Duration
	for i := 0; i < b.N; i++ {
		rb, on := f.crashRollbackOnce(b, r, fmt.Sprintf("gw-bench-crash-%d", benchRuns.Add(1)), "exit-at-start", "60s")
		back += rb
		online += on
	}
	n := float64(b.N)
	b.ReportMetric(back.Seconds()/n, "s/installed-to-rollback-reported")
	b.ReportMetric(online.Seconds()/n, "s/installed-to-online-again")
	fmt.Printf("BenchmarkDaemonRollbackCrash: installed → rollback reported %.2f s, → previous version online %.2f s (mean of %d; target ≤ 60 s)\n",
		back.Seconds()/n, online.Seconds()/n, b.N)
}

// crashRollbackOnce provisions 2.0.0 (a release build) for a new gateway,
// lets it install the faulty 3.0.0 from r under "update supervise" with
// PRAXISGATE_FAULT=fault and the given watchdog and start timeout (limit), and
// checks that the box is back on 2.0.0 by itself, reports it, and does not
// install 3.0.0 again. It returns the times from the installed event to
// the rollback and to 2.0.0 online again (event timestamps).
func (f *updateFixture) crashRollbackOnce(tb testing.TB, r *releaseRepo, gateway, fault, limit string) (toRolledBack, toOnline time.Duration) {
	tb.Helper()
	root := "praxisgate/v1/praxis-test/" + gateway
	events := root + "/event/gateway"
	b := f.startBoxWith(tb, boxOptions{gateway: gateway, mode: "supervise", restartDelay: "2s", trialTimeout: "60s",
		first: "2.0.0", repoURL: r.url, rootFile: r.rootFile, watchdog: limit, startTimeout: limit, env: []string{"PRAXISGATE_FAULT=" + fault}})
	defer b.cleanup()
	installed := f.sub.waitFor(tb, "update.installed 2.0.0 → 3.0.0", events, `"type":"update.installed"`, `"from":"2.0.0"`, `"to":"3.0.0"`)
	rolledBack := f.sub.waitFor(tb, "update.rolled_back reported by 2.0.0", events, `"type":"update.rolled_back"`, `"severity":"major"`,
		`"from":"3.0.0"`, `"to":"2.0.0"`, "started 3 times without becoming healthy")
	online := f.sub.waitForAfter(tb, "2.0.0 online again", root+"/status", installed, `"state":"online","version":"2.0.0"`)
	f.sub.waitFor(tb, "3.0.0 not tried again", events, `"type":"update.up_to_date"`, `"from":"2.0.0"`,
		"3.0.0 was rolled back here before")
	if st := retainedStatus(tb, f.mq.URL(), root); !strings.Contains(st, `"version":"2.0.0"`) {
		tb.Fatalf("retained status: %s", st)
	}
	b.stop()
	if n := strings.Count(b.logs.String(), "praxisgate 3.0.0: fault injection"); n != 3 {
		tb.Fatalf("3.0.0 started %d times, want 3 (max-boots)", n)
	}
	l := &update.Layout{Dir: b.state}
	if s, err := l.ReadState(); err != nil || s.Committed != "2.0.0" || s.Trial != nil || !s.IsFailed("3.0.0") {
		tb.Fatalf("state.json: %+v %v", s, err)
	}
	if cur, err := l.Linked(); err != nil || cur != "2.0.0" {
		tb.Fatalf("current -> %q (%v)", cur, err)
	}
	if h := historyStates(tb, b.state); !containsInOrder(h, []string{"installed 2.0.0→3.0.0", "rolled_back 3.0.0→2.0.0"}) {
		tb.Fatalf("history %q", h)
	}
	return rolledBack.Sub(installed), online.Sub(installed)
}

// releaseRepo is a repository made with "praxisgate release", served on
// loopback.
type releaseRepo struct {
	dir, keys, url, rootFile string
}

// newReleaseRepo publishes bin as version with extra "release add" flags.
func newReleaseRepo(tb testing.TB, bin, version string, addFlags ...string) *releaseRepo {
	tb.Helper()
	d := tb.TempDir()
	r := &releaseRepo{dir: filepath.Join(d, "repo"), keys: filepath.Join(d, "keys")}
	ctx := context.Background()
	mustCall(ctx, tb, releaseCmd, "init", "-repo", r.dir, "-keys", r.keys)
	mustCall(ctx, tb, releaseCmd, append([]string{"add", "-repo", r.dir, "-keys", r.keys, "-file", bin, "-version", version,
		"-os", runtime.GOOS}, addFlags...)...)
	srv := httptest.NewServer(http.FileServer(http.Dir(r.dir)))
	tb.Cleanup(srv.Close)
	r.url = srv.URL
	root, err := os.ReadFile(filepath.Join(r.dir, "root.json"))
	if err != nil {
		tb.Fatal(err)
	}
	r.rootFile = writeFile(tb, d, "update-root.json", string(root))
	return r
}

// tamper flips one byte of every published binary, as a compromised
// download server would.
func (r *releaseRepo) tamper(tb testing.TB) {
	tb.Helper()
	n := 0
	err := filepath.WalkDir(filepath.Join(r.dir, "targets"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		b[len(b)/2] ^= 0xff
		n++
		return os.WriteFile(p, b, 0o644)
	})
	if err != nil || n == 0 {
		tb.Fatalf("tamper: %d files, %v", n, err)
	}
}

func otherArch() string {
	if runtime.GOARCH == "arm64" {
		return "amd64"
	}
	return "arm64"
}

// faulty holds the -tags pgfault builds by version; tests that build
// them run in parallel.
var faulty struct {
	sync.Mutex
	bins map[string]string
}

// buildFaulty builds praxisgate with -tags pgfault (faultinject_pgfault.go:
// exits at every start of the daemon) as version v, once per test binary.
func buildFaulty(tb testing.TB, v string) string {
	tb.Helper()
	faulty.Lock()
	defer faulty.Unlock()
	if p, ok := faulty.bins[v]; ok {
		return p
	}
	p := filepath.Join(filepath.Dir(binary), "praxisgate-"+v+"-pgfault")
	out, err := exec.Command("go", goBuild("-tags", "pgfault", "-ldflags", "-X main.version="+v, "-o", p, ".")...).CombinedOutput()
	if err != nil {
		tb.Fatalf("build %s with -tags pgfault: %v\n%s", v, err, out)
	}
	if faulty.bins == nil {
		faulty.bins = map[string]string{}
	}
	faulty.bins[v] = p
	return p
}

// TestDaemonKillAtEachStep: the real daemon is SIGKILLed, as by a power
// cut, at each step of download, switch and trial (1.0.0 and 2.0.0 are
// -tags pgfault builds with PRAXISGATE_FAULT=kill-at:<step>, killing once).
// Under "update supervise" the box always comes back on a version that
// starts and finally commits 2.0.0, with no partial download left.
func TestDaemonKillAtEachStep(t *testing.T) {
	t.Parallel() // a box of its own; mostly waiting for restarts
	f := newUpdateFixture(t)
	bins := map[string]string{"1.0.0": buildFaulty(t, "1.0.0"), "2.0.0": buildFaulty(t, "2.0.0")}
	r := newReleaseRepo(t, bins["2.0.0"], "2.0.0", "-arch", runtime.GOARCH)
	steps := []string{
		"download-half",        // half the binary on disk: resumed after the restart
		"downloaded",           // verified, not yet in place
		"staged",               // binary in place, state not yet written
		"state-written:trial",  // state.json says trial, symlinks not switched
		"switched",             // switched, restart not yet asked for
		"trial",                // 2.0.0 on trial, before its first health check
		"state-written:commit", // committed in state.json, symlinks not yet
	}
	for i, step := range steps {
		t.Run(step, func(t *testing.T) {
			// Mostly waiting (restart delays, health intervals): boxes run
			// side by side, up to -parallel (GOMAXPROCS by default).
			t.Parallel()
			gateway := fmt.Sprintf("gw-kill-%d", i)
			root := "praxisgate/v1/praxis-test/" + gateway
			events := root + "/event/gateway"
			mark := filepath.Join(t.TempDir(), "killed")
			b := f.startBoxWith(t, boxOptions{gateway: gateway, mode: "supervise", restartDelay: "200ms", trialTimeout: "60s",
				repoURL: r.url, rootFile: r.rootFile, bins: bins,
				env: []string{"PRAXISGATE_FAULT=kill-at:" + step, "PRAXISGATE_FAULT_MARK=" + mark}})
			defer b.cleanup()
			f.sub.waitFor(t, "update.committed 2.0.0", events, `"type":"update.committed"`, `"to":"2.0.0"`)
			f.sub.waitFor(t, "2.0.0 up to date", events, `"type":"update.up_to_date"`, `"from":"2.0.0"`)
			b.stop()
			if _, err := os.Stat(mark); err != nil {
				t.Fatalf("the daemon never reached step %s: %v", step, err)
			}
			if !strings.Contains(b.logs.String(), "fault injection: SIGKILL at update step "+step) {
				t.Fatal("no kill in the log")
			}
			l := &update.Layout{Dir: b.state}
			if s, err := l.ReadState(); err != nil || s.Committed != "2.0.0" || s.Trial != nil || len(s.Failed) != 0 {
				t.Fatalf("state.json: %+v %v", s, err)
			}
			if cur, err := l.Linked(); err != nil || cur != "2.0.0" {
				t.Fatalf("current -> %q (%v)", cur, err)
			}
			if _, err := os.Stat(filepath.Join(l.VersionDir("2.0.0"), update.BinaryName+".part")); err == nil {
				t.Fatal("a partial download was left behind")
			}
			// Every start that came online ran 1.0.0 or 2.0.0.
			online := f.sub.count(root+"/status", `"state":"online"`)
			if n := online - f.sub.count(root+"/status", `"state":"online","version":"1.0.0"`) -
				f.sub.count(root+"/status", `"state":"online","version":"2.0.0"`); n != 0 || online == 0 {
				t.Fatalf("%d of %d starts ran another version", n, online)
			}
		})
	}
}
