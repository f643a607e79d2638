package update

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// errVerify marks a download that arrived but is not the signed file: the
// repository is refused, unlike a network error after which the box
// simply tries again later.
var errVerify = errors.New("refused")

// errNotTheFile marks an answer that cannot be the signed file (wrong
// status, wrong length, a captive portal's page): the box tries again
// later, with nothing of it kept.
var errNotTheFile = errors.New("the server did not send the signed file")

// download fetches url into partPath and checks length and every listed
// hash against the signed target while the bytes arrive.
//
// What is kept in partPath between attempts is only ever the beginning of
// an answer that announced exactly the signed length and broke off (the
// connection dropped): the next attempt resumes it with a Range request.
// Anything else that fails (an answer of another length or status, more
// bytes than signed, a clean end before the signed length) removes the
// part file, so junk is never resumed. A resumed download whose hash does
// not match is not believed to be the server's fault: the part is removed
// and the file fetched once more from the start, and only a mismatch of a
// download from the start refuses the repository.
func download(ctx context.Context, hc *http.Client, url, partPath string, want *metadata.TargetFiles, hook func(string)) error {
	err := downloadOnce(ctx, hc, url, partPath, want, hook)
	var rm *resumedMismatch
	if errors.As(err, &rm) {
		err = downloadOnce(ctx, hc, url, partPath, want, hook)
		if errors.As(err, &rm) { // cannot happen: the part was removed
			err = fmt.Errorf("%w: %w", errVerify, rm.err)
		}
	}
	return err
}

// resumedMismatch is a hash mismatch of a download that resumed bytes of
// an earlier attempt: those bytes may be the culprit.
type resumedMismatch struct{ err error }

func (e *resumedMismatch) Error() string { return "resumed download does not verify: " + e.err.Error() }

func downloadOnce(ctx context.Context, hc *http.Client, url, partPath string, want *metadata.TargetFiles, hook func(string)) (err error) {
	sums, err := newSums(want)
	if err != nil {
		_ = os.Remove(partPath)
		return fmt.Errorf("%w: %w", errVerify, err)
	}
	f, err := os.OpenFile(partPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open %s: %w", partPath, err)
	}
	keep := false
	defer func() {
		f.Close()
		if !keep {
			_ = os.Remove(partPath)
		}
	}()
	have, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("seek %s: %w", partPath, err)
	}
	if have > want.Length {
		have = 0 // not this file
	}
	if err := f.Truncate(have); err != nil {
		return fmt.Errorf("truncate %s: %w", partPath, err)
	}
	// The bytes kept so far count into the hashes.
	if have > 0 {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if n, err := io.Copy(sums, io.LimitReader(f, have)); err != nil || n != have {
			return fmt.Errorf("read %s: %d of %d bytes: %v", partPath, n, have, err)
		}
	}
	if have == want.Length {
		// Complete but not yet renamed into place (the process was
		// stopped in between): keep it if it verifies.
		if sums.check() == nil {
			keep = true
			return nil
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if err := f.Truncate(0); err != nil {
			return err
		}
		sums.reset()
		have = 0
	}
	resumed, err := fetch(ctx, hc, url, f, sums, have, want.Length, hook)
	if err != nil {
		var br *brokenOff
		keep = errors.As(err, &br) && br.have > 0
		if keep {
			_ = f.Sync()
		}
		return err
	}
	if err := sums.check(); err != nil {
		if resumed {
			return &resumedMismatch{err: err}
		}
		return fmt.Errorf("%w: %w", errVerify, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", partPath, err)
	}
	keep = true
	return nil
}

// brokenOff is a transfer that stopped half-way after a good start; what
// arrived may be resumed.
type brokenOff struct {
	have, length int64
	err          error
}

func (e *brokenOff) Error() string {
	return fmt.Sprintf("download: broke off after %d of %d bytes: %v", e.have, e.length, e.err)
}

func (e *brokenOff) Unwrap() error { return e.err }

// fetch appends the file from byte have on (or from the start, when the
// server answers a Range request with the whole file) until length bytes
// are there, feeding sums. It tells whether bytes of an earlier attempt
// were kept.
func fetch(ctx context.Context, hc *http.Client, url string, f *os.File, sums *sums, have, length int64, hook func(string)) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, fmt.Errorf("download: %w", err)
	}
	if have > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
	}
	resp, err := hc.Do(req)
	if err != nil {
		// Nothing new arrived; the bytes kept so far stay valid.
		return false, &brokenOff{have: have, length: length, err: err}
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusPartialContent && have > 0:
		if got := resp.Header.Get("Content-Range"); got != fmt.Sprintf("bytes %d-%d/%d", have, length-1, length) {
			return false, fmt.Errorf("download %s: %w: Content-Range %q for a file of %d bytes", url, errNotTheFile, got, length)
		}
	case resp.StatusCode == http.StatusOK:
		if have > 0 {
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return false, err
			}
			if err := f.Truncate(0); err != nil {
				return false, err
			}
			sums.reset()
			have = 0
		}
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		// The server's trouble; what was kept is still the file's start.
		return false, &brokenOff{have: have, length: length, err: fmt.Errorf("HTTP %s", resp.Status)}
	default:
		return false, fmt.Errorf("download %s: %w: HTTP %s", url, errNotTheFile, resp.Status)
	}
	resumed := have > 0
	if resp.ContentLength >= 0 && resp.ContentLength != length-have {
		return resumed, fmt.Errorf("download %s: %w: it announces %d bytes (%s), the signed rest is %d",
			url, errNotTheFile, resp.ContentLength, contentType(resp), length-have)
	}
	if _, err := f.Seek(have, io.SeekStart); err != nil {
		return resumed, err
	}
	w := io.MultiWriter(f, sums)
	half := length / 2
	buf := make([]byte, 64<<10)
	for have < length {
		n, rerr := resp.Body.Read(buf[:min(int64(len(buf)), length-have)])
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return resumed, fmt.Errorf("download: write: %w", err)
			}
			if have < half && have+int64(n) >= half && hook != nil {
				_ = f.Sync()
				hook("download-half")
			}
			have += int64(n)
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			if resp.ContentLength >= 0 {
				// The answer announced the signed length and broke off.
				return resumed, &brokenOff{have: have, length: length, err: rerr}
			}
			return resumed, fmt.Errorf("download: after %d bytes: %w", have, rerr)
		}
	}
	if have < length {
		return resumed, fmt.Errorf("download %s: %w: it ended after %d of the signed %d bytes (%s)", url, errNotTheFile, have, length, contentType(resp))
	}
	// One byte more than signed means the server sends a different file.
	if n, _ := resp.Body.Read(buf[:1]); n > 0 {
		return resumed, fmt.Errorf("download %s: %w: it sends more than the signed %d bytes", url, errNotTheFile, length)
	}
	return resumed, nil
}

func contentType(resp *http.Response) string {
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		return ct
	}
	return "no content type"
}

// sums computes every hash the target lists that the box knows, as the
// bytes stream in.
type sums struct {
	want map[string][]byte
	h    map[string]hash.Hash
}

func newSums(want *metadata.TargetFiles) (*sums, error) {
	s := &sums{want: map[string][]byte{}, h: map[string]hash.Hash{}}
	for alg, sum := range want.Hashes {
		switch alg {
		case "sha256":
			s.h[alg] = sha256.New()
		case "sha512":
			s.h[alg] = sha512.New()
		default:
			continue
		}
		s.want[alg] = sum
	}
	if len(s.h) == 0 {
		return nil, errors.New("verify: the target lists no sha256 or sha512 hash")
	}
	return s, nil
}

func (s *sums) Write(p []byte) (int, error) {
	for _, h := range s.h {
		h.Write(p)
	}
	return len(p), nil
}

func (s *sums) reset() {
	for _, h := range s.h {
		h.Reset()
	}
}

func (s *sums) check() error {
	var bad []string
	for alg, h := range s.h {
		if !bytes.Equal(h.Sum(nil), s.want[alg]) {
			bad = append(bad, alg)
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("verify: %s of the download does not match the signed target (tampered or corrupt)", strings.Join(bad, ", "))
	}
	return nil
}
