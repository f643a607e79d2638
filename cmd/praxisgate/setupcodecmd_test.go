package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSetupCodeCmd: staging prints the code (and the sticker) the daemon
// will use; the same code comes back until setup, and a config with the
// page off is an error.
func TestSetupCodeCmd(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "praxisgate.yaml")
	if err := os.WriteFile(cfg, []byte("site: praxis-test\ngateway: gw-07\nstate_dir: "+dir+"\nuplink: {broker: \"tcp://127.0.0.1:1883\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if err := setupCodeCmd(context.Background(), []string{"-config", cfg}, &out, &errb); err != nil {
		t.Fatalf("setup-code: %v\n%s", err, errb.String())
	}
	code := strings.TrimSpace(out.String())
	if len(code) != 14 || strings.Count(code, "-") != 2 {
		t.Fatalf("code %q", code)
	}
	out.Reset()
	if err := setupCodeCmd(context.Background(), []string{"-config", cfg, "-sticker"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{code, "gw-07", "Einrichtungscode"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("sticker lacks %q:\n%s", w, out.String())
		}
	}
	if data, err := os.ReadFile(filepath.Join(dir, "web", "setup-code")); err != nil || strings.TrimSpace(string(data)) != code {
		t.Errorf("stored code %q, %v", data, err)
	}
	off := filepath.Join(dir, "off.yaml")
	os.WriteFile(off, []byte("site: praxis-test\ngateway: gw-07\nstate_dir: "+dir+"\nuplink: {broker: \"tcp://127.0.0.1:1883\"}\nweb: {listen: \"off\", redirect_listen: \"off\"}\n"), 0o600)
	if err := setupCodeCmd(context.Background(), []string{"-config", off}, &out, &errb); err == nil {
		t.Error("setup-code with the page off: no error")
	}
}
