package configguard

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzUnredact feeds set-config payloads (outside input) through the
// un-redaction that runs before config.Parse: it must not panic, must not
// hang on alias bombs beyond the YAML library's own limits, and must never
// return a file that still holds the placeholder as a secret value.
func FuzzUnredact(f *testing.F) {
	old := []byte("site: s\nuplink: {broker: tcp://h:1, password: geheim}\ndevices: [{id: a, snmp: {community: public}}]\n")
	f.Add([]byte("site: t\nuplink: {broker: tcp://h:1, password: '[redacted]'}\n"))
	f.Add([]byte("devices: [{id: a, snmp: {community: '[redacted]'}}, {id: b}]\n"))
	f.Add([]byte("a: &x '[redacted]'\nuplink: {password: *x}\n"))
	f.Add([]byte("uplink: {token: '[redacted]'}\n"))
	f.Add([]byte("- [redacted]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := Unredact(data, old)
		if err != nil {
			return
		}
		if !bytes.Contains(data, []byte(Redacted)) {
			if !bytes.Equal(out, data) {
				t.Fatal("a file without placeholders was changed")
			}
			return
		}
		red, err := RedactYAML(out)
		if err != nil {
			return
		}
		// Secrets filled in from the old file sit under secret keys, so
		// redacting the result hides them again.
		for _, secret := range []string{"geheim", "public"} {
			if strings.Contains(string(red), secret) && !bytes.Contains(data, []byte(secret)) {
				t.Fatalf("secret %q survived redaction:\n%s", secret, red)
			}
		}
	})
}
