package web

import (
	"context"
	"io"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway/alarm"
	"github.com/praxisgate/praxisgate/gateway/coldchain"
	"github.com/praxisgate/praxisgate/gateway/config"
)

// Backend is what the web page needs from the running gateway. It is
// defined here, where it is used, so that gateway/web never imports package
// gateway (the gateway imports web to serve it). All methods may be called
// concurrently from request goroutines.
type Backend interface {
	// Devices returns every configured device with its latest result,
	// sorted by id.
	Devices() []Device
	// Alarms returns the active alarms.
	Alarms() []alarm.Alarm
	// AckAlarm acknowledges an active alarm on behalf of user (the name
	// or initials the person typed, shown as they are) with their
	// comment (why, what was done; may be empty).
	AckAlarm(ctx context.Context, id, user, comment string) error
	// PollNow polls one device out of schedule (the "test poll" button).
	PollNow(ctx context.Context, device string) (drivers.Sample, error)
	// Status reports uplink, buffer and box state for the overview.
	Status() Status
	// Config returns the config the gateway runs with, including the
	// sections Apply put into effect since the start; Config().Path is the
	// file the web page edits.
	Config() *config.Config
	// Apply is called after the page wrote a new config file (cfg is what
	// the loader made of it). It puts into effect what the running daemon
	// can take without a restart (alarm rules, the fridge profile) and
	// reports the rest, which waits for the next start.
	Apply(ctx context.Context, cfg *config.Config) Applied
	// Inventory returns what the discovery devices (driver discover)
	// found on the practice network; empty without one.
	Inventory() []Host
	// Event sends an audit record to the provider as an event (it is
	// buffered like every other event).
	Event(e drivers.Event)
	// UpdateStatus is the self-update's state for the Update page.
	UpdateStatus() UpdateInfo
	// UpdateCheck looks for a release without installing it. The error
	// says that updates cannot run on this box at all; a failed check is
	// a State in the UpdateInfo.
	UpdateCheck(ctx context.Context) (UpdateInfo, error)
	// UpdateInstall checks and installs a release (the box restarts a
	// moment later); force overrides the maintenance window and the
	// other gates.
	UpdateInstall(ctx context.Context, force bool) (UpdateInfo, error)
	// FridgeHistory is a fridge's temperature over the last 24 h (kept
	// in memory by the gateway, at most one point per minute) for the
	// overview's sparkline.
	FridgeHistory(device string) TempHistory
}

// TempHistory is a fridge's recent temperatures and the band they must
// stay in (config fridge:, 2–8 °C by default).
type TempHistory struct {
	Points    []TempPoint
	Low, High float64
}

// TempPoint is one reading, or one minute of readings: V is the one the
// sparkline draws, Lo and Hi the lowest and highest (the 24 h min/max).
// A point with Lo and Hi not around V (left zero) counts as V alone.
type TempPoint struct {
	At     time.Time
	V      float64
	Lo, Hi float64
}

// Device is one configured device as the page shows it.
type Device struct {
	ID, Name, Kind, Driver string
	Disabled               bool
	// At is when the latest reading was taken (zero: never polled).
	At time.Time
	// Err is the latest poll's error, if it failed.
	Err     string
	Metrics []drivers.Metric
	// SelfTest: the running driver can start a battery self-test (a UPS,
	// drivers.SelfTester); the page shows the button (ups.go).
	SelfTest bool
}

// Status is the overview's summary of the box.
type Status struct {
	Version string
	Started time.Time
	Boot    string

	Connected      bool
	ConnectedSince time.Time
	LastPublish    time.Time
	LastError      string
	Published      int64

	BufferRecords int64
	BufferBytes   int64
	BufferOldest  time.Time
	Evicted       int64

	// Health is the box's own telemetry (CPU, memory, disk, temperature),
	// as the self monitor reports it; empty before its first poll.
	Health []drivers.Metric
}

// ColdChain is the fridges' daily temperature record (gateway/coldchain),
// which practices must be able to print for inspections.
type ColdChain interface {
	// Fridges lists the devices with a record, sorted.
	Fridges() []string
	// WriteCSV writes device's days with from ≤ date ≤ to (YYYY-MM-DD,
	// empty: unbounded).
	WriteCSV(w io.Writer, device, from, to string) error
	// Integrity is the last verification of each fridge's record
	// ("Protokoll geprüft: intakt (N Tage)" or where it breaks).
	Integrity() []coldchain.Status
	// Today is each fridge's day so far: daily checks, acknowledgements,
	// when the check is due, the probe's calibration.
	Today(now time.Time) []coldchain.Today
	// ConfirmCheck records a fridge's daily check ("Tageskontrolle") by
	// user with an optional comment, at the gateway's time at. Input
	// errors are coldchain's ErrNoUser, ErrUserLong, ErrCommentLong and
	// ErrBadText.
	ConfirmCheck(device, user, comment string, at time.Time) (coldchain.DailyCheck, error)
}

// Host is one machine a discovery device found on the network.
type Host struct {
	// Source is the id of the discovery device that found it; adopting
	// and ignoring edit that device's config section.
	Source string
	MAC    string
	IPs    []string
	Vendor string
	Name   string
	Kind   string
	// Adopt says which driver can monitor the host and how (from the
	// driver that found it); nil: it cannot be adopted.
	Adopt    *drivers.Adoption
	Known    bool
	Adopted  string
	Present  bool
	LastSeen time.Time
}
