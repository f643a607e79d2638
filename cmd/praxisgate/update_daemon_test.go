package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers/testpeer"
	"github.com/praxisgate/praxisgate/update"
)

// updateConfig is a daemon that checks the loopback repository right
// after it starts and may install at any hour.
const updateConfig = `site: praxis-test
gateway: %s
state_dir: %s
uplink:
  broker: %s
  backoff_min: 100ms
  backoff_max: 1s
self: {interval: 2s}
web: {listen: "off", redirect_listen: "off"}
update:
  repo: %s
  insecure_http: true
  root_file: %s
  window: "00:00-24:00"
  interval: 1h
  random_delay: 1s
  trial_timeout: 60s
`

// TestDaemonUpdatesItself is the self-update end to end with real
// binaries: praxisgate 1.0.0 and 2.0.0 are built with -ldflags, 2.0.0 is
// published with "praxisgate release" and served over HTTP on loopback,
// and the running 1.0.0 daemon installs it, restarts into it, and 2.0.0
// passes its trial (uplink connected) and commits. The provider sees the
// update events and the status of 2.0.0 on a real Mosquitto. Both restart
// paths without systemd are covered: "update supervise" and the daemon
// re-executing itself through "update boot -exec".
func TestDaemonUpdatesItself(t *testing.T) {
	mq := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{})
	d := t.TempDir()
	bins := map[string]string{}
	for _, v := range []string{"1.0.0", "2.0.0"} {
		bins[v] = filepath.Join(d, "praxisgate-"+v)
		// -race like TestMain's binary, so only the link step is new.
		out, err := exec.Command("go", "build", "-race", "-ldflags", "-X main.version="+v, "-o", bins[v], ".").CombinedOutput()
		if err != nil {
			t.Fatalf("build %s: %v\n%s", v, err, out)
		}
	}

	// The provider publishes 2.0.0.
	ctx := context.Background()
	repo, keys := filepath.Join(d, "repo"), filepath.Join(d, "keys")
	mustCall(ctx, t, releaseCmd, "init", "-repo", repo, "-keys", keys)
	mustCall(ctx, t, releaseCmd, "add", "-repo", repo, "-keys", keys, "-file", bins["2.0.0"], "-version", "2.0.0",
		"-os", runtime.GOOS, "-arch", runtime.GOARCH, "-rollout", "100")
	srv := httptest.NewServer(http.FileServer(http.Dir(repo)))
	defer srv.Close()
	root, err := os.ReadFile(filepath.Join(repo, "root.json"))
	if err != nil {
		t.Fatal(err)
	}
	rootFile := writeFile(t, d, "update-root.json", string(root)) // provisioned on the box

	sub := subscribe(t, mq.URL(), "praxisgate/v1/#")
	for _, tc := range []struct {
		name, gateway string
		argv          func(state, cfg string) []string
	}{
		{"supervise", "gw-sup", func(state, cfg string) []string {
			return []string{filepath.Join(state, "committed", "praxisgate"), "update", "supervise", "-state", state,
				"-restart-delay", "200ms", "-watchdog", "30s", "--", "run", "-config", cfg}
		}},
		{"reexec", "gw-exec", func(state, cfg string) []string {
			return []string{filepath.Join(state, "current", "praxisgate"), "run", "-config", cfg}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			state := filepath.Join(dir, "state")
			mustCall(ctx, t, updateCmd, "provision", "-state", state, "-version", "1.0.0", "-binary", bins["1.0.0"])
			cfg := writeFile(t, dir, "praxisgate.yaml", fmt.Sprintf(updateConfig, tc.gateway, state, mq.URL(), srv.URL, rootFile))

			argv := tc.argv(state, cfg)
			cmd := exec.Command(argv[0], argv[1:]...)
			cmd.Env = withoutServiceManager(os.Environ())
			var logs syncBuffer
			cmd.Stdout, cmd.Stderr = &logs, &logs
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			defer func() {
				if t.Failed() || os.Getenv("PG_SHOW_LOGS") != "" {
					t.Logf("daemon output:\n%s", logs.String())
				}
			}()
			stop := func() {
				cmd.Process.Signal(syscall.SIGTERM)
				select {
				case err := <-done:
					if err != nil {
						t.Errorf("exit after SIGTERM: %v", err)
					}
				case <-time.After(30 * time.Second):
					cmd.Process.Kill()
					<-done
					t.Error("did not stop within 30 s of SIGTERM")
				}
			}

			topic := "praxisgate/v1/praxis-test/" + tc.gateway + "/"
			waitFor(t, "1.0.0 online", 60*time.Second, func() bool {
				return sub.find(topic+"status", `"state":"online","version":"1.0.0"`)
			})
			waitFor(t, "update.installed 1.0.0 → 2.0.0", 60*time.Second, func() bool {
				return sub.find(topic+"event/gateway", `"type":"update.installed"`) &&
					sub.find(topic+"event/gateway", `"attrs":{"from":"1.0.0","reason":"restarting into the new version","state":"installed","to":"2.0.0"}`)
			})
			waitFor(t, "2.0.0 online", 60*time.Second, func() bool {
				return sub.find(topic+"status", `"state":"online","version":"2.0.0"`)
			})
			waitFor(t, "update.committed 2.0.0", 60*time.Second, func() bool {
				return sub.find(topic+"event/gateway", `"type":"update.committed"`) &&
					sub.find(topic+"event/gateway", `"to":"2.0.0"`) && sub.find(topic+"event/gateway", `"type":"update.trial"`)
			})
			l := &update.Layout{Dir: state}
			waitFor(t, "2.0.0 committed in state.json", 10*time.Second, func() bool {
				s, err := l.ReadState()
				return err == nil && s.Committed == "2.0.0" && s.Trial == nil
			})
			if cur, err := l.Linked(); err != nil || cur != "2.0.0" {
				t.Fatalf("current -> %q (%v), want 2.0.0", cur, err)
			}
			// 2.0.0 checks again and finds nothing newer.
			waitFor(t, "update.up_to_date from 2.0.0", 30*time.Second, func() bool {
				return sub.find(topic+"event/gateway", `"attrs":{"from":"2.0.0","reason":`) &&
					sub.find(topic+"event/gateway", `"type":"update.up_to_date"`)
			})
			stop()
			if strings.Contains(logs.String(), "DATA RACE") {
				t.Error("the race detector reported a race in the daemon")
			}
			if tc.name == "reexec" && !strings.Contains(logs.String(), "re-executing through the boot accounting") {
				t.Errorf("no re-exec in the log:\n%s", logs.String())
			}
		})
	}
}

// mustCall runs a subcommand in process and fails the test on an error.
func mustCall(ctx context.Context, t *testing.T, f func(context.Context, []string, io.Writer, io.Writer) error, args ...string) {
	t.Helper()
	var out bytes.Buffer
	if err := f(ctx, args, &out, &out); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out.String())
	}
}

// withoutServiceManager drops what would make the daemon believe systemd
// restarts it (the test itself may run inside a systemd service).
func withoutServiceManager(env []string) []string {
	var out []string
	for _, e := range env {
		name, _, _ := strings.Cut(e, "=")
		switch name {
		case "NOTIFY_SOCKET", "INVOCATION_ID", "WATCHDOG_USEC", "WATCHDOG_PID", "GOMEMLIMIT":
			continue
		}
		out = append(out, e)
	}
	return out
}

// syncBuffer collects the output of a process and its re-executions.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
