package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// deviceCookieName carries the proof that this browser logged in to an
// account before (OWASP's "device cookie"): the throttle then judges its
// attempts by its own failures only, so nobody else's guessing can slow
// the technician's own browser.
const deviceCookieName = "__Host-praxisgate-device"

// deviceCookieLife is how long a browser stays known without logging in.
const deviceCookieLife = 365 * 24 * time.Hour

// signKeyFileName holds the page's signing key. It must survive restarts, or
// every known browser would become unknown at each reboot, exactly when
// the technician comes to look after a power cut.
const signKeyFileName = "web.key"

// signer signs the device cookies and the anonymous sessions' tokens
// with purpose-bound subkeys of one secret kept in the web directory.
type signer struct {
	key []byte
}

func loadOrCreateSigner(dir string) (*signer, error) {
	path := filepath.Join(dir, signKeyFileName)
	key, err := os.ReadFile(path)
	switch {
	case err == nil && len(key) == 32:
		return &signer{key: key}, nil
	case err == nil:
		// A short or damaged key is replaced: the only cost is that known
		// browsers and open login forms must start again.
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("web: read %s: %w", path, err)
	}
	key = make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("web: new signing key: %w", err)
	}
	if err := writeFileAtomic(path, key, 0o600); err != nil {
		return nil, fmt.Errorf("web: write %s: %w", path, err)
	}
	return &signer{key: key}, nil
}

// mac is the base64url HMAC-SHA256 of msg under the subkey for purpose.
func (s *signer) mac(purpose, msg string) string {
	sub := hmac.New(sha256.New, s.key)
	sub.Write([]byte(purpose))
	h := hmac.New(sha256.New, sub.Sum(nil))
	h.Write([]byte(msg))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

func (s *signer) valid(purpose, msg, mac string) bool {
	return hmac.Equal([]byte(s.mac(purpose, msg)), []byte(mac))
}

// issueDevice sets the device cookie for user after a successful login.
func (s *signer) issueDevice(w http.ResponseWriter, user string, now time.Time) {
	body := strings.Join([]string{"v1", base64.RawURLEncoding.EncodeToString([]byte(user)),
		strconv.FormatInt(now.Unix(), 10), rand.Text()}, ".")
	http.SetCookie(w, &http.Cookie{Name: deviceCookieName, Value: body + "." + s.mac("device", body),
		Path: "/", MaxAge: int(deviceCookieLife.Seconds()), Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

// device returns the id of r's device cookie when it is genuine, younger
// than deviceCookieLife and issued for user; "" otherwise.
func (s *signer) device(r *http.Request, user string, now time.Time) string {
	c, err := r.Cookie(deviceCookieName)
	if err != nil || len(c.Value) > 512 {
		return ""
	}
	parts := strings.Split(c.Value, ".")
	if len(parts) != 5 || parts[0] != "v1" {
		return ""
	}
	body := strings.Join(parts[:4], ".")
	if !s.valid("device", body, parts[4]) {
		return ""
	}
	name, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || string(name) != user {
		return ""
	}
	issued, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return ""
	}
	if age := now.Sub(time.Unix(issued, 0)); age < 0 || age > deviceCookieLife {
		return ""
	}
	return parts[3]
}
