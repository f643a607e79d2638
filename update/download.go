package update

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"strconv"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// download fetches url into partPath, resuming from what an earlier
// (interrupted) attempt left there, and never holding more than want.Length
// bytes. It then checks length and every listed hash against the signed
// target. On a mismatch the part file is removed, so the next attempt
// starts afresh instead of resuming garbage.
func download(ctx context.Context, hc *http.Client, url, partPath string, want *metadata.TargetFiles, hook func(string)) error {
	f, err := os.OpenFile(partPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open %s: %w", partPath, err)
	}
	defer f.Close()
	have, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("seek %s: %w", partPath, err)
	}
	if have > want.Length {
		if err := f.Truncate(0); err != nil {
			return err
		}
		have, _ = f.Seek(0, io.SeekStart)
	}
	if have < want.Length {
		if err := fetch(ctx, hc, url, f, have, want.Length, hook); err != nil {
			return err
		}
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", partPath, err)
	}
	if err := verify(f, want); err != nil {
		_ = os.Remove(partPath)
		return fmt.Errorf("%w: %w", errVerify, err)
	}
	return nil
}

// errVerify marks a download that arrived but is not the signed file: the
// repository is refused, unlike a network error after which the box
// simply tries again later.
var errVerify = errors.New("refused")

func fetch(ctx context.Context, hc *http.Client, url string, f *os.File, have, length int64, hook func(string)) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("download: %w", err)
	}
	if have > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("download: %w", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusPartialContent && have > 0:
		// resume: append
	case resp.StatusCode == http.StatusOK:
		if err := f.Truncate(0); err != nil {
			return err
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		have = 0
	default:
		return fmt.Errorf("download %s: HTTP %s", url, resp.Status)
	}
	half := length / 2
	buf := make([]byte, 64<<10)
	for have < length {
		n, rerr := resp.Body.Read(buf[:min(int64(len(buf)), length-have)])
		if n > 0 {
			if _, err := f.Write(buf[:n]); err != nil {
				return fmt.Errorf("download: write: %w", err)
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
			return fmt.Errorf("download: after %d bytes: %w", have, rerr)
		}
	}
	if have < length {
		return fmt.Errorf("download: got %d of %d bytes", have, length)
	}
	// One byte more than signed means the server sends a different file.
	if n, _ := resp.Body.Read(buf[:1]); n > 0 {
		return fmt.Errorf("download: server sends more than the signed %d bytes", length)
	}
	return nil
}

// verify checks the whole file against the signed length and hashes. At
// least one known hash must be listed: a target without one is refused.
func verify(f *os.File, want *metadata.TargetFiles) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() != want.Length {
		return fmt.Errorf("verify: length %d, signed %d", st.Size(), want.Length)
	}
	checked := 0
	for alg, sum := range want.Hashes {
		var h hash.Hash
		switch alg {
		case "sha256":
			h = sha256.New()
		case "sha512":
			h = sha512.New()
		default:
			continue
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if _, err := io.Copy(h, f); err != nil {
			return fmt.Errorf("verify: read: %w", err)
		}
		if got := h.Sum(nil); hex.EncodeToString(got) != hex.EncodeToString(sum) {
			return fmt.Errorf("verify: %s of the download does not match the signed target (tampered or corrupt)", alg)
		}
		checked++
	}
	if checked == 0 {
		return errors.New("verify: the target lists no sha256 or sha512 hash")
	}
	return nil
}
