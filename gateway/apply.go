package gateway

import (
	"context"
	"slices"

	"github.com/praxisgate/praxisgate/gateway/alarm"
	"github.com/praxisgate/praxisgate/gateway/config"
)

// Apply puts a config the web page just saved into effect as far as it can
// without a restart: devices (adopted, enabled, disabled, removed, changed;
// see applyDevices), the threshold rules and the fridge profile. Alarms of
// rules and devices that are gone are cleared (and the clearing sent to
// the provider), the others are judged against their new limits at the
// next reading. The report lists what is live now and every section that
// still differs from what the daemon runs with.
func (g *Gateway) Apply(ctx context.Context, cfg *config.Config) config.Applied {
	g.applyMu.Lock()
	defer g.applyMu.Unlock()
	running, current := g.boot, g.Config()
	next := *running
	next.Alarms, next.Fridge, next.Devices, next.Defaults = cfg.Alarms, cfg.Fridge, cfg.Devices, cfg.Defaults

	da := g.applyDevices(ctx, cfg)
	held := len(da.Held) > 0
	var a config.Applied
	// The poll defaults only reach the daemon through the devices the
	// loader filled them into.
	heldSec := func(sec string) bool { return held && (sec == "devices" || sec == "defaults") }
	for _, sec := range config.Diff(current, cfg) {
		if config.SectionLive(sec) && !heldSec(sec) {
			a.Live = append(a.Live, sec)
		}
	}
	for _, sec := range config.Diff(running, cfg) {
		if !config.SectionLive(sec) || heldSec(sec) {
			a.Restart = append(a.Restart, sec)
		}
	}
	// The cold-chain recorder measures excursions against the band it
	// was started with, for the fridges it was started with.
	o, n := running.Fridge.Effective(), cfg.Fridge.Effective()
	if *o.Low != *n.Low || *o.High != *n.High || !slices.Equal(coldChainFridges(running), coldChainFridges(cfg)) {
		a.Restart = append(a.Restart, config.SectionColdChain)
	}

	evs := g.alarms.SetRules(runningRules(&next, g.Devices(), g.sourceIDs()), g.clock.Now().Time)
	g.Emit(ctx, evs...)
	g.publishAlarms(false)
	g.live.Store(&next)
	g.log.Info("config applied", "live", a.Live, "after_restart", a.Restart, "alarms_cleared", len(evs),
		"devices_added", da.Added, "devices_changed", da.Changed, "devices_stopped", da.Stopped,
		"devices_held_for_restart", da.Held, "discovery_lists", da.Lists)
	return a
}

// runningRules are cfg's alarm rules for devices that run in this process
// (and the box itself, its reading sources, and "*"): a rule for a device
// adopted since the start would otherwise report its sensor offline until
// the restart.
func runningRules(cfg *config.Config, running []Device, sources []string) []config.AlarmRule {
	runs := map[string]bool{"*": true, SelfDevice: true}
	for _, id := range sources {
		runs[id] = true
	}
	for _, d := range running {
		runs[d.Config.ID] = true
	}
	var out []config.AlarmRule
	for _, r := range alarm.Rules(cfg) {
		if runs[r.Device] {
			out = append(out, r)
		}
	}
	return out
}

// coldChainFridges are the enabled fridges the cold-chain recorder keeps
// a record of, with their poll interval (its hold time), as "id interval".
func coldChainFridges(cfg *config.Config) []string {
	var out []string
	for _, d := range cfg.Devices {
		if !d.Disabled && d.Kind == config.FridgeKind {
			out = append(out, d.ID+" "+d.Interval.String())
		}
	}
	slices.Sort(out)
	return out
}
