package release

import (
	"fmt"
	"os"
	"slices"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// Rotate replaces the key of role with a new one: root lists the new key
// instead of the old, root's version goes up (signed by the old and the
// new root key when root itself rotates, so boxes can follow the chain),
// and targets, snapshot and timestamp are republished under the current
// keys. The old private key file is overwritten.
func (r *Repo) Rotate(role string) error {
	if !slices.Contains(Roles, role) {
		return fmt.Errorf("release: rotate: unknown role %q (want one of %v)", role, Roles)
	}
	if err := r.Load(); err != nil {
		return err
	}
	old, err := r.loadKey(role)
	if err != nil {
		return err
	}
	oldKey, err := metadata.KeyFromPublicKey(old.Public())
	if err != nil {
		return fmt.Errorf("release: rotate: %w", err)
	}
	oldID, err := oldKey.ID()
	if err != nil {
		return fmt.Errorf("release: rotate: %w", err)
	}
	if err := os.Rename(r.keyPath(role), r.keyPath(role)+".old"); err != nil {
		return fmt.Errorf("release: rotate: keep old key while rotating: %w", err)
	}
	priv, err := r.newKey(role)
	if err != nil {
		return err
	}
	k, err := metadata.KeyFromPublicKey(priv.Public())
	if err != nil {
		return fmt.Errorf("release: rotate: %w", err)
	}
	if err := r.root.Signed.RevokeKey(oldID, role); err != nil {
		return fmt.Errorf("release: rotate: revoke old %s key: %w", role, err)
	}
	if err := r.root.Signed.AddKey(k, role); err != nil {
		return fmt.Errorf("release: rotate: %w", err)
	}
	r.root.Signed.Version++
	r.root.Signed.Expires = r.expires(r.expiry().Root)
	var oldRoot = old
	if role != metadata.ROOT {
		oldRoot = nil
	}
	if err := r.writeRoot(oldRoot); err != nil {
		return err
	}
	if err := r.publish(true, true); err != nil {
		return err
	}
	return os.Remove(r.keyPath(role) + ".old")
}
