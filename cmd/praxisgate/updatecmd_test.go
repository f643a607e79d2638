package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/update"
)

// The provider's release verbs and the box's update verbs work together:
// a repository made with "release" is checked and installed by "update".
func TestReleaseAndUpdateCommands(t *testing.T) {
	ctx := context.Background()
	d := t.TempDir()
	repo, keys, state := filepath.Join(d, "repo"), filepath.Join(d, "keys"), filepath.Join(d, "state")
	call := func(f func(context.Context, []string, io.Writer, io.Writer) error, args ...string) (string, error) {
		var out, errb bytes.Buffer
		err := f(ctx, args, &out, &errb)
		return out.String() + errb.String(), err
	}
	mustOK := func(out string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return out
	}
	bin := filepath.Join(d, "bin")
	for v, content := range map[string]string{"1.0.0": "one", "1.1.0": "one-one"} {
		// Scripts that answer "version" as praxisgate does: "update install" asks.
		script := "#!/bin/sh\necho praxisgate " + v + "\nexit 0\n" + strings.Repeat("# "+content+"\n", 1000)
		if err := os.WriteFile(bin+v, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mustOK(call(releaseCmd, "init", "-repo", repo, "-keys", keys))
	if _, err := call(releaseCmd, "init", "-repo", repo, "-keys", keys); err == nil {
		t.Fatal("second init accepted")
	}
	out := mustOK(call(releaseCmd, "add", "-repo", repo, "-keys", keys, "-file", bin+"1.1.0", "-version", "1.1.0", "-os", runtime.GOOS, "-arch", runtime.GOARCH, "-rollout", "100"))
	if !strings.Contains(out, "stable/"+runtime.GOOS+"-"+runtime.GOARCH+"/praxisgate-1.1.0") {
		t.Fatalf("add said %q", out)
	}
	mustOK(call(releaseCmd, "rotate", "-repo", repo, "-keys", keys, "-role", "timestamp"))
	mustOK(call(releaseCmd, "timestamp", "-repo", repo, "-keys", keys, "-valid", "1h"))
	for _, bad := range [][]string{
		{"add", "-repo", repo, "-keys", keys, "-version", "1.2.0"},
		{"rotate", "-repo", repo},
		{"timestamp", "-repo", repo, "-keys", keys, "-valid", "-1h"},
		{"frobnicate"},
	} {
		if _, err := call(releaseCmd, bad...); !errors.Is(err, errUsage) {
			t.Errorf("release %v: %v, want usage error", bad, err)
		}
	}
	if _, err := call(releaseCmd, "rotate", "-repo", repo, "-keys", keys, "-role", "admin"); err == nil {
		t.Error("unknown role accepted")
	}

	srv := httptest.NewServer(http.FileServer(http.Dir(repo)))
	defer srv.Close()
	root := filepath.Join(repo, "root.json")
	mustOK(call(updateCmd, "provision", "-state", state, "-version", "1.0.0", "-binary", bin+"1.0.0"))
	out = mustOK(call(updateCmd, "check", "-state", state, "-repo", srv.URL, "-root", root, "-id", "gw-01"))
	if !strings.Contains(out, `"state":"available"`) || strings.Contains(out, `"downloading"`) {
		t.Fatalf("check said:\n%s", out)
	}
	out = mustOK(call(updateCmd, "install", "-state", state, "-repo", srv.URL, "-root", root, "-id", "gw-01"))
	if !strings.Contains(out, `"state":"installed"`) {
		t.Fatalf("install said:\n%s", out)
	}
	out = mustOK(call(updateCmd, "status", "-state", state))
	var st struct {
		Current string         `json:"current"`
		Trial   *update.Trial  `json:"trial"`
		History []update.Event `json:"history"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.Current != "1.1.0" || st.Trial == nil {
		t.Fatalf("status %q: %v", out, err)
	}
	if n := len(st.History); n == 0 || st.History[n-1].State != "installed" || st.History[n-1].To != "1.1.0" {
		t.Fatalf("status history %+v, want the install to 1.1.0 last", st.History)
	}
	out = mustOK(call(updateCmd, "boot", "-state", state))
	if !strings.Contains(out, "starting 1.1.0 (on trial: true)") {
		t.Fatalf("boot said %q", out)
	}
	// The unit's ExecStopPost: systemd says how 1.1.0 ended, and the
	// rollback after its third start names it.
	t.Setenv("SERVICE_RESULT", "watchdog")
	t.Setenv("EXIT_CODE", "killed")
	t.Setenv("EXIT_STATUS", "ABRT")
	if out := mustOK(call(updateCmd, "stopped", "-state", state)); !strings.Contains(out, "stopped pinging the watchdog, killed") {
		t.Fatalf("stopped said %q", out)
	}
	mustOK(call(updateCmd, "boot", "-state", state))
	mustOK(call(updateCmd, "boot", "-state", state))
	want := "rolled back 1.1.0: 1.1.0 started 3 times without becoming healthy (last start: stopped pinging the watchdog, killed)"
	if out := mustOK(call(updateCmd, "boot", "-state", state)); !strings.Contains(out, want) || !strings.Contains(out, "starting 1.0.0 (on trial: false)") {
		t.Fatalf("fourth boot said %q, want %q", out, want)
	}
	// A wrong root is refused with exit status 1 and a reason.
	other := filepath.Join(d, "other")
	mustOK(call(releaseCmd, "init", "-repo", other, "-keys", filepath.Join(d, "otherkeys")))
	state2 := filepath.Join(d, "state2")
	mustOK(call(updateCmd, "provision", "-state", state2, "-version", "1.0.0", "-binary", bin+"1.0.0"))
	out, err := call(updateCmd, "check", "-state", state2, "-repo", srv.URL, "-root", filepath.Join(other, "root.json"))
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 1 || !strings.Contains(out, "signature") {
		t.Fatalf("wrong root: %v\n%s", err, out)
	}
}

// Without systemd the daemon restarts through "update boot -exec": the
// boot accounting runs, then the process becomes the current version
// (same PID). Checked with the built binary.
func TestUpdateBootExec(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	if r := runBin(t, time.Minute, "update", "status"); strings.Contains(r.stderr, `unknown command "update"`) {
		t.Fatal(`"update" is not registered: add {"update", ..., updateCmd} and {"release", ..., releaseCmd} to commands() in main.go`)
	}
	if r := runBin(t, time.Minute, "update", "provision", "-state", state, "-version", "9.9.9-test", "-binary", binary); r.code != 0 {
		t.Fatalf("provision: %+v", r)
	}
	r := runBin(t, time.Minute, "update", "boot", "-state", state, "-exec", "--", "version")
	if r.code != 0 || strings.TrimSpace(r.stdout) != "praxisgate 9.9.9-test" {
		t.Fatalf("boot -exec: %+v", r)
	}
	r = runBin(t, time.Minute, "update", "status", "-state", state)
	if r.code != 0 || !strings.Contains(r.stdout, `"current": "9.9.9-test"`) {
		t.Fatalf("status: %+v", r)
	}
}
