package gwtest

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/praxisgate/praxisgate/update"
	"github.com/praxisgate/praxisgate/update/release"
)

// Publish makes a repository with a release of version v for this
// platform and serves it on loopback; it returns the URL and the root file.
func Publish(t testing.TB, dir, v string) (string, string) {
	t.Helper()
	repo := &release.Repo{Dir: filepath.Join(dir, "repo"), KeyDir: filepath.Join(dir, "keys")}
	if err := repo.Init(); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bin-"+v)
	// A script that answers "version" as praxisgate does: the installer asks.
	script := "#!/bin/sh\necho praxisgate " + v + "\nexit 0\n" + strings.Repeat("# praxisgate "+v+"\n", 1000)
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Add(release.Target{File: bin, Version: v, OS: runtime.GOOS, Arch: runtime.GOARCH, RolloutPercent: 100}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(repo.Dir)))
	t.Cleanup(srv.Close)
	return srv.URL, filepath.Join(repo.Dir, "root.json")
}

// Provision installs version v as the committed one in state.
func Provision(t testing.TB, state, v string) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "praxisgate")
	if err := os.WriteFile(bin, []byte("praxisgate "+v), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := (&update.Layout{Dir: state}).Provision(v, bin); err != nil {
		t.Fatal(err)
	}
}

// ReadFile reads a file the test needs.
func ReadFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
