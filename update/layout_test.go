package update

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func provisioned(t *testing.T) *Layout {
	t.Helper()
	l := &Layout{Dir: filepath.Join(t.TempDir(), "state")}
	bin := filepath.Join(t.TempDir(), "bin")
	if err := os.WriteFile(bin, []byte("v1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := l.Provision("1.0.0", bin); err != nil {
		t.Fatal(err)
	}
	return l
}

func stage(t *testing.T, l *Layout, v string) {
	t.Helper()
	if err := os.MkdirAll(l.VersionDir(v), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(l.BinaryPath(v), []byte(v), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := l.beginTrial(v); err != nil {
		t.Fatal(err)
	}
}

func TestBootCountsTrialStarts(t *testing.T) {
	l := provisioned(t)
	stage(t, l, "2.0.0")
	for i := 1; i <= 3; i++ {
		res, err := l.Boot(3)
		if err != nil || res.Version != "2.0.0" || !res.OnTrial || res.RolledBack != "" {
			t.Fatalf("boot %d: %+v %v", i, res, err)
		}
	}
	res, err := l.Boot(3)
	if err != nil || res.Version != "1.0.0" || res.RolledBack != "2.0.0" {
		t.Fatalf("boot 4: %+v %v", res, err)
	}
	s, _ := l.ReadState()
	if s.Trial != nil || !slices.Contains(s.Failed, "2.0.0") || s.Note == nil || s.Note.State != StateRolledBack {
		t.Fatalf("state %+v", s)
	}
	if v, _ := l.Linked(); v != "1.0.0" {
		t.Fatalf("current -> %s", v)
	}
	ev, err := l.TakeNote()
	if err != nil || ev == nil || ev.From != "2.0.0" || ev.To != "1.0.0" {
		t.Fatalf("note %+v %v", ev, err)
	}
	if ev, _ := l.TakeNote(); ev != nil {
		t.Fatalf("note reported twice: %+v", ev)
	}
}

func TestBootRepairs(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(t *testing.T, l *Layout)
		want   string
	}{
		{"current missing", func(t *testing.T, l *Layout) { os.Remove(filepath.Join(l.Dir, "current")) }, "1.0.0"},
		{"current points at a stray version", func(t *testing.T, l *Layout) {
			os.Remove(filepath.Join(l.Dir, "current"))
			os.Symlink("versions/9.9.9", filepath.Join(l.Dir, "current"))
		}, "1.0.0"},
		{"trial binary deleted", func(t *testing.T, l *Layout) {
			stage(t, l, "2.0.0")
			os.Remove(l.BinaryPath("2.0.0"))
		}, "1.0.0"},
		{"trial set, switch not done", func(t *testing.T, l *Layout) {
			stage(t, l, "2.0.0")
			os.Remove(filepath.Join(l.Dir, "current"))
			os.Symlink("versions/1.0.0", filepath.Join(l.Dir, "current"))
		}, "2.0.0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := provisioned(t)
			c.break_(t, l)
			res, err := l.Boot(3)
			if err != nil || res.Version != c.want {
				t.Fatalf("%+v %v", res, err)
			}
			if v, _ := l.Linked(); v != c.want {
				t.Fatalf("current -> %s, want %s", v, c.want)
			}
			if _, err := os.Stat(l.CurrentBinary()); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(l.CommittedBinary()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestCommitPrunesOldVersions(t *testing.T) {
	l := provisioned(t)
	stage(t, l, "2.0.0")
	if err := l.Commit("2.0.0"); err != nil {
		t.Fatal(err)
	}
	stage(t, l, "3.0.0")
	if err := l.Commit("3.0.0"); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(filepath.Join(l.Dir, "versions"))
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"2.0.0", "3.0.0"}) {
		t.Fatalf("versions kept: %v", names)
	}
	if err := l.Rollback("3.0.0", "x"); err == nil {
		t.Fatal("rollback of a committed version accepted")
	}
}

func TestStopCause(t *testing.T) {
	for _, c := range []struct{ result, code, status, want string }{
		{"success", "exited", "0", ""},
		{"", "", "", ""},
		{"timeout", "killed", "ABRT", "no READY=1 within the start timeout, killed"},
		{"watchdog", "dumped", "ABRT", "stopped pinging the watchdog, killed"},
		{"exit-code", "exited", "3", "exited: exit status 3"},
		{"signal", "killed", "SEGV", "exited: signal: SEGV"},
		{"core-dump", "dumped", "ABRT", "exited: signal: ABRT"},
		{"resources", "", "", "ended: resources"},
	} {
		if got := StopCause(c.result, c.code, c.status); got != c.want {
			t.Errorf("StopCause(%q, %q, %q) = %q, want %q", c.result, c.code, c.status, got, c.want)
		}
	}
}
