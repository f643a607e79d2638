package config

import (
	"net"
	"net/url"
	"time"

	"github.com/praxisgate/praxisgate/update"
)

// Update configures the self-update (package update, docs/update.md). It
// is on when repo is set, unless enabled says otherwise; when it is off,
// Load leaves the section as written (no defaults filled in).
type Update struct {
	// Enabled turns the periodic check and the update commands on or off.
	// Default: on when Repo is set.
	Enabled *bool `yaml:"enabled"`
	// Repo is the provider's TUF repository URL. It must be https://;
	// plain http:// needs InsecureHTTP and a loopback host (a lab or a
	// test), because TUF protects the content but not the privacy of what
	// a box asks for.
	Repo         string `yaml:"repo"`
	InsecureHTTP bool   `yaml:"insecure_http"`
	// RootFile is the provider's root.json provisioned on the box. Default
	// /etc/praxisgate/update-root.json; absolute and readable after Load.
	RootFile string `yaml:"root_file"`
	// Channel is stable or beta. Default stable.
	Channel string `yaml:"channel"`
	// Window is the maintenance window (update.ParseWindow syntax, local
	// time) in which the box may restart into a new version unless a
	// command forces it. Default update.DefaultWindow, outside
	// consultation hours.
	Window string `yaml:"window"`
	// Interval between periodic checks. Default 24h, at least 1m.
	Interval time.Duration `yaml:"interval"`
	// RandomDelay is the most a check is delayed at random, so a fleet
	// does not ask the repository all at once. Default 1h, at most the
	// interval.
	RandomDelay time.Duration `yaml:"random_delay"`
	// TrialTimeout is how long a new version has to become healthy before
	// it is rolled back. Default 90s, at least 10s.
	TrialTimeout time.Duration `yaml:"trial_timeout"`
	// Dir holds the installed versions and the update state. Default
	// <state_dir>, so that the unit's <state_dir>/current/praxisgate is
	// what the updater switches.
	Dir string `yaml:"dir"`
}

// On tells whether updates are configured: an explicit enabled, else
// whether a repository is set.
func (u Update) On() bool {
	if u.Enabled != nil {
		return *u.Enabled
	}
	return u.Repo != ""
}

// Defaults of the update: section.
const (
	DefaultUpdateRootFile     = "/etc/praxisgate/update-root.json"
	defaultUpdateChannel      = "stable"
	defaultUpdateInterval     = 24 * time.Hour
	defaultUpdateRandomDelay  = time.Hour
	defaultUpdateTrialTimeout = 90 * time.Second // update.DefaultTrialTimeout: back on the old version within 2 min
)

// validateUpdate checks the section only when updates are on: a
// half-written section that is switched off must not stop the daemon.
func (l *loader) validateUpdate() {
	u := &l.cfg.Update
	if !u.On() {
		return
	}
	if u.Repo == "" {
		l.problem("update.repo", "required when update.enabled is true")
	} else {
		l.checkUpdateRepo(u.Repo, u.InsecureHTTP)
	}
	// Checked here, default included: updates without the provider's
	// root cannot verify anything, which check-config must say.
	if u.RootFile == "" {
		u.RootFile = DefaultUpdateRootFile
	}
	u.RootFile = l.readableFile("update.root_file", u.RootFile)
	l.oneOf("update.channel", u.Channel, "stable", "beta")
	if u.Window != "" {
		if _, err := update.ParseWindow(u.Window); err != nil {
			l.problem("update.window", "%v", err)
		}
	}
	l.atLeast("update.interval", u.Interval, time.Minute)
	if u.RandomDelay < 0 {
		l.problem("update.random_delay", "must be > 0, got %s", fmtDur(u.RandomDelay))
	}
	iv := u.Interval
	if iv == 0 {
		iv = defaultUpdateInterval
	}
	if u.RandomDelay > iv {
		l.problem("update.random_delay", "must be ≤ the interval (%s), got %s", fmtDur(iv), fmtDur(u.RandomDelay))
	}
	l.atLeast("update.trial_timeout", u.TrialTimeout, 10*time.Second)
}

// checkUpdateRepo accepts https:// and, with insecure_http, http:// to a
// loopback host (the only plain-HTTP repository the update client talks
// to).
func (l *loader) checkUpdateRepo(raw string, insecure bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		l.problem("update.repo", "want a URL like https://updates.provider.example/praxisgate, got %s", shown(raw))
		return
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !insecure {
			l.problem("update.repo", "plain http:// needs insecure_http: true (labs and tests only); use https://")
			return
		}
		host := u.Hostname()
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			l.problem("update.repo", "plain http:// only to a loopback host (127.0.0.1, ::1, localhost), got %s", shown(host))
		}
	default:
		l.problem("update.repo", "want https://, got %s", shown(u.Scheme+"://"))
	}
}

func (l *loader) fillUpdateDefaults() {
	u := &l.cfg.Update
	if !u.On() {
		return
	}
	setStr(&u.Channel, defaultUpdateChannel)
	setStr(&u.Window, update.DefaultWindow)
	setDur(&u.Interval, defaultUpdateInterval)
	setDur(&u.RandomDelay, min(defaultUpdateRandomDelay, u.Interval))
	setDur(&u.TrialTimeout, defaultUpdateTrialTimeout)
	u.Dir = l.absDir(u.Dir, l.cfg.StateDir)
}
