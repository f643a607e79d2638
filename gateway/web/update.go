package web

import (
	"context"
	"net/http"
	"time"
)

// UpdateInfo is the self-update as the Update page shows it: what runs,
// where it would come from, and the latest step of an update with the
// reason when nothing happened.
type UpdateInfo struct {
	// On is false on a box without a usable update: section (or one that
	// cannot update, e.g. a development build); Reason then says why.
	On      bool
	Version string
	Channel string
	// Window is the maintenance window in which an install may restart
	// the box unless the technician overrides it.
	Window string
	// State is an update state (update.State*, e.g. up_to_date,
	// deferred, installed); empty before the first check.
	State  string
	From   string
	To     string
	Reason string
	At     time.Time
	// History is the box's recorded update steps, oldest first (bounded by
	// the update package), so a technician sees what happened since the
	// last visit, not only the latest check.
	History []UpdateStep
}

// UpdateStep is one recorded step of an update.
type UpdateStep struct {
	At     time.Time
	State  string // an update state, as UpdateInfo.State
	From   string
	To     string
	Reason string
}

// updateTimeout bounds a check or an install from the page: an install
// downloads the release, which on a slow practice line takes a while.
const updateTimeout = 10 * time.Minute

// updateStates maps the states of update/events.go to the page's words.
var updateStates = map[string]string{"checking": "upd.state_checking", "downloading": "upd.state_downloading",
	"installed": "upd.state_installed", "trial": "upd.state_trial", "committed": "upd.state_committed",
	"rolled_back": "upd.state_rolled_back", "available": "upd.state_available", "up_to_date": "upd.state_up_to_date",
	"deferred": "upd.state_deferred", "refused": "upd.state_refused", "failed": "upd.state_failed"}

type updateData struct {
	Info UpdateInfo
	// StateKey is the catalog key of Info.State ("" for none or an
	// unknown state, which is then shown as is).
	StateKey string
	// Result is set after a button was pressed: which one.
	Result string
	// Steps is Info.History newest first, with catalog keys.
	Steps []stepRow
}

type stepRow struct {
	UpdateStep
	Key string // catalog key of State, "" to show State as is
}

// historyRows lists the newest step first: what a technician asks first
// is what happened last.
func historyRows(h []UpdateStep) []stepRow {
	rows := make([]stepRow, 0, len(h))
	for i := len(h) - 1; i >= 0; i-- {
		rows = append(rows, stepRow{UpdateStep: h[i], Key: updateStates[h[i].State]})
	}
	return rows
}

func (s *Server) getUpdate(w http.ResponseWriter, r *request) {
	s.updatePage(w, r, s.be.UpdateStatus(), "")
}

func (s *Server) updatePage(w http.ResponseWriter, r *request, info UpdateInfo, result string) {
	d := updateData{Info: info, Result: result}
	d.StateKey = updateStates[info.State]
	d.Steps = historyRows(info.History)
	s.render(w, r, http.StatusOK, "update", pageData{Nav: "update", Data: d})
}

// postUpdateCheck looks for a release without installing it. It changes
// nothing on the box but talks to the provider's repository, so it is
// audited like the other actions.
func (s *Server) postUpdateCheck(w http.ResponseWriter, r *request) {
	ctx, cancel := context.WithTimeout(r.Context(), updateTimeout)
	defer cancel()
	info, err := s.be.UpdateCheck(ctx)
	s.change(r, "update.check", updateDetail(info, err))
	s.updateResult(w, r, info, err, "check")
}

// postUpdateInstall installs a release now. The checkbox "ignore
// maintenance window" forces it (the gates and the staged rollout are
// skipped, never a signature or downgrade check).
func (s *Server) postUpdateInstall(w http.ResponseWriter, r *request) {
	force := r.PostFormValue("force") == "1"
	ctx, cancel := context.WithTimeout(r.Context(), updateTimeout)
	defer cancel()
	info, err := s.be.UpdateInstall(ctx, force)
	detail := updateDetail(info, err)
	if force {
		detail = "forced, " + detail
	}
	s.change(r, "update.install", detail)
	s.updateResult(w, r, info, err, "install")
}

func (s *Server) updateResult(w http.ResponseWriter, r *request, info UpdateInfo, err error, which string) {
	if err != nil {
		s.log.Warn("web: update", "action", which, "err", err)
		info.On = false
		if info.Reason == "" {
			info.Reason = err.Error()
		}
	}
	s.updatePage(w, r, info, which)
}

func updateDetail(info UpdateInfo, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	d := info.State
	if info.To != "" {
		d += " " + info.To
	}
	if info.Reason != "" {
		d += " (" + info.Reason + ")"
	}
	return d
}
