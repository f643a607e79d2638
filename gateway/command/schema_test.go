package command

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/praxisgate/praxisgate/gateway/contract"
)

func loadSchemas(t *testing.T, names ...string) map[string]*jsonschema.Schema {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "docs", "schema"))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	out := map[string]*jsonschema.Schema{}
	for _, n := range names {
		s, err := c.Compile(filepath.Join(dir, n+".json"))
		if err != nil {
			t.Fatalf("compile schema %s: %v", n, err)
		}
		out[n] = s
	}
	return out
}

func validate(s *jsonschema.Schema, payload []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(payload))
	if err != nil {
		return err
	}
	return s.Validate(v)
}

var docExampleRe = regexp.MustCompile("(?s)<!-- schema: ([a-z]+) -->\\s*```json\\n(.*?)\\n```")

// TestDocsExamples keeps docs/commands.md honest: every example validates
// against its schema, the signed example verifies with the documented test
// key, and the parser accepts the command examples.
func TestDocsExamples(t *testing.T) {
	schemas := loadSchemas(t, "command", "reply", "event")
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "commands.md"))
	if err != nil {
		t.Fatal(err)
	}
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32))
	pub := base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey))
	v, err := NewVerifier(VerifierOptions{Root: "praxisgate/v1/praxis-beispiel/gw-01", Keys: []string{pub}, MaxSkew: 24 * time.Hour,
		Now: func() time.Time { return time.Date(2026, 11, 22, 13, 21, 30, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	signedSeen := false
	for _, m := range docExampleRe.FindAllSubmatch(doc, -1) {
		name, body := string(m[1]), m[2]
		if err := validate(schemas[name], body); err != nil {
			t.Errorf("example for %s does not validate: %v\n%s", name, err, body)
		}
		if name != "command" {
			continue
		}
		c, err := Parse("cmd/restart", body)
		if err != nil {
			t.Errorf("example command refused: %v\n%s", err, body)
			continue
		}
		if c.Sig != nil {
			signedSeen = true
			if err := v.Check(c); err != nil {
				t.Errorf("signed example does not verify with the documented key: %v", err)
			}
		}
	}
	if !signedSeen {
		t.Error("docs/commands.md has no signed example")
	}
}

// TestRepliesMatchSchema validates what the processor really sends, and a
// signed command as Sign builds it.
func TestRepliesMatchSchema(t *testing.T) {
	schemas := loadSchemas(t, "command", "reply")
	pub := newFakePub()
	p := New(Options{Publisher: pub, Origin: contract.Origin{Gateway: "gw-01", Boot: "b1"}, Handlers: map[string]Handler{
		"ok":    func(context.Context, Request) (any, error) { return map[string]int{"n": 1}, nil },
		"empty": func(context.Context, Request) (any, error) { return nil, nil },
		"fail":  func(context.Context, Request) (any, error) { return nil, errors.New("nope") },
		"big": func(context.Context, Request) (any, error) {
			return Chunked{Encoding: "raw", Data: bytes.Repeat([]byte("x"), 3*DefaultChunkSize+5)}, nil
		},
	}})
	defer p.Close()
	for _, name := range []string{"ok", "empty", "fail", "big", "unknown"} {
		p.Handle("cmd/"+name, []byte(`{"id":"`+name+`"}`))
	}
	p.Handle("cmd/ok", []byte(`{"id":"bad","x":1}`))
	for n := 0; n < 9; n++ {
		select {
		case m := <-pub.ch:
			if len(m[1]) > 64<<10 {
				t.Errorf("%s: reply of %d bytes", m[0], len(m[1]))
			}
			if err := validate(schemas["reply"], []byte(m[1])); err != nil {
				t.Errorf("%s: %v\n%s", m[0], err, m[1])
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d replies", n)
		}
	}
	priv, _ := testKey(t)
	if err := validate(schemas["command"], signed(priv, testRoot, "restart", "r-1", testNow, "nonce-0123456789ab", `{"reason":"x"}`)); err != nil {
		t.Errorf("signed command: %v", err)
	}
}
