package httpjson

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
)

// challenge is a parsed `WWW-Authenticate: Digest ...` header (RFC 7616).
// Shelly Gen2 sends e.g.
//
//	Digest qop="auth", realm="shellyplusht-b8d61a8b17cc", nonce="1680962879", algorithm=SHA-256
type challenge struct {
	realm, nonce, opaque, algorithm string
	qopAuth                         bool
}

// parseChallenge reads one Digest challenge. It accepts quoted and token
// values in any order and ignores parameters it does not know, as RFC 7616
// asks of clients.
func parseChallenge(h string) (challenge, error) {
	var c challenge
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	if !strings.EqualFold(scheme, "Digest") {
		return c, fmt.Errorf("not a Digest challenge: %q", scheme)
	}
	params, err := parseParams(rest)
	if err != nil {
		return c, err
	}
	c.realm, c.nonce, c.opaque = params["realm"], params["nonce"], params["opaque"]
	c.algorithm = strings.ToUpper(params["algorithm"])
	if c.algorithm == "" {
		c.algorithm = "MD5"
	}
	if c.algorithm != "MD5" && c.algorithm != "SHA-256" {
		return c, fmt.Errorf("unsupported digest algorithm %q", params["algorithm"])
	}
	if c.nonce == "" {
		return c, fmt.Errorf("digest challenge without nonce")
	}
	if q, ok := params["qop"]; ok {
		for _, v := range strings.Split(q, ",") {
			if strings.TrimSpace(v) == "auth" {
				c.qopAuth = true
			}
		}
		if !c.qopAuth {
			return c, fmt.Errorf("digest challenge offers qop %q, not auth", q)
		}
	}
	return c, nil
}

// parseParams splits `a="x, y", b=z` into a map, honouring quotes and
// backslash escapes.
func parseParams(s string) (map[string]string, error) {
	out := map[string]string{}
	for {
		s = strings.TrimLeft(s, " \t,")
		if s == "" {
			return out, nil
		}
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return nil, fmt.Errorf("malformed parameter in %q", s)
		}
		key := strings.ToLower(strings.TrimSpace(s[:eq]))
		s = strings.TrimLeft(s[eq+1:], " \t")
		var val strings.Builder
		if strings.HasPrefix(s, `"`) {
			i, closed := 1, false
			for i < len(s) {
				ch := s[i]
				if ch == '\\' && i+1 < len(s) {
					val.WriteByte(s[i+1])
					i += 2
					continue
				}
				if ch == '"' {
					closed = true
					i++
					break
				}
				val.WriteByte(ch)
				i++
			}
			if !closed {
				return nil, fmt.Errorf("unterminated quoted value for %q", key)
			}
			s = s[i:]
		} else {
			end := strings.IndexAny(s, ", \t")
			if end < 0 {
				end = len(s)
			}
			val.WriteString(s[:end])
			s = s[end:]
		}
		out[key] = val.String()
	}
}

func (c challenge) hash() hash.Hash {
	if c.algorithm == "SHA-256" {
		return sha256.New()
	}
	return md5.New()
}

func (c challenge) h(parts ...string) string {
	h := c.hash()
	h.Write([]byte(strings.Join(parts, ":")))
	return hex.EncodeToString(h.Sum(nil))
}

// authorization computes the Authorization header for one request. nc is
// the nonce count, cnonce the client nonce (random in production, fixed in
// tests so the response can be checked against a worked example).
func (c challenge) authorization(method, uri, user, pass string, nc uint32, cnonce string) string {
	ha1 := c.h(user, c.realm, pass)
	ha2 := c.h(method, uri)
	var b strings.Builder
	fmt.Fprintf(&b, `Digest username=%q, realm=%q, nonce=%q, uri=%q, algorithm=%s`, user, c.realm, c.nonce, uri, c.algorithm)
	if c.qopAuth {
		ncs := fmt.Sprintf("%08x", nc)
		resp := c.h(ha1, c.nonce, ncs, cnonce, "auth", ha2)
		fmt.Fprintf(&b, `, response=%q, qop=auth, nc=%s, cnonce=%q`, resp, ncs, cnonce)
	} else {
		fmt.Fprintf(&b, `, response=%q`, c.h(ha1, c.nonce, ha2))
	}
	if c.opaque != "" {
		fmt.Fprintf(&b, `, opaque=%q`, c.opaque)
	}
	return b.String()
}

func newCnonce() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
