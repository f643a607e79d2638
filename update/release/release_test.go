package release

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

func newRepo(t *testing.T) *Repo {
	t.Helper()
	d := t.TempDir()
	r := &Repo{Dir: filepath.Join(d, "repo"), KeyDir: filepath.Join(d, "keys")}
	if err := r.Init(); err != nil {
		t.Fatal(err)
	}
	return r
}

// Every role's metadata verifies against root after each operation, and
// versions only go up: what a TUF client requires.
func TestPublishedMetadataVerifies(t *testing.T) {
	r := newRepo(t)
	bin := filepath.Join(t.TempDir(), "bin")
	os.WriteFile(bin, []byte("binary"), 0o755)
	var last [3]int64
	ops := []struct {
		name string
		do   func() error
	}{
		{"add", func() error {
			_, err := r.Add(Target{File: bin, Version: "1.0.0", OS: "linux", Arch: "arm64", RolloutPercent: 50})
			return err
		}},
		{"timestamp", func() error { return r.Timestamp(time.Hour) }},
		{"rotate targets", func() error { return r.Rotate(metadata.TARGETS) }},
		{"rotate root", func() error { return r.Rotate(metadata.ROOT) }},
		{"remove", func() error { return r.Remove("stable/linux-arm64/praxisgate-1.0.0") }},
	}
	for _, op := range ops {
		if err := op.do(); err != nil {
			t.Fatalf("%s: %v", op.name, err)
		}
		if err := r.Load(); err != nil {
			t.Fatal(err)
		}
		if err := r.root.VerifyDelegate(metadata.ROOT, r.root); err != nil {
			t.Fatalf("%s: root: %v", op.name, err)
		}
		if err := r.root.VerifyDelegate(metadata.TARGETS, r.targets); err != nil {
			t.Fatalf("%s: targets: %v", op.name, err)
		}
		if err := r.root.VerifyDelegate(metadata.SNAPSHOT, r.snapshot); err != nil {
			t.Fatalf("%s: snapshot: %v", op.name, err)
		}
		if err := r.root.VerifyDelegate(metadata.TIMESTAMP, r.timestamp); err != nil {
			t.Fatalf("%s: timestamp: %v", op.name, err)
		}
		now := [3]int64{r.targets.Signed.Version, r.snapshot.Signed.Version, r.timestamp.Signed.Version}
		for i := range now {
			if now[i] < last[i] || (i == 2 && now[i] == last[i]) {
				t.Fatalf("%s: versions went %v -> %v", op.name, last, now)
			}
		}
		last = now
	}
	if n, _ := newestRoot(r.Dir); n != 3 {
		t.Fatalf("root version %d after two rotations, want 3", n)
	}
	if r.targets.Signed.Targets["stable/linux-arm64/praxisgate-1.0.0"] != nil {
		t.Fatal("removed target still listed")
	}
}

func TestAddRefuses(t *testing.T) {
	r := newRepo(t)
	bin := filepath.Join(t.TempDir(), "bin")
	os.WriteFile(bin, []byte("binary"), 0o755)
	cases := []struct {
		tg   Target
		want string
	}{
		{Target{File: bin, Version: "1.0", OS: "linux", Arch: "arm64"}, "MAJOR.MINOR.PATCH"},
		{Target{File: bin, Version: "1.0.0", OS: "Linux", Arch: "arm64"}, "custom.os"},
		{Target{File: bin, Version: "1.0.0", OS: "linux", Arch: "arm64", RolloutPercent: 120}, "0..100"},
		{Target{File: bin + "x", Version: "1.0.0", OS: "linux", Arch: "arm64"}, "no such file"},
	}
	for _, c := range cases {
		if _, err := r.Add(c.tg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.tg, err, c.want)
		}
	}
	if err := r.Init(); err == nil {
		t.Error("init over an existing repository accepted")
	}
	info, err := os.Stat(filepath.Join(r.KeyDir, "root.key"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("root key mode %v %v", info.Mode(), err)
	}
}
