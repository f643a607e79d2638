package command

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/gateway/contract"
)

const testRoot = "praxisgate/v1/praxis-test/gw-01"

var testNow = time.Date(2026, 11, 22, 13, 0, 0, 0, time.UTC)

func testKey(t testing.TB) (ed25519.PrivateKey, string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(strings.NewReader(strings.Repeat("k", 64)))
	if err != nil {
		t.Fatal(err)
	}
	return priv, base64.StdEncoding.EncodeToString(pub)
}

// signed builds a signed command payload.
func signed(key ed25519.PrivateKey, root, name, id string, ts time.Time, nonce, args string) []byte {
	tss := contract.FormatTime(ts)
	m := map[string]any{"id": id, "ts": tss, "nonce": nonce, "sig": Sign(key, root, name, id, tss, nonce, []byte(args))}
	if args != "" {
		m["args"] = json.RawMessage(args)
	}
	b, _ := json.Marshal(m)
	return b
}

func TestParse(t *testing.T) {
	priv, _ := testKey(t)
	good := signed(priv, testRoot, "restart", "r-1", testNow, "nonce-0123456789ab", `{"x":1}`)
	tests := []struct {
		name, topic, payload string
		wantErr, wantID      string
	}{
		{"minimal", "cmd/ping", `{"id":"c-1"}`, "", "c-1"},
		{"with args", "cmd/poll-now", `{"id":"c-2","args":{"device":"usv"}}`, "", "c-2"},
		{"signed", "cmd/restart", string(good), "", "r-1"},
		{"not json", "cmd/ping", `hello`, "not a valid JSON", ""},
		{"unknown member keeps id", "cmd/ping", `{"id":"c-3","sgi":"x"}`, "unknown field", "c-3"},
		{"no id", "cmd/ping", `{}`, "no usable id", ""},
		{"bad id", "cmd/ping", `{"id":"a/b"}`, "no usable id", ""},
		{"bad name", "cmd/Ping", `{"id":"c-4"}`, "command name", "c-4"},
		{"nested name", "cmd/a/b", `{"id":"c-5"}`, "command name", "c-5"},
		{"schema 2", "cmd/ping", `{"id":"c-6","schema":2}`, "schema 2", "c-6"},
		{"bad ts", "cmd/ping", `{"id":"c-7","ts":"yesterday"}`, "RFC 3339", "c-7"},
		{"args array", "cmd/ping", `{"id":"c-8","args":[1]}`, "args must be", "c-8"},
		{"short nonce", "cmd/ping", `{"id":"c-9","nonce":"abc"}`, "nonce", "c-9"},
		{"bad sig", "cmd/ping", `{"id":"c-10","sig":"!!"}`, "sig must be", "c-10"},
		{"sig without nonce", "cmd/ping", `{"id":"c-11","ts":"2026-11-22T13:00:00Z","sig":"` + base64.StdEncoding.EncodeToString(make([]byte, 64)) + `"}`, "needs ts and nonce", "c-11"},
		{"trailing data", "cmd/ping", `{"id":"c-12"} {}`, "after the JSON", "c-12"},
		{"oversized", "cmd/set-config", `{"id":"big","args":{"config":"` + strings.Repeat("a", MaxPayload) + `"}}`, "too large", "big"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(tc.topic, []byte(tc.payload))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if c.ID != tc.wantID {
					t.Fatalf("id %q, want %q", c.ID, tc.wantID)
				}
				return
			}
			var pe *ParseError
			if err == nil || !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err %v, want ParseError containing %q", err, tc.wantErr)
			}
			if pe.ID != tc.wantID {
				t.Fatalf("reply id %q, want %q", pe.ID, tc.wantID)
			}
		})
	}
}

func TestVerifier(t *testing.T) {
	priv, pub := testKey(t)
	_, otherPriv, _ := ed25519.GenerateKey(strings.NewReader(strings.Repeat("o", 64)))
	now := testNow
	newV := func() *Verifier {
		v, err := NewVerifier(VerifierOptions{Root: testRoot, Keys: []string{pub}, Require: []string{"restart"}, MaxSkew: time.Minute,
			Now: func() time.Time { return now }, NotBefore: testNow.Add(-time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	parse := func(topic string, b []byte) Command {
		c, err := Parse(topic, b)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	tests := []struct {
		name    string
		topic   string
		payload []byte
		want    error
	}{
		{"unsigned ping allowed", "cmd/ping", []byte(`{"id":"p"}`), nil},
		{"unsigned restart refused", "cmd/restart", []byte(`{"id":"r"}`), ErrSignatureRequired},
		{"signed restart", "cmd/restart", signed(priv, testRoot, "restart", "r", now, "nonce-aaaaaaaaaaaa", ""), nil},
		{"wrong key", "cmd/restart", signed(otherPriv, testRoot, "restart", "r", now, "nonce-aaaaaaaaaaab", ""), ErrBadSignature},
		{"other gateway", "cmd/restart", signed(priv, "praxisgate/v1/praxis-test/gw-02", "restart", "r", now, "nonce-aaaaaaaaaaac", ""), ErrBadSignature},
		{"signed for another command", "cmd/restart", signed(priv, testRoot, "ping", "r", now, "nonce-aaaaaaaaaaad", ""), ErrBadSignature},
		{"stale", "cmd/restart", signed(priv, testRoot, "restart", "r", now.Add(-2*time.Minute), "nonce-aaaaaaaaaaae", ""), ErrStale},
		{"future", "cmd/restart", signed(priv, testRoot, "restart", "r", now.Add(2*time.Minute), "nonce-aaaaaaaaaaaf", ""), ErrStale},
		{"bad signature on optional command", "cmd/ping", signed(otherPriv, testRoot, "ping", "p", now, "nonce-aaaaaaaaaaag", ""), ErrBadSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := newV().Check(parse(tc.topic, tc.payload))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Check = %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("tampered args", func(t *testing.T) {
		b := signed(priv, testRoot, "set-config", "s", now, "nonce-bbbbbbbbbbbb", `{"config":"a"}`)
		b = []byte(strings.Replace(string(b), `"config":"a"`, `"config":"b"`, 1))
		if err := newV().Check(parse("cmd/set-config", b)); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("Check = %v, want ErrBadSignature", err)
		}
	})
	t.Run("replay", func(t *testing.T) {
		v := newV()
		b := signed(priv, testRoot, "restart", "r", now, "nonce-cccccccccccc", "")
		if err := v.Check(parse("cmd/restart", b)); err != nil {
			t.Fatal(err)
		}
		if err := v.Check(parse("cmd/restart", b)); !errors.Is(err, ErrReplay) {
			t.Fatalf("second Check = %v, want ErrReplay", err)
		}
	})
	t.Run("signed before start", func(t *testing.T) {
		v, _ := NewVerifier(VerifierOptions{Root: testRoot, Keys: []string{pub}, MaxSkew: time.Minute, Now: func() time.Time { return now }, NotBefore: now})
		b := signed(priv, testRoot, "restart", "r", now.Add(-time.Second), "nonce-dddddddddddd", "")
		if err := v.Check(parse("cmd/restart", b)); !errors.Is(err, ErrReplay) {
			t.Fatalf("Check = %v, want ErrReplay", err)
		}
	})
	t.Run("bad key config", func(t *testing.T) {
		if _, err := NewVerifier(VerifierOptions{Keys: []string{"AAAA"}}); err == nil {
			t.Fatal("short key accepted")
		}
	})
}

// fakePub records published replies.
type fakePub struct {
	ch chan [2]string
}

func newFakePub() *fakePub { return &fakePub{ch: make(chan [2]string, 100)} }

func (f *fakePub) Publish(_ context.Context, suffix string, payload []byte, _ bool) error {
	f.ch <- [2]string{suffix, string(payload)}
	return nil
}

func (f *fakePub) wait(t *testing.T, suffix string) Reply {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m := <-f.ch:
			if m[0] != suffix {
				continue
			}
			var r Reply
			if err := json.Unmarshal([]byte(m[1]), &r); err != nil {
				t.Fatal(err)
			}
			return r
		case <-timeout:
			t.Fatalf("no reply on %s", suffix)
		}
	}
}

func TestProcessor(t *testing.T) {
	pub := newFakePub()
	var runs sync.Map
	count := func(ctx context.Context, r Request) (any, error) {
		n, _ := runs.LoadOrStore(r.ID, new(int))
		*n.(*int)++
		return map[string]int{"runs": *n.(*int)}, nil
	}
	after := make(chan struct{})
	p := New(Options{Publisher: pub, Handlers: map[string]Handler{
		"count": count,
		"boom":  func(context.Context, Request) (any, error) { panic("bug") },
		"args": func(_ context.Context, r Request) (any, error) {
			var a struct{ Device string }
			if err := DecodeArgs(r.Args, &a); err != nil {
				return nil, err
			}
			return a.Device, nil
		},
		"bye": func(context.Context, Request) (any, error) {
			return Then{Result: "ok", After: func() { close(after) }}, nil
		},
		"bundle": func(context.Context, Request) (any, error) {
			return Chunked{Encoding: "raw", Data: []byte("abcdefghij"), ChunkSize: 4}, nil
		},
	}})
	defer p.Close()

	p.Handle("cmd/count", []byte(`{"id":"a"}`))
	if r := pub.wait(t, "reply/a"); !r.OK {
		t.Fatalf("reply %+v", r)
	}
	p.Handle("cmd/count", []byte(`{"id":"a"}`)) // redelivery
	r := pub.wait(t, "reply/a")
	if res := r.Result.(map[string]any); res["runs"] != 1.0 {
		t.Fatalf("redelivered command ran again: %v", res)
	}

	for _, tc := range []struct{ topic, payload, id, wantErr string }{
		{"cmd/nope", `{"id":"u"}`, "u", `unknown command "nope"`},
		{"cmd/boom", `{"id":"b"}`, "b", "internal error"},
		{"cmd/args", `{"id":"x","args":{"devcie":"a"}}`, "x", "unknown field"},
		{"cmd/args", `{"id":"y","args":{"device":7}}`, "y", "cannot unmarshal"},
		{"cmd/ping", `{"id":"z","junk":1}`, "z", "unknown field"},
		{"cmd/restart", `{"id":"s","ts":"2026-11-22T13:00:00Z","nonce":"nonce-eeeeeeeeeeee","sig":"` + base64.StdEncoding.EncodeToString(make([]byte, 64)) + `"}`, "s", "no provider keys"},
	} {
		p.Handle(tc.topic, []byte(tc.payload))
		r := pub.wait(t, "reply/"+tc.id)
		if r.OK || !strings.Contains(r.Error, tc.wantErr) {
			t.Errorf("%s %s: reply %+v, want error %q", tc.topic, tc.payload, r, tc.wantErr)
		}
	}
	p.Handle("cmd/args", []byte(`{"id":"d","args":{"device":"usv"}}`))
	if r := pub.wait(t, "reply/d"); !r.OK || r.Result != "usv" {
		t.Fatalf("reply %+v", r)
	}
	p.Handle("cmd/bye", []byte(`{"id":"bye"}`))
	pub.wait(t, "reply/bye")
	select {
	case <-after:
	case <-time.After(10 * time.Second):
		t.Fatal("Then.After not run")
	}
	p.Handle("cmd/bundle", []byte(`{"id":"bn"}`))
	var joined []byte
	for i := 1; i <= 3; i++ {
		r := pub.wait(t, "reply/bn")
		if r.Part != i || r.Parts != 3 {
			t.Fatalf("chunk %d: part %d/%d", i, r.Part, r.Parts)
		}
		data, _ := base64.StdEncoding.DecodeString(r.Result.(map[string]any)["data"].(string))
		joined = append(joined, data...)
	}
	if string(joined) != "abcdefghij" {
		t.Fatalf("joined %q", joined)
	}
	p.Handle("cmd/ping", []byte(`not json at all`))
	if s := p.Stats(); s.Unanswerable != 1 || s.Duplicates != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// A forged command does not occupy its id: the genuine command sent later
// under the same id runs.
func TestForgeryDoesNotTakeTheID(t *testing.T) {
	priv, pubKey := testKey(t)
	_, forger, _ := ed25519.GenerateKey(strings.NewReader(strings.Repeat("f", 64)))
	now := time.Now()
	v, err := NewVerifier(VerifierOptions{Root: testRoot, Keys: []string{pubKey}, Require: []string{"restart"}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	pub := newFakePub()
	ran := 0
	p := New(Options{Publisher: pub, Verifier: v, Handlers: map[string]Handler{
		"restart": func(context.Context, Request) (any, error) { ran++; return "ok", nil },
	}})
	defer p.Close()
	p.Handle("cmd/restart", signed(forger, testRoot, "restart", "r-1", now, "nonce-ffffffffffff", ""))
	if r := pub.wait(t, "reply/r-1"); r.OK || !strings.Contains(r.Error, "does not verify") {
		t.Fatalf("forged: %+v", r)
	}
	p.Handle("cmd/restart", signed(priv, testRoot, "restart", "r-1", now, "nonce-gggggggggggg", ""))
	if r := pub.wait(t, "reply/r-1"); !r.OK || ran != 1 {
		t.Fatalf("genuine after forged: %+v, ran %d", r, ran)
	}
}
