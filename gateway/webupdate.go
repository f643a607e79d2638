package gateway

import (
	"context"
	"errors"

	"github.com/praxisgate/praxisgate/gateway/web"
	"github.com/praxisgate/praxisgate/update"
)

// SetSelfUpdate tells the gateway its self-update, so that the web page's
// Update tab can show and trigger it. nil (the default) means updates are
// off on this box, which the page says. It may be called while the page
// is served.
func (g *Gateway) SetSelfUpdate(u *SelfUpdate) { g.selfUpdate.Store(u) }

// errUpdatesOff is what the page's buttons get on a box without updates.
var errUpdatesOff = errors.New("self-update is off on this box")

// UpdateStatus is the running version, channel and window and the latest
// update step of this daemon.
func (b *WebBackend) UpdateStatus() web.UpdateInfo {
	u := b.g.selfUpdate.Load()
	if u == nil {
		return b.updatesOffInfo()
	}
	return b.updateInfo(u.Last())
}

// UpdateCheck looks for a release (SelfUpdate.Peek).
func (b *WebBackend) UpdateCheck(ctx context.Context) (web.UpdateInfo, error) {
	u := b.g.selfUpdate.Load()
	if u == nil {
		return b.updatesOffInfo(), errUpdatesOff
	}
	return b.updateInfo(u.Peek(ctx)), nil
}

// UpdateInstall checks and installs (SelfUpdate.Check); the daemon
// restarts a moment after the page has answered.
func (b *WebBackend) UpdateInstall(ctx context.Context, force bool) (web.UpdateInfo, error) {
	u := b.g.selfUpdate.Load()
	if u == nil {
		return b.updatesOffInfo(), errUpdatesOff
	}
	return b.updateInfo(u.Check(ctx, force)), nil
}

func (b *WebBackend) updateInfo(ev update.Event) web.UpdateInfo {
	c := b.g.Config().Update
	return web.UpdateInfo{On: true, Version: b.g.version, Channel: c.Channel, Window: c.Window,
		State: ev.State, From: ev.From, To: ev.To, Reason: ev.Reason, At: ev.Time, History: b.updateHistory()}
}

// updateHistory is the box's recorded update steps for the page's table.
// A history that cannot be read costs the table, not the page.
func (b *WebBackend) updateHistory() []web.UpdateStep {
	evs, err := b.g.selfUpdate.Load().History()
	if err != nil {
		b.g.log.Warn("web: update history", "err", err)
		return nil
	}
	steps := make([]web.UpdateStep, 0, len(evs))
	for _, e := range evs {
		steps = append(steps, web.UpdateStep{At: e.Time, State: e.State, From: e.From, To: e.To, Reason: e.Reason})
	}
	return steps
}

// updatesOffInfo tells a box that has no update: section from one whose
// update: section could not be used (not provisioned, development build):
// the latter needs the technician to read the log.
func (b *WebBackend) updatesOffInfo() web.UpdateInfo {
	reason := "no update: section in the config"
	if b.g.Config().Update.On() {
		reason = "update: is configured, but this box cannot update (not provisioned with \"praxisgate update provision\", or a development build); the log says why"
	}
	return web.UpdateInfo{Version: b.g.version, Reason: reason}
}
