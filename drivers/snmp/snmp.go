// Package snmp polls SNMP agents (printers, UPS network cards, NAS,
// switches, environment sensors) with profiles written as YAML data, turns
// counters into rates, device states into conditions, receives traps and
// warns ahead of full volumes and empty toner.
//
// One Driver serves one device. Profiles are picked from the device's
// sysObjectID and sysDescr (or a probe of a vendor subtree) at the first
// poll, unless the config names them. The gosnmp library does the encoding;
// batching, walking, tooBig fallback and the limit on requests in flight are
// here, because practice devices differ a lot in what they accept.
package snmp

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/praxisgate/praxisgate/drivers"
)

// Config is the device's `snmp:` section.
type Config struct {
	// Address is host or host:port (default port 161).
	Address string `yaml:"address"`
	// Version is "1", "2c" or "3".
	Version string `yaml:"version"`
	// Community for v1/v2c; also accepted on traps from this device.
	Community drivers.Secret `yaml:"community"`
	V3        V3Config       `yaml:"v3"`
	// Timeout per request and Retries per request before a poll fails.
	Timeout time.Duration `yaml:"timeout"`
	Retries int           `yaml:"retries"`
	// MaxOIDs is how many OIDs one GET carries at first; the driver halves
	// it for this agent when it answers tooBig.
	MaxOIDs int `yaml:"max_oids"`
	// MaxRepetitions for GETBULK, halved on tooBig likewise.
	MaxRepetitions int `yaml:"max_repetitions"`
	// Profiles names the profiles to use; empty means pick automatically.
	Profiles []string `yaml:"profiles"`
	// ProfileDir adds (or overrides by name) profiles from *.yaml files.
	ProfileDir string `yaml:"profile_dir"`
	// Traps configures the trap receiver this device listens on.
	Traps TrapConfig `yaml:"traps"`
	// Forecast configures the predictive warnings.
	Forecast ForecastConfig `yaml:"forecast"`
}

// V3Config is the SNMPv3 user (USM). Without auth_protocol the level is
// noAuthNoPriv, without priv_protocol authNoPriv, otherwise authPriv.
type V3Config struct {
	User         string         `yaml:"user"`
	AuthProtocol string         `yaml:"auth_protocol"` // MD5, SHA, SHA-224, SHA-256, SHA-384, SHA-512
	AuthPassword drivers.Secret `yaml:"auth_password"`
	PrivProtocol string         `yaml:"priv_protocol"` // DES, AES, AES-192, AES-256 (and -C variants)
	PrivPassword drivers.Secret `yaml:"priv_password"`
	Context      string         `yaml:"context"`
}

// TrapConfig enables trap reception. All snmp devices with the same listen
// address share one socket; traps are routed by source address.
type TrapConfig struct {
	// Listen is the UDP address, e.g. ":162"; empty disables traps.
	Listen string `yaml:"listen"`
	// Source is the address traps come from when it differs from
	// Address (a UPS card sending from another interface).
	Source string `yaml:"source"`
	// EngineID is the device's snmpEngineID in hex, needed for SNMPv3
	// traps (version "3"): the sender of a trap is the authoritative
	// engine, so the keys are localised with its engine ID.
	EngineID string `yaml:"engine_id"`
}

// ForecastConfig sets the linear-trend warnings.
type ForecastConfig struct {
	// Window of history the trend is fitted over; 0 disables forecasts.
	Window time.Duration `yaml:"window"`
	// Horizon: warn when the forecast date is at most this far ahead.
	Horizon time.Duration `yaml:"horizon"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Version:        "2c",
		Community:      "public",
		Timeout:        2 * time.Second,
		Retries:        1,
		MaxOIDs:        32,
		MaxRepetitions: 25,
		Forecast:       ForecastConfig{Window: 72 * time.Hour, Horizon: 14 * 24 * time.Hour},
	}
}

func init() {
	drivers.Register(drivers.Spec[Config]{
		Name:     "snmp",
		Kind:     "snmp",
		Doc:      "SNMP v1/v2c/v3 agents (printers, UPS cards, NAS, switches, sensors) read through YAML profiles, with traps",
		Defaults: DefaultConfig,
		New: func(dev drivers.Device, cfg Config, log *slog.Logger) (drivers.Driver, error) {
			d, err := New(dev, cfg, log)
			if err != nil {
				// Not a typed nil in the interface: the gateway
				// tests the driver against nil.
				return nil, err
			}
			return d, nil
		},
	})
}

// Check validates a Config without I/O and returns *drivers.FieldError
// values joined.
func (cfg Config) Check() error {
	var errs []error
	if _, _, err := splitAddress(cfg.Address); cfg.Address == "" || err != nil {
		errs = append(errs, drivers.Fieldf("address", "want host or host:port (got %q)", cfg.Address))
	}
	switch cfg.Version {
	case "1", "2c":
		if cfg.Community == "" {
			errs = append(errs, drivers.Fieldf("community", "SNMPv%s needs a community", cfg.Version))
		}
	case "3":
		if cfg.V3.User == "" {
			errs = append(errs, drivers.Fieldf("v3.user", "SNMPv3 needs a user"))
		}
		auth, ok := authProtocol(cfg.V3.AuthProtocol)
		if !ok {
			errs = append(errs, drivers.Fieldf("v3.auth_protocol", "unknown %q (want MD5, SHA, SHA-224, SHA-256, SHA-384 or SHA-512)", cfg.V3.AuthProtocol))
			auth = gosnmp.NoAuth
		}
		priv, ok := privProtocol(cfg.V3.PrivProtocol)
		if !ok {
			errs = append(errs, drivers.Fieldf("v3.priv_protocol", "unknown %q (want DES, AES, AES-192 or AES-256)", cfg.V3.PrivProtocol))
		}
		if auth != gosnmp.NoAuth && len(cfg.V3.AuthPassword) < 8 {
			errs = append(errs, drivers.Fieldf("v3.auth_password", "needs at least 8 characters (RFC 3414)"))
		}
		if priv != gosnmp.NoPriv {
			if auth == gosnmp.NoAuth && cfg.V3.AuthProtocol == "" {
				errs = append(errs, drivers.Fieldf("v3.priv_protocol", "privacy needs authentication (set auth_protocol)"))
			}
			if len(cfg.V3.PrivPassword) < 8 {
				errs = append(errs, drivers.Fieldf("v3.priv_password", "needs at least 8 characters (RFC 3414)"))
			}
		}
	default:
		errs = append(errs, drivers.Fieldf("version", "want 1, 2c or 3 (got %q)", cfg.Version))
	}
	if cfg.Timeout <= 0 || cfg.Timeout > time.Minute {
		errs = append(errs, drivers.Fieldf("timeout", "want between 0 and 1m (got %v)", cfg.Timeout))
	}
	if cfg.Retries < 0 || cfg.Retries > 10 {
		errs = append(errs, drivers.Fieldf("retries", "want 0..10 (got %d)", cfg.Retries))
	}
	if cfg.MaxOIDs < 1 || cfg.MaxOIDs > 256 {
		errs = append(errs, drivers.Fieldf("max_oids", "want 1..256 (got %d)", cfg.MaxOIDs))
	}
	if cfg.MaxRepetitions < 1 || cfg.MaxRepetitions > 200 {
		errs = append(errs, drivers.Fieldf("max_repetitions", "want 1..200 (got %d)", cfg.MaxRepetitions))
	}
	if cfg.Traps.Source != "" {
		if _, err := netip.ParseAddr(cfg.Traps.Source); err != nil {
			errs = append(errs, drivers.Fieldf("traps.source", "want an IP address (got %q)", cfg.Traps.Source))
		}
	}
	if cfg.Traps.EngineID != "" {
		if b, err := hex.DecodeString(strings.TrimPrefix(strings.ToLower(cfg.Traps.EngineID), "0x")); err != nil || len(b) < 5 || len(b) > 32 {
			errs = append(errs, drivers.Fieldf("traps.engine_id", "want 5 to 32 bytes in hex (got %q)", cfg.Traps.EngineID))
		}
	}
	if cfg.Forecast.Window < 0 || cfg.Forecast.Horizon < 0 {
		errs = append(errs, drivers.Fieldf("forecast", "window and horizon must not be negative"))
	}
	if cfg.ProfileDir == "" && len(cfg.Profiles) > 0 {
		// Built-in names can be checked without I/O.
		cat, err := Builtin()
		if err == nil {
			for i, n := range cfg.Profiles {
				if _, ok := cat.Get(n); !ok {
					errs = append(errs, drivers.Fieldf(fmt.Sprintf("profiles[%d]", i), "unknown profile %q (built-in: %s)", n, strings.Join(cat.Names(), ", ")))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// Driver polls one SNMP device.
type Driver struct {
	dev drivers.Device
	cfg Config
	log *slog.Logger
	now func() time.Time

	// mu guards what Poll and Watch share: the chosen profiles.
	mu       sync.Mutex
	profiles []*Profile

	client   *client
	plan     plan
	rates    *rates
	forecast *forecaster
	// loaded and saved track the forecast state file in dev.StateDir.
	loaded bool
	saved  time.Time
	// lastConditions are the conditions of the last successful read;
	// authFailing is set while the agent refuses the credentials.
	lastConditions []drivers.Condition
	authFailing    bool
}

// New checks cfg and builds the driver. It does no network I/O; profiles
// named in the config (and the profile directory holding them) are loaded
// here.
func New(dev drivers.Device, cfg Config, log *slog.Logger) (*Driver, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Driver{
		dev:      dev,
		cfg:      cfg,
		log:      log,
		now:      time.Now,
		rates:    newRates(),
		forecast: newForecaster(cfg.Forecast.Window, cfg.Forecast.Horizon),
	}
	if len(cfg.Profiles) > 0 {
		// Profiles named in the config apply from the start, so traps
		// mean what they should before the first poll succeeds (a UPS
		// card that cannot be read yet still reports "on battery").
		cat, err := catalogue(cfg.ProfileDir)
		if err != nil {
			return nil, fmt.Errorf("snmp: load profiles: %w", err)
		}
		ps, err := cat.Expand(cfg.Profiles...)
		if err != nil {
			return nil, fmt.Errorf("snmp: %w", err)
		}
		d.profiles, d.plan = ps, makePlan(ps)
	}
	return d, nil
}

// catalogues are shared by every device with the same profile_dir, so 200
// devices parse the YAML once.
var (
	catMu sync.Mutex
	cats  = map[string]*Catalogue{}
)

func catalogue(dir string) (*Catalogue, error) {
	catMu.Lock()
	defer catMu.Unlock()
	if c, ok := cats[dir]; ok {
		return c, nil
	}
	c, err := LoadCatalogue(dir)
	if err != nil {
		return nil, err
	}
	cats[dir] = c
	return c, nil
}

// Poll reads the device once.
func (d *Driver) Poll(ctx context.Context) (drivers.Sample, error) {
	if d.client == nil {
		c, err := newClient(d.cfg)
		if err != nil {
			return drivers.Sample{}, fmt.Errorf("snmp: %w", err)
		}
		d.client = c
	}
	d.mu.Lock()
	chosen := d.profiles
	d.mu.Unlock()
	if chosen == nil {
		ps, id, err := d.identify(ctx)
		if err != nil {
			return d.failed(err)
		}
		d.mu.Lock()
		d.profiles = ps
		d.mu.Unlock()
		chosen = ps
		d.plan = makePlan(ps)
		d.log.Info("snmp profiles chosen", "profiles", profileNames(ps), "sysObjectID", id.SysObjectID)
	}
	rd := readings{}
	if err := d.client.get(ctx, d.plan.scalars, rd); err != nil {
		return d.failed(err)
	}
	if len(d.plan.columns) > 0 {
		if err := d.client.walk(ctx, d.plan.columns, rd); err != nil {
			return d.failed(err)
		}
	}
	if d.authFailing {
		d.log.Info("snmp: the agent accepts the SNMPv3 credentials again")
		d.authFailing = false
	}
	now := d.now()
	res := evaluate(chosen, rd)
	s := drivers.Sample{Time: now, Kind: KindOf(chosen)}
	if d.dev.Kind != "" && d.dev.Kind != "snmp" {
		// A kind set in the config wins over the profile's guess.
		s.Kind = d.dev.Kind
	}
	uptime := -1.0
	if r, ok := rd[oidSysUpTime.String()]; ok && r.isNum {
		uptime = r.num / 100
		s.Metrics = append(s.Metrics, drivers.Num("device.uptime", uptime, "s"))
	}
	if r, ok := rd[oidSysDescr.String()]; ok && r.text != "" {
		s.Metrics = append(s.Metrics, drivers.Text("device.description", r.text))
	}
	if r, ok := rd[oidSysName.String()]; ok && r.text != "" {
		s.Metrics = append(s.Metrics, drivers.Text("device.name", r.text))
	}
	s.Metrics = append(s.Metrics, res.metrics...)
	rateMetrics, restarted := d.rates.update(now, uptime, res.counters)
	s.Metrics = append(s.Metrics, rateMetrics...)
	if restarted {
		s.Events = append(s.Events, drivers.Event{Time: now, Type: "snmp.agent_restarted", Severity: drivers.Info,
			Message: "SNMP agent restarted (sysUpTime went back); rates start over"})
	}
	s.Conditions = res.conditions
	d.lastConditions = res.conditions
	s.Events = append(s.Events, d.forecastEvents(now, s.Metrics)...)
	return s, nil
}

// AuthFailedCondition is the condition of an SNMPv3 agent that answers but
// refuses the configured user or keys.
const AuthFailedCondition = "snmp.auth_failed"

// failed turns a poll error into Poll's result. An SNMPv3 authentication
// failure is not a failed poll: the agent answers, so the device must not
// be alarmed as "does not answer". The poll returns no readings, the
// conditions of the last successful read (nothing new is known of them)
// and the condition snmp.auth_failed, which names the cause as the agent
// reported it.
func (d *Driver) failed(err error) (drivers.Sample, error) {
	var ae *AuthError
	if !errors.As(err, &ae) {
		return drivers.Sample{}, err
	}
	if !d.authFailing {
		d.log.Warn("snmp: the agent refuses the SNMPv3 credentials", "user", d.cfg.V3.User, "err", ae)
	}
	d.authFailing = true
	s := drivers.Sample{Time: d.now(), Kind: KindOf(d.profiles)}
	if d.dev.Kind != "" && d.dev.Kind != "snmp" {
		s.Kind = d.dev.Kind
	}
	s.Conditions = append(append([]drivers.Condition(nil), d.lastConditions...), drivers.Condition{
		Name: AuthFailedCondition, Severity: drivers.Major, Message: ae.Error() + "; check v3.user and the keys"})
	return s, nil
}

// forecastSaveEvery spaces the state writes: forecasts look at days, and an
// SD card should not be written at every poll.
const forecastSaveEvery = 15 * time.Minute

func (d *Driver) forecastEvents(now time.Time, ms []drivers.Metric) []drivers.Event {
	if d.dev.StateDir != "" && !d.loaded {
		d.loaded = true
		if err := d.forecast.load(d.dev.StateDir); err != nil {
			d.log.Warn("snmp forecast state unreadable; starting afresh", "err", err)
		}
	}
	evs := d.forecast.observe(now, ms)
	if d.dev.StateDir != "" && len(d.forecast.series) > 0 && now.Sub(d.saved) >= forecastSaveEvery {
		d.saved = now
		if err := d.forecast.save(d.dev.StateDir); err != nil {
			d.log.Warn("snmp forecast state not saved", "err", err)
		}
	}
	return evs
}

// identify reads the system group and picks the profiles.
func (d *Driver) identify(ctx context.Context) ([]*Profile, Identity, error) {
	cat, err := catalogue(d.cfg.ProfileDir)
	if err != nil {
		return nil, Identity{}, fmt.Errorf("snmp: load profiles: %w", err)
	}
	rd := readings{}
	if err := d.client.get(ctx, []oid{oidSysDescr, oidSysObjectID}, rd); err != nil {
		return nil, Identity{}, err
	}
	id := Identity{SysDescr: rd[oidSysDescr.String()].text, SysObjectID: rd[oidSysObjectID.String()].text}
	if len(d.cfg.Profiles) > 0 {
		ps, err := cat.Expand(d.cfg.Profiles...)
		if err != nil {
			return nil, id, fmt.Errorf("snmp: %w", err)
		}
		return ps, id, nil
	}
	ps, err := selectProfiles(ctx, cat, id, d.client.probe)
	if err != nil {
		return nil, id, err
	}
	return ps, id, nil
}

// selectProfiles picks the profiles for an identity: the best identity match, or
// else the first profile whose probe subtree the agent has; generic
// profiles (if-mib) when nothing matches. probe may be nil (discovery
// without a session), then probe-only profiles are not considered.
func selectProfiles(ctx context.Context, cat *Catalogue, id Identity, probe func(context.Context, oid) (bool, error)) ([]*Profile, error) {
	matched, probes := cat.Candidates(id)
	if len(matched) > 0 {
		return cat.Expand(matched[0].Name)
	}
	if probe != nil {
		for _, p := range probes {
			for _, o := range p.Match.probes {
				ok, err := probe(ctx, o)
				if err != nil {
					return nil, err
				}
				if ok {
					return cat.Expand(p.Name)
				}
			}
		}
	}
	var generic []string
	for _, n := range cat.Names() {
		if p, _ := cat.Get(n); p.Match.Generic {
			generic = append(generic, n)
		}
	}
	return cat.Expand(generic...)
}

// ProfileFor is what discovery and adoption use: the profile name and kind
// for a device's identity, without talking to it. ok is false when only a
// probe (at the first poll) can tell.
func ProfileFor(id Identity) (name, kind string, ok bool) {
	cat, err := Builtin()
	if err != nil {
		return "", "", false
	}
	matched, _ := cat.Candidates(id)
	if len(matched) == 0 {
		return "", "", false
	}
	return matched[0].Name, matched[0].Kind, true
}

// Profiles returns the names of the profiles in use: those the config
// names from the start, else nil before the first successful poll.
func (d *Driver) Profiles() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.profiles == nil {
		return nil
	}
	return profileNames(d.profiles)
}

// Watch receives traps for this device until ctx ends. Without
// traps.listen it just waits, so the gateway can call it for every device.
func (d *Driver) Watch(ctx context.Context, emit func(drivers.Event)) error {
	if d.cfg.Traps.Listen == "" {
		<-ctx.Done()
		return nil
	}
	src, err := d.trapSource(ctx)
	if err != nil {
		return err
	}
	// The catalogue names traps whose OID the device's profiles (none
	// before the first successful poll) do not define.
	cat, err := catalogue(d.cfg.ProfileDir)
	if err != nil {
		d.log.Warn("snmp traps: profiles not loaded; unknown traps keep their OID", "err", err)
		cat = nil
	}
	rcv, release, err := acquireReceiver(d.cfg.Traps.Listen, d.log)
	if err != nil {
		return err
	}
	defer release()
	var auth TrapAuth
	if d.cfg.Version != "3" && d.cfg.Community != "" {
		auth.Communities = []string{d.cfg.Community.Reveal()}
	}
	if d.cfg.Version == "3" {
		if d.cfg.Traps.EngineID == "" {
			d.log.Warn("snmp traps: SNMPv3 traps need traps.engine_id; this device's v3 traps will be rejected")
		} else {
			usm := usmFor(d.cfg)
			eid, _ := hex.DecodeString(strings.TrimPrefix(strings.ToLower(d.cfg.Traps.EngineID), "0x"))
			usm.AuthoritativeEngineID = string(eid)
			auth.V3 = usm
		}
	}
	var wg sync.WaitGroup
	var stopped bool
	var smu sync.Mutex
	unsub, err := rcv.Subscribe(src, auth, func(pkt *gosnmp.SnmpPacket, from netip.Addr) {
		smu.Lock()
		defer smu.Unlock()
		if stopped {
			return
		}
		wg.Add(1)
		defer wg.Done()
		d.mu.Lock()
		ps := d.profiles
		d.mu.Unlock()
		ev := trapEvent(pkt, from, ps, cat, d.now())
		ev.Device = d.dev.ID
		emit(ev)
	})
	if err != nil {
		unsub()
		return err
	}
	<-ctx.Done()
	unsub()
	smu.Lock()
	stopped = true
	smu.Unlock()
	wg.Wait()
	return nil
}

func (d *Driver) trapSource(ctx context.Context) (netip.Addr, error) {
	if d.cfg.Traps.Source != "" {
		return netip.ParseAddr(d.cfg.Traps.Source)
	}
	host, _, err := splitAddress(d.cfg.Address)
	if err != nil {
		return netip.Addr{}, err
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap(), nil
	}
	addrs, err := netResolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return netip.Addr{}, fmt.Errorf("snmp traps: resolve %q: %w: %v", host, drivers.ErrUnreachable, err)
	}
	slices.SortFunc(addrs, func(a, b netip.Addr) int { return a.Compare(b) })
	return addrs[0].Unmap(), nil
}

// netResolver resolves device names for trap routing.
var netResolver = net.DefaultResolver

// Close releases the socket.
func (d *Driver) Close() error {
	if d.client == nil {
		return nil
	}
	return d.client.close()
}
