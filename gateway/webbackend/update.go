package webbackend

import (
	"context"
	"errors"

	"github.com/praxisgate/praxisgate/gateway/web"
	"github.com/praxisgate/praxisgate/update"
)

// Updater is the self-update as the Update tab uses it
// (*selfupdate.SelfUpdate).
type Updater interface {
	// Last is the most recent update step of this daemon.
	Last() update.Event
	// Peek looks for a release without installing it.
	Peek(ctx context.Context) update.Event
	// Check checks and installs; force skips the gates.
	Check(ctx context.Context, force bool) update.Event
	// History is the recorded update steps, oldest first.
	History() ([]update.Event, error)
}

type updaterBox struct{ u Updater }

// SetUpdater tells the page the daemon's self-update, so that the Update
// tab can show and trigger it. nil (the default) means updates are off on
// this box, which the page says. It may be called while the page is
// served.
func (b *Backend) SetUpdater(u Updater) {
	if u == nil {
		b.updater.Store(nil)
		return
	}
	b.updater.Store(&updaterBox{u})
}

func (b *Backend) selfUpdate() Updater {
	if box := b.updater.Load(); box != nil {
		return box.u
	}
	return nil
}

// errUpdatesOff is what the page's buttons get on a box without updates.
var errUpdatesOff = errors.New("self-update is off on this box")

// UpdateStatus is the running version, channel and window and the latest
// update step of this daemon.
func (b *Backend) UpdateStatus() web.UpdateInfo {
	u := b.selfUpdate()
	if u == nil {
		return b.updatesOffInfo()
	}
	return b.updateInfo(u.Last())
}

// UpdateCheck looks for a release (Updater.Peek).
func (b *Backend) UpdateCheck(ctx context.Context) (web.UpdateInfo, error) {
	u := b.selfUpdate()
	if u == nil {
		return b.updatesOffInfo(), errUpdatesOff
	}
	return b.updateInfo(u.Peek(ctx)), nil
}

// UpdateInstall checks and installs (Updater.Check); the daemon
// restarts a moment after the page has answered.
func (b *Backend) UpdateInstall(ctx context.Context, force bool) (web.UpdateInfo, error) {
	u := b.selfUpdate()
	if u == nil {
		return b.updatesOffInfo(), errUpdatesOff
	}
	return b.updateInfo(u.Check(ctx, force)), nil
}

func (b *Backend) updateInfo(ev update.Event) web.UpdateInfo {
	c := b.Config().Update
	return web.UpdateInfo{On: true, Version: b.core.Stats().Version, Channel: c.Channel, Window: c.Window,
		State: ev.State, From: ev.From, To: ev.To, Reason: ev.Reason, At: ev.Time, History: b.updateHistory()}
}

// updateHistory is the box's recorded update steps for the page's table.
// A history that cannot be read costs the table, not the page.
func (b *Backend) updateHistory() []web.UpdateStep {
	evs, err := b.selfUpdate().History()
	if err != nil {
		b.log.Warn("web: update history", "err", err)
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
func (b *Backend) updatesOffInfo() web.UpdateInfo {
	reason := "no update: section in the config"
	if b.Config().Update.On() {
		reason = "update: is configured, but this box cannot update (not provisioned with \"praxisgate update provision\", or a development build); the log says why"
	}
	return web.UpdateInfo{Version: b.core.Stats().Version, Reason: reason}
}
