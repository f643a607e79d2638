package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUPSInspectDescriptorFile(t *testing.T) {
	dir := "../../drivers/testdata/third_party/hid/"
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"ups", "inspect",
		"-descriptor", dir + "legrand-keor-ups-1cb0-0032.rdesc.hex",
		"-reports", dir + "legrand-keor-ups-1cb0-0032.reports.txt"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"825 bytes", "Legrand style", "input.voltage", "OB DISCHRG", "vendor page 0xffff"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestUPSInspectErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.hex")
	os.WriteFile(bad, []byte("05 84 zz\n"), 0o644)
	broken := filepath.Join(t.TempDir(), "broken.hex")
	os.WriteFile(broken, []byte("05 84 c0\n"), 0o644)
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"ups"}, 2, "Usage: praxisgate ups inspect"},
		{[]string{"ups", "inspect", "-reports", bad}, 2, "-reports needs -descriptor"},
		{[]string{"ups", "inspect", "-descriptor", bad}, 1, `"zz": encoding/hex: invalid byte`},
		{[]string{"ups", "inspect", "-descriptor", broken}, 1, "End Collection without Collection"},
		{[]string{"ups", "inspect", "-sys", t.TempDir()}, 0, "no USB UPS found"},
	}
	for _, tc := range cases {
		var out, errb bytes.Buffer
		code := run(context.Background(), tc.args, &out, &errb)
		if code != tc.code || !strings.Contains(out.String()+errb.String(), tc.want) {
			t.Errorf("%v: exit %d, output %q %q; want exit %d with %q", tc.args, code, out.String(), errb.String(), tc.code, tc.want)
		}
	}
}
