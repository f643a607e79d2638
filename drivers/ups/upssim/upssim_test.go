package upssim

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"
)

// ask sends cmd on the device path and reads until term or 5 s pass.
func ask(t *testing.T, path, cmd string, term byte) string {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte(cmd)); err != nil {
		t.Fatal(err)
	}
	var got []byte
	buf := make([]byte, 64)
	for len(got) < 1024 && bytes.IndexByte(got, term) < 0 {
		n, err := f.Read(buf)
		if err != nil {
			t.Fatalf("read after %q: %v (have %q)", cmd, err, got)
		}
		got = append(got, buf[:n]...)
	}
	return string(got)
}

func TestStartServesBothProtocols(t *testing.T) {
	cases := []struct {
		proto     Protocol
		cmd, want string
		term      byte
	}{
		{Megatec, "Q1\r", "(230.1 230.1 230.1 023 50.0 27.3 29.0 00001001\r", '\r'},
		{Megatec, "XYZ\r", "XYZ\r", '\r'},
		{APCSmart, "Y", "SM\r\n", '\n'},
		{APCSmart, "j", "0042:\r\n", '\n'},
		{APCSmart, "z", "NA\r\n", '\n'},
	}
	for _, tc := range cases {
		path, stop, err := Start(context.Background(), tc.proto, "demo")
		if err != nil {
			t.Fatal(err)
		}
		if got := ask(t, path, tc.cmd, tc.term); got != tc.want {
			t.Errorf("%s %q: got %q, want %q", tc.proto, tc.cmd, got, tc.want)
		}
		stop()
		if _, err := os.Lstat(path); !os.IsNotExist(err) {
			t.Errorf("device path still there after stop: %v", err)
		}
	}
	if _, _, err := Start(context.Background(), Megatec, "nosuch"); err == nil {
		t.Error("Start accepted an unknown scenario")
	}
}

func TestUnplugReplug(t *testing.T) {
	s, err := New(Options{Protocol: APCSmart, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	first, _ := os.Readlink(s.Path())
	if err := s.Unplug(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(s.Path()); !os.IsNotExist(err) {
		t.Fatalf("path survives Unplug: %v", err)
	}
	if err := s.Replug(); err != nil {
		t.Fatal(err)
	}
	if got := ask(t, s.Path(), "Q", '\n'); got != "08\r\n" {
		t.Errorf("after replug Q = %q", got)
	}
	second, _ := os.Readlink(s.Path())
	if first == "" || second == "" {
		t.Errorf("symlink targets %q, %q", first, second)
	}
}
