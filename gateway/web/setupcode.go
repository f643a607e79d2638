package web

import (
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// setupCodeFile keeps the pending one-time code across restarts, so that
// the code on the console screen, on a sticker printed at staging and in
// the journal stay the same until the first administrator exists. It is
// removed when setup is done.
const setupCodeFile = "setup-code"

// ErrSetUp says the page already has an administrator: there is no setup
// code any more.
var ErrSetUp = errors.New("web page already set up (an administrator exists)")

// PendingSetupCode returns the one-time setup code of the web page whose
// state is in dir (config web.dir), making and storing one when there is
// none yet. The provider's staging runs it through "praxisgate
// setup-code" to print the sticker before the box ships; the daemon calls
// it on a start without accounts. The file belongs to dir's owner, so a
// code made by root at staging is readable by the daemon's user.
func PendingSetupCode(dir string) (string, error) {
	if _, err := os.Stat(filepath.Join(dir, accountsFile)); err == nil {
		return "", ErrSetUp
	}
	path := filepath.Join(dir, setupCodeFile)
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		code := strings.TrimSpace(string(data))
		if validSetupCode(code) {
			return code, nil
		}
		// A damaged file: a fresh code replaces it (the old one was
		// never usable).
	case !errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("web: read setup code: %w", err)
	}
	code, err := newSetupCode()
	if err != nil {
		return "", err
	}
	// Directories made here, and the file, belong to whoever owns the
	// nearest existing parent (the service user's state directory).
	uid, gid, foreign := ownerOf(existingParent(dir))
	made := missingDirs(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("web: create %s: %w", dir, err)
	}
	if err := writeFileAtomic(path, []byte(code+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("web: store setup code: %w", err)
	}
	if foreign {
		for _, p := range append(made, path) {
			if err := os.Chown(p, uid, gid); err != nil {
				return "", fmt.Errorf("web: hand %s to the owner of the state directory: %w", p, err)
			}
		}
	}
	return code, nil
}

// existingParent is dir or its nearest ancestor that exists.
func existingParent(dir string) string {
	for {
		if _, err := os.Stat(dir); err == nil {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			return dir
		}
		dir = up
	}
}

// missingDirs lists dir and its ancestors that do not exist yet.
func missingDirs(dir string) []string {
	var out []string
	for {
		if _, err := os.Stat(dir); err == nil {
			return out
		}
		out = append(out, dir)
		up := filepath.Dir(dir)
		if up == dir {
			return out
		}
		dir = up
	}
}

// ownerOf returns the owner of path and whether it differs from the
// running user (root at staging).
func ownerOf(path string) (uid, gid int, foreign bool) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, 0, false
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return int(sys.Uid), int(sys.Gid), int(sys.Uid) != os.Geteuid()
}

// validSetupCode reports whether s has the form newSetupCode makes.
func validSetupCode(s string) bool {
	const alphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
	if len(s) != 14 {
		return false
	}
	for i, c := range s {
		if i == 4 || i == 9 {
			if c != '-' {
				return false
			}
			continue
		}
		if !strings.ContainsRune(alphabet, c) {
			return false
		}
	}
	return true
}

// consoleIssue is the text the box's console login screen shows while
// setup is pending (agetty prints files of /etc/issue.d; the image links
// praxisgate.issue there to the daemon's runtime directory). agetty
// expands backslash escapes: \4 is the box's IPv4 address. Both
// languages, since nobody can switch a login screen's language.
func consoleIssue(code, fingerprint string) string {
	return "\n" +
		"praxisgate: Ersteinrichtung der Webseite / first-time setup of the web page\n" +
		"  Im Browser oeffnen / open in a browser:   https://\\4/\n" +
		"  Einrichtungscode / setup code:            " + code + "\n" +
		"  Zertifikat / certificate (SHA-256):\n" +
		"    " + fingerprint + "\n" +
		"  Der Code gilt einmal; danach verschwindet dieser Hinweis.\n" +
		"  The code works once; this notice then disappears.\n\n"
}

// writeIssue puts the console text in place (or removes it once setup is
// done). Failing to write it is logged, never fatal: the journal still has
// the code.
func (s *Server) writeIssue() {
	if s.issueFile == "" {
		return
	}
	code := s.accounts.SetupCode()
	if code == "" {
		if err := os.Remove(s.issueFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Warn("web: remove console setup notice", "file", s.issueFile, "err", err)
		}
		return
	}
	// agetty runs as root; nobody else needs to read it.
	if err := writeFileAtomic(s.issueFile, []byte(consoleIssue(code, s.fp)), 0o640); err != nil {
		s.log.Warn("web: write console setup notice", "file", s.issueFile, "err", err)
	}
}

// Sticker is the label the provider prints at staging and sticks on the
// box: the setup code with where to enter it. It is plain text, for any
// label printer; docs/web.md shows it.
func Sticker(code, gateway, fingerprint string) string {
	var b strings.Builder
	b.WriteString("praxisgate – Ersteinrichtung / first-time setup\n")
	if gateway != "" {
		b.WriteString("Box: " + gateway + "\n")
	}
	b.WriteString("Webseite: https://<IP der Box>/  (steht auch am Bildschirm der Box)\n")
	b.WriteString("Einrichtungscode: " + code + "\n")
	if fingerprint != "" {
		b.WriteString("Zertifikat SHA-256: " + fingerprint + "\n")
	}
	b.WriteString("Gilt einmal. Nach der Einrichtung Aufkleber entfernen.\n")
	return b.String()
}

// CertFingerprint is the SHA-256 fingerprint of the page's certificate in
// dir, or "" when the daemon has not made one yet (a box staged before its
// first start).
func CertFingerprint(dir string) string {
	data, err := os.ReadFile(filepath.Join(dir, certFileName))
	if err != nil {
		return ""
	}
	blk, _ := pem.Decode(data)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return ""
	}
	return Fingerprint(blk.Bytes)
}
