package update

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// Gate can hold an install back: the gateway supplies "on UPS battery" and
// "critical alarm active". Blocked returns a reason when the box must not
// restart now.
type Gate func(ctx context.Context) (reason string, blocked bool)

// Config is what the gateway hands to NewManager.
type Config struct {
	Layout      *Layout
	RepoURL     string // TUF repository base URL (metadata at the root, targets/ below)
	TrustedRoot []byte // root.json provisioned on the box
	Channel     string // "stable" unless configured
	OS, Arch    string // default runtime.GOOS/GOARCH
	GatewayID   string // for the staged rollout
	Running     string // version of this binary
	MaxSize     int64  // largest binary accepted; default 256 MiB
	HTTPClient  *http.Client
	// Window tells whether t lies in the maintenance window; nil allows any time.
	Window func(t time.Time) bool
	Gates  []Gate
	// OnEvent receives every state change; it must not block for long.
	OnEvent func(Event)
	// Restart starts the installed version: exit for systemd to restart
	// (ExitForRestart) or re-execute (Reexec). Nil leaves it to the caller.
	Restart func() error
	Log     *slog.Logger
	// Hook is called at named steps ("download-half", "downloaded",
	// "staged", "switched"); crash tests SIGKILL the process there.
	Hook func(step string)
	Now  func() time.Time
	// CheckOnly stops after reporting an available release (the CLI's
	// "update check").
	CheckOnly bool
}

// Manager checks for, downloads and installs releases. One check runs at a
// time; triggers (timer, MQTT command, web page) may call Check concurrently.
type Manager struct {
	cfg  Config
	mu   sync.Mutex
	last struct {
		sync.Mutex
		ev Event
	}
}

// Last is the most recent event, for the web page's update panel.
func (m *Manager) Last() Event {
	m.last.Lock()
	defer m.last.Unlock()
	return m.last.ev
}

// NewManager checks the configuration.
func NewManager(cfg Config) (*Manager, error) {
	if cfg.Layout == nil {
		return nil, errors.New("update: no layout")
	}
	if err := checkRepoURL(cfg.RepoURL); err != nil {
		return nil, fmt.Errorf("update: %w", err)
	}
	if len(cfg.TrustedRoot) == 0 {
		return nil, errors.New("update: no trusted root metadata")
	}
	if cfg.Channel == "" {
		cfg.Channel = "stable"
	}
	if cfg.OS == "" {
		cfg.OS = runtime.GOOS
	}
	if cfg.Arch == "" {
		cfg.Arch = runtime.GOARCH
	}
	if cfg.MaxSize <= 0 {
		cfg.MaxSize = 256 << 20
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Minute}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Manager{cfg: cfg}, nil
}

func (m *Manager) emit(state, to, reason string) Event {
	ev := Event{Time: m.cfg.Now().UTC(), State: state, From: m.cfg.Running, To: to, Reason: reason}
	m.cfg.Log.Info("update", "state", state, "from", ev.From, "to", to, "reason", reason)
	m.last.Lock()
	m.last.ev = ev
	m.last.Unlock()
	if err := m.cfg.Layout.RecordEvent(ev); err != nil {
		m.cfg.Log.Warn("update: history not written", "err", err)
	}
	if m.cfg.OnEvent != nil {
		m.cfg.OnEvent(ev)
	}
	return ev
}

func (m *Manager) hook(step string) {
	if m.cfg.Hook != nil {
		m.cfg.Hook(step)
	}
}

// Check refreshes the signed metadata, picks the release for this box and,
// if the gates allow (or force is set), installs it and calls Restart. It
// returns the last event, which says what happened and why.
func (m *Manager) Check(ctx context.Context, force bool) Event {
	return m.check(ctx, force, m.cfg.CheckOnly)
}

// Peek checks and reports an available release without installing it
// (the update-check command and the web page's "search" button).
func (m *Manager) Peek(ctx context.Context) Event {
	return m.check(ctx, false, true)
}

func (m *Manager) check(ctx context.Context, force, only bool) Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	unlock, err := lockDir(m.cfg.Layout.Dir)
	if err != nil {
		return m.emit(StateFailed, "", err.Error())
	}
	defer unlock()
	m.emit(StateChecking, "", "")
	running, err := ParseVersion(m.cfg.Running)
	if err != nil {
		return m.emit(StateRefused, "", fmt.Sprintf("running version %q is not a release version: %v", m.cfg.Running, err))
	}
	st, err := m.cfg.Layout.ReadState()
	if err != nil {
		return m.emit(StateFailed, "", err.Error())
	}
	if st.Trial != nil {
		return m.emit(StateDeferred, st.Trial.Version, "a version is on trial; wait for it to commit or roll back")
	}
	up, targets, fellBack, err := refresh(m.cfg.RepoURL, m.cfg.TrustedRoot, filepath.Join(m.cfg.Layout.Dir, "tuf"), m.cfg.HTTPClient)
	if fellBack != nil {
		// Repaired by itself, but worth a look: say it in the history.
		m.emit(StateChecking, "", fellBack.Error())
	}
	if err != nil {
		if errors.Is(err, &metadata.ErrRepository{}) {
			return m.emit(StateRefused, "", err.Error())
		}
		return m.emit(StateFailed, "", err.Error())
	}
	pick := choose(targets, m.cfg.Channel, m.cfg.OS, m.cfg.Arch, running, &st)
	if pick.release == nil {
		return m.emit(pick.state, "", pick.reason)
	}
	rel := *pick.release
	to := rel.Version.String()
	avail := m.emit(StateAvailable, to, fmt.Sprintf("%s for %s/%s on %s, rollout %d%%", rel.Path, rel.OS, rel.Arch, rel.Channel, rel.RolloutPercent))
	if only {
		return avail
	}
	if r := st.retryOf(to); r != nil && m.cfg.Now().Before(r.After) && !force {
		return m.emit(StateDeferred, to, fmt.Sprintf("%s is tried again after %s: rolled back while the world was down (try %d)",
			to, r.After.Local().Format(time.RFC3339), r.Tries))
	}
	if !force {
		if !InRollout(m.cfg.GatewayID, rel) {
			return m.emit(StateDeferred, to, fmt.Sprintf("staged rollout at %d%%, this gateway is in bucket %d", rel.RolloutPercent, Bucket(m.cfg.GatewayID, rel.Version)))
		}
		if reason := m.gated(ctx); reason != "" {
			return m.emit(StateDeferred, to, reason)
		}
	}
	tf := targets[rel.Path]
	if tf.Length <= 0 || tf.Length > m.cfg.MaxSize {
		return m.emit(StateRefused, to, fmt.Sprintf("target is %d bytes, limit %d", tf.Length, m.cfg.MaxSize))
	}
	m.emit(StateDownloading, to, "")
	dir := m.cfg.Layout.VersionDir(to)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return m.emit(StateFailed, to, err.Error())
	}
	part := filepath.Join(dir, BinaryName+".part")
	consistent := up.GetTrustedMetadataSet().Root.Signed.ConsistentSnapshot
	if err := download(ctx, m.cfg.HTTPClient, targetURL(m.cfg.RepoURL, tf, consistent), part, tf, m.cfg.Hook); err != nil {
		if errors.Is(err, errVerify) {
			return m.emit(StateRefused, to, err.Error())
		}
		return m.emit(StateFailed, to, err.Error())
	}
	m.hook("downloaded")
	if err := os.Chmod(part, 0o755); err != nil {
		return m.emit(StateFailed, to, err.Error())
	}
	if err := checkBinaryVersion(ctx, part, to); err != nil {
		_ = os.Remove(part)
		if !errors.Is(err, errWrongBinary) {
			return m.emit(StateFailed, to, err.Error())
		}
		if ferr := m.cfg.Layout.refuse(to); ferr != nil {
			m.cfg.Log.Warn("update: remember refused version", "err", ferr)
		}
		return m.emit(StateRefused, to, strings.TrimPrefix(err.Error(), errWrongBinary.Error()+": "))
	}
	if err := os.Rename(part, m.cfg.Layout.BinaryPath(to)); err != nil {
		return m.emit(StateFailed, to, err.Error())
	}
	if err := syncDir(dir); err != nil {
		return m.emit(StateFailed, to, err.Error())
	}
	m.hook("staged")
	if err := m.cfg.Layout.beginTrial(to); err != nil {
		return m.emit(StateFailed, to, err.Error())
	}
	m.hook("switched")
	ev := m.emit(StateInstalled, to, "restarting into the new version")
	if m.cfg.Restart != nil {
		if err := m.cfg.Restart(); err != nil {
			return m.emit(StateFailed, to, fmt.Sprintf("restart: %v", err))
		}
	}
	return ev
}

func (m *Manager) gated(ctx context.Context) string {
	if m.cfg.Window != nil && !m.cfg.Window(m.cfg.Now()) {
		return "outside the maintenance window"
	}
	for _, g := range m.cfg.Gates {
		if reason, blocked := g(ctx); blocked {
			return reason
		}
	}
	return ""
}

// Run checks at start after a random delay and then every interval (plus a
// random delay up to jitter, so hundreds of boxes do not hit the
// repository at once) until ctx ends.
func (m *Manager) Run(ctx context.Context, interval, jitter time.Duration) {
	if interval <= 0 {
		interval = 24 * time.Hour
	}
	next := time.Duration(0)
	for {
		if jitter > 0 {
			next += rand.N(jitter)
		}
		t := time.NewTimer(next)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		m.Check(ctx, false)
		next = interval
	}
}

// DefaultArch is the architecture a Manager looks for unless told otherwise.
func DefaultArch() string { return runtime.GOARCH }
