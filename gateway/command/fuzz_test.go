package command

import (
	"strings"
	"testing"
	"time"
)

// FuzzParse feeds arbitrary topics and payloads through Parse and the
// verifier: neither may panic, and whatever Parse accepts must satisfy the
// invariants the rest of the package relies on.
func FuzzParse(f *testing.F) {
	priv, pub := testKey(f)
	f.Add("cmd/ping", []byte(`{"id":"c-1"}`))
	f.Add("cmd/poll-now", []byte(`{"id":"c-2","schema":1,"args":{"device":"usv-rack"}}`))
	f.Add("cmd/restart", signed(priv, testRoot, "restart", "r-1", testNow, "nonce-0123456789ab", `{}`))
	f.Add("cmd/x", []byte(`{"id":"c-3","args":null,"ts":"2026-11-22T13:00:00.000Z"}`))
	f.Add("cmd/y", []byte(`{"id":"c-4"} trailing`))
	v, err := NewVerifier(VerifierOptions{Root: testRoot, Keys: []string{pub}, Require: []string{"restart"}, Now: func() time.Time { return testNow }})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		c, err := Parse(topic, payload)
		if err != nil {
			if pe, ok := err.(*ParseError); ok && pe.ID != "" && !idRE.MatchString(pe.ID) {
				t.Fatalf("reply id %q not a valid id", pe.ID)
			}
			return
		}
		if !idRE.MatchString(c.ID) || !nameRE.MatchString(c.Name) || strings.Contains(c.Name, "/") {
			t.Fatalf("accepted bad id/name %q %q", c.ID, c.Name)
		}
		if c.Sig != nil && (c.Nonce == "" || c.RawTS == "") {
			t.Fatal("signed command without ts or nonce accepted")
		}
		_ = v.Check(c)
	})
}
