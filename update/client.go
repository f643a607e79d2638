package update

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"
)

// checkRepoURL accepts HTTPS, and plain HTTP only on loopback (tests, a
// local mirror behind a TLS proxy). TUF would make even plain HTTP safe
// against tampering, but HTTPS also hides which version a practice runs.
func checkRepoURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("repository URL: %w", err)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); (ip != nil && ip.IsLoopback()) || host == "localhost" {
			return nil
		}
		return fmt.Errorf("repository URL %q: plain http is only allowed on loopback", raw)
	}
	return fmt.Errorf("repository URL %q: want https", raw)
}

// refresh runs the TUF client workflow (root rotation, timestamp, snapshot,
// targets, with rollback and freeze protection from the cache in dir) and
// returns the top-level targets. The root is the cached one when present:
// it was verified by an earlier refresh and may be newer than the
// provisioned one. A cached root that does not load (damaged on disk, not
// signed by its own keys) would block every update for ever, so it is
// moved aside to root.json.bad and the refresh starts again from the
// provisioned root, which verifies the chain of newer roots from the
// repository once more; fellBack says so.
//
// The other cached files (timestamp, snapshot, targets) only guard
// against rollback; go-tuf writes them without fsync, so a power cut can
// leave one empty or cut short, and go-tuf then fails every refresh on it
// for good. Files that are not whole JSON are moved aside (<name>.bad)
// and fetched again; after a good refresh the cache is synced to disk.
func refresh(repoURL string, provisionedRoot []byte, dir string, hc *http.Client) (up *updater.Updater, targets map[string]*metadata.TargetFiles, fellBack error, err error) {
	torn, err := setAsideTorn(dir)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("tuf: check the metadata cache: %w", err)
	}
	if len(torn) > 0 {
		fellBack = fmt.Errorf("cached metadata cut short (%s), as a power cut leaves it: moved aside as .bad, fetched again", strings.Join(torn, ", "))
	}
	root := provisionedRoot
	cachedPath := filepath.Join(dir, "root.json")
	cached, rerr := os.ReadFile(cachedPath)
	if rerr == nil && !bytes.Equal(cached, provisionedRoot) {
		root = cached
	}
	up, err = newUpdater(repoURL, root, dir, hc)
	if err != nil && rerr == nil && !bytes.Equal(root, provisionedRoot) {
		fellBack = errors.Join(fellBack, fmt.Errorf("the cached root metadata does not verify (%v); moved to root.json.bad, starting again from the provisioned root", err))
		if mverr := os.Rename(cachedPath, cachedPath+".bad"); mverr != nil {
			return nil, nil, fellBack, fmt.Errorf("tuf: move the damaged cached root aside: %w", mverr)
		}
		up, err = newUpdater(repoURL, provisionedRoot, dir, hc)
	}
	if err != nil {
		return nil, nil, fellBack, fmt.Errorf("tuf: load trusted root: %w", err)
	}
	if err := up.Refresh(); err != nil {
		return nil, nil, fellBack, fmt.Errorf("tuf refresh: %w", explainTUF(err))
	}
	if err := syncCache(dir); err != nil {
		return nil, nil, fellBack, fmt.Errorf("tuf: sync the metadata cache: %w", err)
	}
	return up, up.GetTopLevelTargets(), fellBack, nil
}

// setAsideTorn renames the cached metadata files in dir that are not
// whole JSON to <name>.bad and returns their names.
func setAsideTorn(dir string) ([]string, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	var torn []string
	for _, p := range names {
		b, err := os.ReadFile(p)
		if err != nil {
			return torn, err
		}
		if json.Valid(b) {
			continue
		}
		if err := os.Rename(p, p+".bad"); err != nil {
			return torn, err
		}
		torn = append(torn, filepath.Base(p))
	}
	return torn, nil
}

// syncCache fsyncs the cached metadata files and their directory, so
// what a refresh trusted survives a power cut.
func syncCache(dir string) error {
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return err
	}
	for _, p := range names {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	return syncDir(dir)
}

// newUpdater is a TUF client that trusts root and caches in dir.
func newUpdater(repoURL string, root []byte, dir string, hc *http.Client) (*updater.Updater, error) {
	cfg, err := config.New(repoURL, root)
	if err != nil {
		return nil, fmt.Errorf("tuf config: %w", err)
	}
	cfg.LocalMetadataDir = dir
	cfg.LocalTargetsDir = filepath.Join(dir, "targets")
	if err := cfg.SetDefaultFetcherHTTPClient(hc); err != nil {
		return nil, err
	}
	if err := cfg.SetDefaultFetcherRetry(200*time.Millisecond, 2); err != nil {
		return nil, err
	}
	return updater.New(cfg)
}

// explainTUF adds words a technician can act on to go-tuf's errors.
func explainTUF(err error) error {
	var exp *metadata.ErrExpiredMetadata
	var sig *metadata.ErrUnsignedMetadata
	var bad *metadata.ErrBadVersionNumber
	switch {
	case errors.As(err, &exp):
		return fmt.Errorf("metadata expired (freeze attack or provider forgot to refresh the timestamp): %w", err)
	case errors.As(err, &sig):
		return fmt.Errorf("signature check failed (wrong root key or forged metadata): %w", err)
	case errors.As(err, &bad):
		return fmt.Errorf("metadata version went back (rollback attack): %w", err)
	}
	return err
}

// targetURL is where a target file lies: with consistent snapshots, TUF
// prefixes its base name with its hash.
func targetURL(base string, tf *metadata.TargetFiles, consistent bool) string {
	p := tf.Path
	if consistent {
		var h string
		if s, ok := tf.Hashes["sha256"]; ok {
			h = hex.EncodeToString(s)
		} else {
			for _, s := range tf.Hashes {
				h = hex.EncodeToString(s)
				break
			}
		}
		dir, name := "", p
		if i := strings.LastIndexByte(p, '/'); i >= 0 {
			dir, name = p[:i+1], p[i+1:]
		}
		p = dir + h + "." + name
	}
	return strings.TrimSuffix(base, "/") + "/targets/" + p
}
