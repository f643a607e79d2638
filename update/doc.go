// Package update is the gateway's self-update: a client of The Update
// Framework (TUF) that picks the newest signed release for this box, a
// resumable size-limited download, a versioned install directory with an
// atomically switched "current" symlink, and the trial/commit/rollback state
// machine that keeps a box in a practice bootable without a technician.
//
// The package never imports gateway: the gateway supplies its health check,
// its install gates (maintenance window, UPS on battery, critical alarm) and
// an event callback, and calls Manager and Trial.
//
// On disk, below the state directory:
//
//	state.json          the truth: committed version, version on trial, failed versions
//	versions/<v>/praxisgate   one verified binary per version, fsync'd
//	current -> versions/<v>   what the service starts (trial version if any)
//	committed -> versions/<v> last known good; its binary runs the boot accounting
//	tuf/                trusted TUF metadata cache
//
// The symlinks are derived from state.json, so a power cut between any two
// steps is repaired by Layout.Boot before the next start.
package update
