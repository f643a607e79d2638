package release

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/google/renameio/v2"
	"github.com/praxisgate/praxisgate/update"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// Target describes one binary to publish.
type Target struct {
	File           string // local path of the built binary
	Version        string
	Channel        string // default "stable"
	OS, Arch       string // GOOS/GOARCH it was built for
	RolloutPercent int    // 0..100; share of gateways that take it now
	AllowDowngrade bool   // allow installing over newer versions (an emergency rollback release)
}

// Add copies the binary into the tree under its hash-prefixed name (so a
// box downloading during a publication never gets a mix), lists it in the
// targets metadata with the custom fields the box reads, and publishes new
// targets, snapshot and timestamp. Adding the same path again replaces the
// entry, which is how a rollout percentage is raised.
func (r *Repo) Add(t Target) (update.Release, error) {
	if err := r.Load(); err != nil {
		return update.Release{}, err
	}
	v, err := update.ParseVersion(t.Version)
	if err != nil {
		return update.Release{}, fmt.Errorf("release: add: %w", err)
	}
	if t.Channel == "" {
		t.Channel = "stable"
	}
	if t.RolloutPercent < 0 || t.RolloutPercent > 100 {
		return update.Release{}, fmt.Errorf("release: add: rollout %d%%: want 0..100", t.RolloutPercent)
	}
	rel := update.Release{Version: v, Channel: t.Channel, OS: t.OS, Arch: t.Arch,
		RolloutPercent: t.RolloutPercent, AllowDowngrade: t.AllowDowngrade}
	rel.Path = update.TargetPath(t.Channel, t.OS, t.Arch, v)
	custom := rel.MarshalCustom()
	// The box parses what we write: check it here so a typo never ships.
	if _, err := update.ParseRelease(rel.Path, custom); err != nil {
		return update.Release{}, fmt.Errorf("release: add: %w", err)
	}
	sum, size, err := r.copyTarget(t.File, rel.Path)
	if err != nil {
		return update.Release{}, err
	}
	raw := json.RawMessage(custom)
	tf := metadata.TargetFile()
	tf.Path = rel.Path
	tf.Length = size
	tf.Hashes = metadata.Hashes{"sha256": sum}
	tf.Custom = &raw
	r.targets.Signed.Targets[rel.Path] = tf
	return rel, r.publish(true, true)
}

// Remove withdraws a target (for example a bad release) and publishes.
func (r *Repo) Remove(path string) error {
	if err := r.Load(); err != nil {
		return err
	}
	if _, ok := r.targets.Signed.Targets[path]; !ok {
		return fmt.Errorf("release: remove: no target %q", path)
	}
	delete(r.targets.Signed.Targets, path)
	return r.publish(true, true)
}

func (r *Repo) copyTarget(src, path string) ([]byte, int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return nil, 0, fmt.Errorf("release: add: %w", err)
	}
	defer in.Close()
	h := sha256.New()
	size, err := io.Copy(h, in)
	if err != nil {
		return nil, 0, fmt.Errorf("release: add: read %s: %w", src, err)
	}
	sum := h.Sum(nil)
	dst := filepath.Join(r.Dir, "targets", filepath.Dir(path), hex.EncodeToString(sum)+"."+filepath.Base(path))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return nil, 0, fmt.Errorf("release: add: %w", err)
	}
	if _, err := in.Seek(0, io.SeekStart); err != nil {
		return nil, 0, err
	}
	out, err := renameio.NewPendingFile(dst, renameio.WithStaticPermissions(0o644))
	if err != nil {
		return nil, 0, fmt.Errorf("release: add: %w", err)
	}
	defer out.Cleanup()
	if _, err := io.Copy(out, in); err != nil {
		return nil, 0, fmt.Errorf("release: add: copy: %w", err)
	}
	if err := out.CloseAtomicallyReplace(); err != nil {
		return nil, 0, fmt.Errorf("release: add: %w", err)
	}
	return sum, size, nil
}
