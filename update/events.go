package update

import "time"

// States reported through Config.OnEvent. The first six are the ones the
// issue names for the provider and the web page; the rest explain why
// nothing happened.
const (
	StateChecking    = "checking"
	StateDownloading = "downloading"
	StateInstalled   = "installed"
	StateTrial       = "trial"
	StateCommitted   = "committed"
	StateRolledBack  = "rolled_back"
	StateAvailable   = "available"  // a newer release for this box exists (gates not yet asked)
	StateUpToDate    = "up_to_date" // nothing newer for this box
	StateDeferred    = "deferred"   // newer release, but a gate (window, battery, alarm, rollout) says not now
	StateRefused     = "refused"    // the repository offered something the box must not install
	StateFailed      = "failed"     // network, disk or metadata error; the running version is kept
)

// Event is one step of an update, with versions and, where something did
// not happen, the reason in words a technician can act on.
type Event struct {
	Time  time.Time `json:"ts"`
	State string    `json:"state"`
	// From is the version being left, To the one being moved to: for
	// rolled_back, From is the abandoned version and To the one running again.
	From   string `json:"from,omitempty"`
	To     string `json:"to,omitempty"`
	Reason string `json:"reason,omitempty"`
}
