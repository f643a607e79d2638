package web

import (
	"context"
	"net/http"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

type overviewData struct {
	Status  Status
	Uptime  time.Duration
	Alarms  []alarmView
	UPS     []Device
	Fridges []fridgeView
	// Health is the box health card's lines, from Status.Health.
	Health []healthRow
	// TI is the TI card's connectors (ti.go); empty: no card.
	TI []tiView
	// Checklist is the first-hour checklist; nil once done.
	Checklist *checklistView
}

// fridgeView is a fridge on the overview: its latest reading and, once
// there are readings, the 24 h sparkline.
type fridgeView struct {
	Device
	Spark    sparkView
	HasSpark bool
}

func (s *Server) getOverview(w http.ResponseWriter, r *request) {
	st := s.be.Status()
	devs := s.be.Devices()
	now := s.now()
	alarms := s.be.Alarms()
	d := overviewData{Status: st, Alarms: alarmViews(r.lang, alarms, deviceNames(devs), now)}
	if !st.Started.IsZero() {
		d.Uptime = now.Sub(st.Started).Round(time.Second)
	}
	d.Health = healthRows(r.lang, st.Version, d.Uptime, st.Health)
	d.TI = tiViews(r.lang, devs, alarms)
	for _, dev := range devs {
		switch dev.Kind {
		case "ups":
			d.UPS = append(d.UPS, dev)
		case "fridge":
			f := fridgeView{Device: dev}
			f.Spark, f.HasSpark = sparkline(s.be.FridgeHistory(dev.ID), s.now())
			d.Fridges = append(d.Fridges, f)
		}
	}
	d.Checklist = s.checklist(r.lang, st, devs)
	s.render(w, r, http.StatusOK, "overview", pageData{Nav: "overview", Data: d})
}

type devicesData struct {
	Devices []Device
	// Poll is the result of a test poll, shown above the table.
	Poll *pollResult
}

type pollResult struct {
	// Device is the polled device's id, Name its configured name (else
	// the id).
	Device  string
	Name    string
	Err     string
	Took    time.Duration
	Metrics []drivers.Metric
}

func (s *Server) devicesPage(w http.ResponseWriter, r *request, code int, d pageData, poll *pollResult) {
	dd := devicesData{Devices: s.be.Devices(), Poll: poll}
	d.Nav = "devices"
	d.Data = dd
	s.render(w, r, code, "devices", d)
}

type foundData struct {
	Hosts []Host
	// Attached are devices plugged into the box (a USB UPS), ups.go.
	Attached []drivers.Attached
}

// getFound lists the discovered inventory, apart from the configured
// devices so each page stays light with hundreds of either.
func (s *Server) getFound(w http.ResponseWriter, r *request) {
	s.foundPage(w, r, http.StatusOK, pageData{})
}

func (s *Server) foundPage(w http.ResponseWriter, r *request, code int, d pageData) {
	d.Nav = "devices"
	d.Data = foundData{Hosts: s.be.Inventory(), Attached: s.attached()}
	s.render(w, r, code, "found", d)
}

func (s *Server) getDevices(w http.ResponseWriter, r *request) {
	s.devicesPage(w, r, http.StatusOK, pageData{}, nil)
}

// pollTimeout bounds a test poll; the scheduler's own per-device timeout
// normally ends it sooner.
const pollTimeout = 30 * time.Second

// postPoll runs a test poll. It is a POST (it talks to a device) but not a
// config change, so it is logged, not audited.
func (s *Server) postPoll(w http.ResponseWriter, r *request) {
	id := r.PostFormValue("device")
	devs := s.be.Devices()
	known := false
	for _, d := range devs {
		known = known || d.ID == id
	}
	name := deviceName(deviceNames(devs), id)
	if !known {
		s.fail(w, r, http.StatusNotFound, "err.unknown_device", nil)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), pollTimeout)
	defer cancel()
	start := time.Now()
	sample, err := s.be.PollNow(ctx, id)
	res := &pollResult{Device: id, Name: name, Took: time.Since(start).Round(time.Millisecond), Metrics: sample.Metrics}
	if err != nil {
		res.Err = err.Error()
	}
	s.log.Info("web: test poll", "user", r.sess.user, "device", id, "err", err)
	s.devicesPage(w, r, http.StatusOK, pageData{}, res)
}

type diagData struct {
	Logs  []string
	Audit []AuditEntry
	// Discovery is the result of the one-shot discovery button (Ran):
	// one entry per discovery device, none when none is configured.
	Discovery []discoveryResult
	Ran       bool
}

func (s *Server) getDiagnostics(w http.ResponseWriter, r *request) {
	s.diagnosticsPage(w, r, nil)
}

func (s *Server) diagnosticsPage(w http.ResponseWriter, r *request, discovery []discoveryResult) {
	d := diagData{Discovery: discovery, Ran: discovery != nil}
	if s.logs != nil {
		lines := s.logs()
		// newest first, at most 200 on the page
		for i := len(lines) - 1; i >= 0 && len(d.Logs) < 200; i-- {
			d.Logs = append(d.Logs, lines[i])
		}
	}
	d.Audit = s.audit.entries()
	if len(d.Audit) > 50 {
		d.Audit = d.Audit[:50]
	}
	s.render(w, r, http.StatusOK, "diagnostics", pageData{Nav: "diagnostics", Data: d})
}
