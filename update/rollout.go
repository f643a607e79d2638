package update

import (
	"crypto/sha256"
	"encoding/binary"
)

// Bucket places a gateway in 0..99 for a release. It is stable (the same
// box always decides the same way for one version, so raising the percentage
// only adds boxes) and salted with the version, so the same boxes are not
// the guinea pigs of every release.
func Bucket(gatewayID string, v Version) int {
	h := sha256.Sum256([]byte("praxisgate-rollout\x00" + gatewayID + "\x00" + v.String()))
	return int(binary.BigEndian.Uint64(h[:8]) % 100)
}

// InRollout tells whether this gateway may take r now.
func InRollout(gatewayID string, r Release) bool {
	return Bucket(gatewayID, r.Version) < r.RolloutPercent
}
