package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unicode/utf8"
)

const (
	accountsFile = "accounts.json"
	// minPasswordLen is counted in characters; there is no composition
	// rule (NIST SP 800-63B), only length.
	minPasswordLen = 10
	maxPasswordLen = 256
)

// accounts holds the admin credentials. There is no default password: until
// the setup code has been used, only the setup page works.
type accounts struct {
	path string

	mu    sync.Mutex
	users map[string]string // name → argon2id hash
	// setupCode is the one-time code printed to the log on a start without
	// accounts; empty once an account exists.
	setupCode string
}

func openAccounts(dir string) (*accounts, error) {
	a := &accounts{path: filepath.Join(dir, accountsFile), users: map[string]string{}}
	data, err := os.ReadFile(a.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		code, err := PendingSetupCode(dir)
		if err != nil {
			return nil, err
		}
		a.setupCode = code
		return a, nil
	case err != nil:
		return nil, fmt.Errorf("web: read accounts: %w", err)
	}
	if err := json.Unmarshal(data, &a.users); err != nil {
		return nil, fmt.Errorf("web: parse %s: %w", a.path, err)
	}
	if len(a.users) == 0 {
		return nil, fmt.Errorf("web: %s holds no account; delete it to get a new setup code", a.path)
	}
	return a, nil
}

// newSetupCode returns 12 characters from an alphabet without look-alikes
// (no 0/O, 1/I/L), grouped in threes for reading aloud over the phone.
func newSetupCode() (string, error) {
	const alphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("web: setup code: %w", err)
	}
	var sb strings.Builder
	for i, c := range b {
		if i > 0 && i%4 == 0 {
			sb.WriteByte('-')
		}
		// 256 is not a multiple of 31; the bias (≤ 1/8) costs well under a
		// bit of the code's 59 and keeps the code simple.
		sb.WriteByte(alphabet[int(c)%len(alphabet)])
	}
	return sb.String(), nil
}

// SetupCode returns the pending one-time code, or "" when setup is done.
func (a *accounts) SetupCode() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.setupCode
}

func normaliseCode(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	return strings.NewReplacer("-", "", " ", "").Replace(s)
}

// checkSetupCode compares in constant time, ignoring case, spaces and dashes.
func (a *accounts) checkSetupCode(code string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.setupCode == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(normaliseCode(code)), []byte(normaliseCode(a.setupCode))) == 1
}

var usernameOK = func(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// passwordProblem returns a message key when pw is unacceptable.
func passwordProblem(pw, confirm string) string {
	switch n := utf8.RuneCountInString(pw); {
	case n < minPasswordLen:
		return "err.password_short"
	case len(pw) > maxPasswordLen:
		return "err.password_long"
	case pw != confirm:
		return "err.password_mismatch"
	}
	return ""
}

// setPassword stores (or replaces) an account and ends setup mode.
func (a *accounts) setPassword(user, pw string) error {
	h, err := hashPassword(pw)
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	next := make(map[string]string, len(a.users)+1)
	for k, v := range a.users {
		next[k] = v
	}
	next[user] = h
	data, err := json.MarshalIndent(next, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(a.path), 0o700); err != nil {
		return fmt.Errorf("web: create dir: %w", err)
	}
	if err := writeFileAtomic(a.path, data, 0o600); err != nil {
		return fmt.Errorf("web: write accounts: %w", err)
	}
	a.users = next
	a.setupCode = ""
	// The code is spent: a sticker or console screen that still shows it
	// opens nothing any more.
	if err := os.Remove(filepath.Join(filepath.Dir(a.path), setupCodeFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("web: remove spent setup code: %w", err)
	}
	return nil
}

// verify reports whether user/pw are valid. An unknown user still costs a
// full hash so that timing does not reveal which names exist.
func (a *accounts) verify(user, pw string) bool {
	a.mu.Lock()
	h, ok := a.users[user]
	a.mu.Unlock()
	if !ok {
		checkPassword(dummyHash(), pw)
		return false
	}
	good, err := checkPassword(h, pw)
	return err == nil && good
}

// dummyHash has the real parameters; its password is unknowable. It is
// made on first use, not at start, to keep the daemon's start fast.
var dummyHash = sync.OnceValue(func() string {
	h, err := hashPassword(rand.Text())
	if err != nil {
		panic(err)
	}
	return h
})
