// Package command turns MQTT messages on cmd/{name} into calls of the
// gateway and publishes the answers on reply/{id} (schema 1, see
// docs/commands.md). It owns everything between the broker and the
// handlers: strict parsing of untrusted payloads, Ed25519 signatures with a
// timestamp and a nonce against replay, exactly-once execution per command
// id under QoS 1 redelivery, and reply encoding including chunked replies.
// It knows nothing of what a command does: handlers are registered by the
// gateway (gateway/commands.go).
package command

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// MaxPayload bounds a command message. The largest legitimate command is a
// set-config carrying a whole config file (config.Load accepts 1 MiB; real
// files are a few KiB); anything above is refused with an error reply
// before it is decoded.
const MaxPayload = 256 << 10

var (
	idRE    = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	nameRE  = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
	nonceRE = regexp.MustCompile(`^[A-Za-z0-9_-]{16,64}$`)
)

// Command is one parsed command. Only Parse creates it, so every field has
// passed its syntax check.
type Command struct {
	// Name is the last topic level of cmd/{name}.
	Name string
	// ID is chosen by the sender; the reply goes to reply/{id}.
	ID string
	// TS is the sender's clock when it signed; zero when absent.
	TS time.Time
	// RawTS is ts exactly as sent (it is part of the signed bytes).
	RawTS string
	// Nonce is a random value, unique per signed command.
	Nonce string
	// Args is the "args" member exactly as sent (an object, null, or nil
	// when absent), so a signature over it does not depend on
	// re-encoding. DecodeArgs reads it.
	Args json.RawMessage
	// Sig is the Ed25519 signature, nil when the command is unsigned.
	Sig []byte
}

// wire is the JSON shape on cmd/{name}. Unknown members are errors: a
// misspelt "sig" must not turn a signed command into an unsigned one.
type wire struct {
	ID     string          `json:"id"`
	Schema *int            `json:"schema"`
	TS     string          `json:"ts"`
	Nonce  string          `json:"nonce"`
	Args   json.RawMessage `json:"args"`
	Sig    string          `json:"sig"`
}

// ParseError is a command that was refused before it ran. ID is set when
// the payload named a usable id, so the sender can still get an error
// reply; otherwise nobody can be answered and the error is only logged.
type ParseError struct {
	ID  string
	Msg string
}

func (e *ParseError) Error() string { return e.Msg }

// ErrNoID marks a payload from which no reply address could be read.
var ErrNoID = errors.New("command has no usable id")

// Parse checks one message from topic suffix cmd/{name}. It never panics
// and allocates at most a bounded multiple of len(payload).
func Parse(topicSuffix string, payload []byte) (Command, error) {
	name, ok := strings.CutPrefix(topicSuffix, "cmd/")
	var c Command
	if len(payload) > MaxPayload {
		return c, &ParseError{ID: peekID(payload[:min(len(payload), 4096)]), Msg: fmt.Sprintf("command too large: %d bytes, at most %d", len(payload), MaxPayload)}
	}
	var w wire
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return c, &ParseError{ID: peekID(payload), Msg: "command is not a valid JSON object: " + cleanJSONErr(err)}
	}
	if dec.More() {
		return c, &ParseError{ID: peekID(payload), Msg: "command has data after the JSON object"}
	}
	if !idRE.MatchString(w.ID) {
		return c, &ParseError{Msg: fmt.Sprintf("%v: id %.80q must be 1-64 of A-Z a-z 0-9 _ -", ErrNoID, w.ID)}
	}
	c.ID = w.ID
	fail := func(format string, a ...any) (Command, error) {
		return Command{ID: w.ID}, &ParseError{ID: w.ID, Msg: fmt.Sprintf(format, a...)}
	}
	if !ok || !nameRE.MatchString(name) {
		return fail("command name %.40q must be a-z, 0-9 and '-', at most 32", name)
	}
	c.Name = name
	if w.Schema != nil && *w.Schema != 1 {
		return fail("schema %d not supported, want 1", *w.Schema)
	}
	if w.TS != "" {
		t, err := time.Parse(time.RFC3339Nano, w.TS)
		if err != nil {
			return fail("ts %.40q is not an RFC 3339 time", w.TS)
		}
		c.TS, c.RawTS = t, w.TS
	}
	if w.Nonce != "" && !nonceRE.MatchString(w.Nonce) {
		return fail("nonce must be 16-64 of A-Z a-z 0-9 _ -")
	}
	c.Nonce = w.Nonce
	if a := w.Args; len(a) > 0 && !bytes.Equal(a, []byte("null")) && a[0] != '{' {
		return fail("args must be a JSON object")
	}
	c.Args = w.Args
	if w.Sig != "" {
		sig, err := base64.StdEncoding.DecodeString(w.Sig)
		if err != nil || len(sig) != sigSize {
			return fail("sig must be a base64 Ed25519 signature of %d bytes", sigSize)
		}
		if c.RawTS == "" || c.Nonce == "" {
			return fail("a signed command needs ts and nonce")
		}
		c.Sig = sig
	}
	return c, nil
}

// peekID extracts a valid top-level id from a payload that failed the
// strict parse (malformed, trailing data, or cut off because oversized), so
// that such a command still gets an error reply when possible.
func peekID(payload []byte) string {
	dec := json.NewDecoder(bytes.NewReader(payload))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return ""
	}
	for i := 0; i < 64 && dec.More(); i++ {
		k, err := dec.Token()
		if err != nil {
			return ""
		}
		if k == "id" {
			var id string
			if dec.Decode(&id) != nil || !idRE.MatchString(id) {
				return ""
			}
			return id
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return ""
		}
	}
	return ""
}

// cleanJSONErr shortens decoder errors, which can quote attacker input.
func cleanJSONErr(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, "json: ")
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}

// DecodeArgs decodes a command's args strictly into v: unknown members are
// an error naming them, so a typo in an argument is not silently ignored.
func DecodeArgs(args json.RawMessage, v any) error {
	if len(args) == 0 {
		args = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(args))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return BadArgs("args: " + cleanJSONErr(err))
	}
	return nil
}

// BadArgs is an error a handler returns for arguments it cannot use.
type BadArgs string

func (b BadArgs) Error() string { return string(b) }
