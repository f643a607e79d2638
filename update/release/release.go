// Package release is the provider's side of the self-update: it creates
// and maintains the TUF repository the gateways read (signed root,
// targets, snapshot and timestamp metadata plus the target files), with one
// ed25519 key per role. Keys live in a directory apart from the published
// tree, so the tree can be copied to a web server as it is.
package release

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/renameio/v2"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// Roles are the four top-level TUF roles, each with its own key.
var Roles = []string{metadata.ROOT, metadata.TARGETS, metadata.SNAPSHOT, metadata.TIMESTAMP}

// Expiry is how long each role's metadata stays valid when (re)signed. A
// short timestamp expiry bounds how long a compromised or stuck mirror can
// hide new releases from the boxes (freeze attack); the provider refreshes
// it from a timer ("praxisgate release timestamp").
type Expiry struct {
	Root, Targets, Snapshot, Timestamp time.Duration
}

// DefaultExpiry suits a provider who refreshes the timestamp daily.
var DefaultExpiry = Expiry{Root: 365 * 24 * time.Hour, Targets: 90 * 24 * time.Hour,
	Snapshot: 30 * 24 * time.Hour, Timestamp: 3 * 24 * time.Hour}

// Repo is one repository: Dir is the published tree, KeyDir holds the
// private keys (mode 0600), never published.
type Repo struct {
	Dir    string
	KeyDir string
	Expiry Expiry
	Now    func() time.Time

	root      *metadata.Metadata[metadata.RootType]
	targets   *metadata.Metadata[metadata.TargetsType]
	snapshot  *metadata.Metadata[metadata.SnapshotType]
	timestamp *metadata.Metadata[metadata.TimestampType]
}

func (r *Repo) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Repo) expiry() Expiry {
	e := r.Expiry
	d := DefaultExpiry
	if e.Root == 0 {
		e.Root = d.Root
	}
	if e.Targets == 0 {
		e.Targets = d.Targets
	}
	if e.Snapshot == 0 {
		e.Snapshot = d.Snapshot
	}
	if e.Timestamp == 0 {
		e.Timestamp = d.Timestamp
	}
	return e
}

func (r *Repo) expires(d time.Duration) time.Time { return r.now().UTC().Add(d).Truncate(time.Second) }

// Init creates keys and version 1 of every role, with consistent
// snapshots so a box never mixes files from two publications.
func (r *Repo) Init() error {
	if _, err := os.Stat(filepath.Join(r.Dir, "root.json")); err == nil {
		return fmt.Errorf("release: %s already holds a repository", r.Dir)
	}
	for _, d := range []string{r.Dir, filepath.Join(r.Dir, "targets")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("release: init: %w", err)
		}
	}
	if err := os.MkdirAll(r.KeyDir, 0o700); err != nil {
		return fmt.Errorf("release: init: %w", err)
	}
	e := r.expiry()
	r.root = metadata.Root(r.expires(e.Root))
	r.root.Signed.ConsistentSnapshot = true
	for _, role := range Roles {
		if _, err := os.Stat(r.keyPath(role)); err == nil {
			return fmt.Errorf("release: init: key %s exists; refusing to overwrite", r.keyPath(role))
		}
		priv, err := r.newKey(role)
		if err != nil {
			return err
		}
		k, err := metadata.KeyFromPublicKey(priv.Public())
		if err != nil {
			return fmt.Errorf("release: init: %w", err)
		}
		if err := r.root.Signed.AddKey(k, role); err != nil {
			return fmt.Errorf("release: init: %w", err)
		}
	}
	r.targets = metadata.Targets(r.expires(e.Targets))
	r.snapshot = metadata.Snapshot(r.expires(e.Snapshot))
	r.timestamp = metadata.Timestamp(r.expires(e.Timestamp))
	if err := r.writeRoot(nil); err != nil {
		return err
	}
	return r.publish(true, true)
}

// Load reads the newest published metadata.
func (r *Repo) Load() error {
	n, err := newestRoot(r.Dir)
	if err != nil {
		return err
	}
	if r.root, err = metadata.Root().FromFile(filepath.Join(r.Dir, fmt.Sprintf("%d.root.json", n))); err != nil {
		return fmt.Errorf("release: load root: %w", err)
	}
	if r.timestamp, err = metadata.Timestamp().FromFile(filepath.Join(r.Dir, "timestamp.json")); err != nil {
		return fmt.Errorf("release: load timestamp: %w", err)
	}
	sv := r.timestamp.Signed.Meta["snapshot.json"].Version
	if r.snapshot, err = metadata.Snapshot().FromFile(filepath.Join(r.Dir, fmt.Sprintf("%d.snapshot.json", sv))); err != nil {
		return fmt.Errorf("release: load snapshot: %w", err)
	}
	tv := r.snapshot.Signed.Meta["targets.json"].Version
	if r.targets, err = metadata.Targets().FromFile(filepath.Join(r.Dir, fmt.Sprintf("%d.targets.json", tv))); err != nil {
		return fmt.Errorf("release: load targets: %w", err)
	}
	return nil
}

func newestRoot(dir string) (int64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("release: %w", err)
	}
	var best int64
	for _, e := range ents {
		if v, ok := strings.CutSuffix(e.Name(), ".root.json"); ok {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > best {
				best = n
			}
		}
	}
	if best == 0 {
		return 0, fmt.Errorf("release: no N.root.json in %s (run init)", dir)
	}
	return best, nil
}

// publish re-signs and writes targets (if changed), snapshot (if changed)
// and always a new timestamp, each with a bumped version.
func (r *Repo) publish(targets, snapshot bool) error {
	e := r.expiry()
	if targets {
		r.bump(&r.targets.Signed.Version, len(r.targets.Signatures) > 0)
		r.targets.Signed.Expires = r.expires(e.Targets)
		if err := r.sign(r.targets, metadata.TARGETS); err != nil {
			return err
		}
		if err := r.write(fmt.Sprintf("%d.targets.json", r.targets.Signed.Version), r.targets); err != nil {
			return err
		}
		r.snapshot.Signed.Meta["targets.json"] = metadata.MetaFile(r.targets.Signed.Version)
		snapshot = true
	}
	if snapshot {
		r.bump(&r.snapshot.Signed.Version, len(r.snapshot.Signatures) > 0)
		r.snapshot.Signed.Expires = r.expires(e.Snapshot)
		if err := r.sign(r.snapshot, metadata.SNAPSHOT); err != nil {
			return err
		}
		if err := r.write(fmt.Sprintf("%d.snapshot.json", r.snapshot.Signed.Version), r.snapshot); err != nil {
			return err
		}
		r.timestamp.Signed.Meta["snapshot.json"] = metadata.MetaFile(r.snapshot.Signed.Version)
	}
	return r.Timestamp(e.Timestamp)
}

// bump raises a version unless it is the fresh version 1 never signed.
func (r *Repo) bump(v *int64, signed bool) {
	if signed {
		*v++
	}
}

// Timestamp re-signs the timestamp with a new version and expiry. The
// provider runs it regularly; validFor may be negative in tests only to
// produce an expired timestamp.
func (r *Repo) Timestamp(validFor time.Duration) error {
	r.bump(&r.timestamp.Signed.Version, len(r.timestamp.Signatures) > 0)
	r.timestamp.Signed.Expires = r.now().UTC().Add(validFor).Truncate(time.Second)
	if err := r.sign(r.timestamp, metadata.TIMESTAMP); err != nil {
		return err
	}
	return r.write("timestamp.json", r.timestamp)
}

type signable interface {
	Sign(signature.Signer) (*metadata.Signature, error)
	ClearSignatures()
	ToBytes(bool) ([]byte, error)
}

func (r *Repo) sign(m signable, role string, extra ...ed25519.PrivateKey) error {
	priv, err := r.loadKey(role)
	if err != nil {
		return err
	}
	m.ClearSignatures()
	for _, k := range append([]ed25519.PrivateKey{priv}, extra...) {
		s, err := signature.LoadSigner(k, crypto.Hash(0))
		if err != nil {
			return fmt.Errorf("release: signer for %s: %w", role, err)
		}
		if _, err := m.Sign(s); err != nil {
			return fmt.Errorf("release: sign %s: %w", role, err)
		}
	}
	return nil
}

func (r *Repo) write(name string, m signable) error {
	b, err := m.ToBytes(true)
	if err != nil {
		return fmt.Errorf("release: encode %s: %w", name, err)
	}
	if err := renameio.WriteFile(filepath.Join(r.Dir, name), b, 0o644); err != nil {
		return fmt.Errorf("release: write %s: %w", name, err)
	}
	return nil
}

// writeRoot signs root with the root key (and oldRoot, during a root key
// rotation, so boxes that trust the old key accept the new root) and
// writes N.root.json plus root.json, the copy that goes onto new boxes.
func (r *Repo) writeRoot(oldRoot ed25519.PrivateKey) error {
	var extra []ed25519.PrivateKey
	if oldRoot != nil {
		extra = append(extra, oldRoot)
	}
	if err := r.sign(r.root, metadata.ROOT, extra...); err != nil {
		return err
	}
	if err := r.write(fmt.Sprintf("%d.root.json", r.root.Signed.Version), r.root); err != nil {
		return err
	}
	return r.write("root.json", r.root)
}

func (r *Repo) keyPath(role string) string { return filepath.Join(r.KeyDir, role+".key") }

func (r *Repo) newKey(role string) (ed25519.PrivateKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("release: generate %s key: %w", role, err)
	}
	if err := renameio.WriteFile(r.keyPath(role), []byte(hex.EncodeToString(priv.Seed())+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("release: write %s key: %w", role, err)
	}
	return priv, nil
}

func (r *Repo) loadKey(role string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(r.keyPath(role))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("release: no %s key in %s (it may be kept offline)", role, r.KeyDir)
	}
	if err != nil {
		return nil, fmt.Errorf("release: read %s key: %w", role, err)
	}
	seed, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("release: %s: not a hex ed25519 seed", r.keyPath(role))
	}
	return ed25519.NewKeyFromSeed(seed), nil
}
