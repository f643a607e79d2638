package command

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"
)

const sigSize = ed25519.SignatureSize

// signContext separates praxisgate command signatures from any other use
// of the same key.
const signContext = "praxisgate-cmd-v1"

// SignedBytes is exactly what a provider signs: the context, the gateway's
// topic root (so a command captured for one box is useless for another),
// the command name, id, ts and nonce as sent, and the args object byte for
// byte. Fields are separated by NUL, which none of the checked fields can
// contain; args come last and may contain anything.
func SignedBytes(root, name, id, ts, nonce string, args []byte) []byte {
	b := make([]byte, 0, len(signContext)+len(root)+len(name)+len(id)+len(ts)+len(nonce)+len(args)+6)
	for _, s := range []string{signContext, root, name, id, ts, nonce} {
		b = append(b, s...)
		b = append(b, 0)
	}
	return append(b, args...)
}

// Sign returns the base64 signature of a command for the gateway at root.
// The provider's tooling (and the tests) use it; the gateway never signs.
func Sign(key ed25519.PrivateKey, root, name, id, ts, nonce string, args []byte) string {
	return base64.StdEncoding.EncodeToString(ed25519.Sign(key, SignedBytes(root, name, id, ts, nonce, args)))
}

// Errors of authentication; the reply carries their text.
var (
	ErrSignatureRequired = errors.New("this command must be signed by a provider key")
	ErrBadSignature      = errors.New("signature does not verify with any configured provider key")
	ErrStale             = errors.New("command timestamp is outside the allowed clock skew")
	ErrReplay            = errors.New("nonce already used: command replayed")
	ErrNonceStoreFull    = errors.New("too many signed commands in the skew window; try again later")
)

// maxNonces bounds the replay memory. Within one skew window (minutes) a
// provider sends a handful of signed commands to one box; an attacker
// flooding validly signed commands would need a provider key.
const maxNonces = 4096

// Verifier decides whether a command may run: its signature when present
// or required, its timestamp, and that its nonce is new. Safe for
// concurrent use.
type Verifier struct {
	root      string
	keys      []ed25519.PublicKey
	required  map[string]bool
	all       bool
	skew      time.Duration
	now       func() time.Time
	notBefore time.Time

	mu     sync.Mutex
	nonces map[string]time.Time // nonce → when it may be forgotten
}

// VerifierOptions configure a Verifier.
type VerifierOptions struct {
	// Root is the gateway's topic root; it is part of the signed bytes.
	Root string
	// Keys are the provider's Ed25519 public keys (base64 of 32 bytes).
	Keys []string
	// Require lists the commands that must be signed; "*" means all.
	Require []string
	// MaxSkew is how far ts may be from the box's clock. A captured
	// command can be replayed only within this window, and only if its
	// nonce was forgotten, which it is not before the window ends.
	MaxSkew time.Duration
	// Now is the box's clock (tests inject one).
	Now func() time.Time
	// NotBefore refuses signed commands whose ts is older, normally the
	// daemon's start. The nonce memory lives in RAM; without this, a
	// captured "restart" could be replayed after every restart it caused
	// until its skew window ends. The box uses a clean session, so no
	// legitimate command from before the start is still on its way.
	NotBefore time.Time
}

// NewVerifier checks the keys and builds a Verifier.
func NewVerifier(o VerifierOptions) (*Verifier, error) {
	v := &Verifier{root: o.Root, notBefore: o.NotBefore, required: map[string]bool{}, skew: o.MaxSkew, now: o.Now, nonces: map[string]time.Time{}}
	if v.now == nil {
		v.now = time.Now
	}
	if v.skew <= 0 {
		v.skew = 5 * time.Minute
	}
	for i, k := range o.Keys {
		raw, err := base64.StdEncoding.DecodeString(k)
		if err != nil || len(raw) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("command: key %d: want base64 of a %d-byte Ed25519 public key", i, ed25519.PublicKeySize)
		}
		v.keys = append(v.keys, ed25519.PublicKey(raw))
	}
	for _, n := range o.Require {
		if n == "*" {
			v.all = true
		}
		v.required[n] = true
	}
	return v, nil
}

// Check authenticates c. A signature that is present is always checked,
// even for a command that does not require one: a bad signature means
// tampering, not "unsigned". On success the nonce is remembered.
func (v *Verifier) Check(c Command) error {
	if c.Sig == nil {
		if v.all || v.required[c.Name] {
			return ErrSignatureRequired
		}
		return nil
	}
	msg := SignedBytes(v.root, c.Name, c.ID, c.RawTS, c.Nonce, c.Args)
	ok := false
	for _, k := range v.keys {
		if ed25519.Verify(k, msg, c.Sig) {
			ok = true
			break
		}
	}
	if !ok {
		return ErrBadSignature
	}
	now := v.now()
	if d := now.Sub(c.TS); d > v.skew || d < -v.skew {
		return fmt.Errorf("%w: ts %s, box clock %s, allowed ±%s", ErrStale, c.RawTS, now.UTC().Format(time.RFC3339), v.skew)
	}
	if c.TS.Before(v.notBefore) {
		return fmt.Errorf("%w: signed before this daemon started", ErrReplay)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, seen := v.nonces[c.Nonce]; seen {
		return ErrReplay
	}
	if len(v.nonces) >= maxNonces {
		for n, until := range v.nonces {
			if now.After(until) {
				delete(v.nonces, n)
			}
		}
		if len(v.nonces) >= maxNonces {
			return ErrNonceStoreFull
		}
	}
	// The nonce must be remembered for as long as ts is acceptable.
	v.nonces[c.Nonce] = c.TS.Add(v.skew)
	return nil
}
