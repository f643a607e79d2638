package web

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

// upsTester is a Backend that can start a UPS's battery self-test (the
// device list's button). It is optional so that a Backend without UPSes
// need not implement it; webbackend.Backend does.
type upsTester interface {
	SelfTest(ctx context.Context, device string, deep bool) error
}

// attachedLister is a Backend that lists devices plugged into the box
// itself (a USB UPS), which the "found" page offers for adoption beside
// the network's hosts.
type attachedLister interface {
	Attached() []drivers.Attached
}

// selfTestTimeout bounds starting a self-test: a few USB or serial
// requests; the test itself runs on in the UPS.
const selfTestTimeout = 20 * time.Second

// attached returns what the backend finds plugged into the box.
func (s *Server) attached() []drivers.Attached {
	if al, ok := s.be.(attachedLister); ok {
		return al.Attached()
	}
	return nil
}

// postSelfTest starts a UPS's quick battery self-test. It is audited:
// the UPS runs on its battery for a while, which the provider should
// know. The deep test (a runtime calibration that drains the battery) is
// left to the provider's signed ups-selftest command.
func (s *Server) postSelfTest(w http.ResponseWriter, r *request) {
	id := r.PostFormValue("device")
	ut, ok := s.be.(upsTester)
	var dev *Device
	for _, d := range s.be.Devices() {
		if d.ID == id && d.SelfTest && !d.Disabled {
			dev = &d
		}
	}
	if !ok || dev == nil {
		s.fail(w, r, http.StatusNotFound, "err.unknown_device", nil)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), selfTestTimeout)
	defer cancel()
	if err := ut.SelfTest(ctx, id, false); err != nil {
		s.log.Warn("web: battery self-test not started", "user", r.sess.user, "device", id, "err", err)
		s.devicesPage(w, r, http.StatusBadGateway, pageData{Error: tr(r.lang, "ups.selftest_failed") + " " + err.Error()}, nil)
		return
	}
	s.change(r, "ups.selftest", id+" (quick)")
	s.redirect(w, r, "/devices", "ups.selftest_started")
}

// findAttached returns the attached device of driver with key that
// nobody reads yet.
func (s *Server) findAttached(driver, key string) (drivers.Attached, bool) {
	for _, a := range s.attached() {
		if a.Adopt.Driver == driver && a.Key == key && a.Adopted == "" {
			return a, true
		}
	}
	return drivers.Attached{}, false
}

type adoptAttachedData struct {
	Dev  drivers.Attached
	Form adoptForm
}

// getAdoptAttached shows the adoption form for a device plugged into the
// box, with the id proposed.
func (s *Server) getAdoptAttached(w http.ResponseWriter, r *request) {
	q := r.URL.Query()
	a, ok := s.findAttached(q.Get("driver"), q.Get("key"))
	if !ok {
		s.fail(w, r, http.StatusNotFound, "err.unknown_device", nil)
		return
	}
	s.render(w, r, http.StatusOK, "adoptusb", pageData{Nav: "devices", Data: adoptAttachedData{Dev: a, Form: adoptForm{ID: a.ID, Name: a.Title}}})
}

var errAttachedGone = errors.New("web: attached device no longer found")

// postAdoptAttached adds a device plugged into the box (a USB UPS) as a
// monitored device with its driver's section (the UPS's serial), in one
// checked edit of the config file.
func (s *Server) postAdoptAttached(w http.ResponseWriter, r *request) {
	driver, key := r.PostFormValue("driver"), r.PostFormValue("key")
	f := adoptForm{ID: strings.TrimSpace(r.PostFormValue("id")), Name: strings.TrimSpace(r.PostFormValue("name"))}
	a, ok := s.findAttached(driver, key)
	if !ok {
		s.fail(w, r, http.StatusNotFound, "err.unknown_device", errAttachedGone)
		return
	}
	data := adoptAttachedData{Dev: a, Form: f}
	if k := checkSlug(f.ID); k != "" {
		s.render(w, r, http.StatusUnprocessableEntity, "adoptusb", pageData{Nav: "devices",
			Fields: map[string]string{"id": tr(r.lang, k)}, Data: data})
		return
	}
	var skv []any
	for _, k := range slices.Sorted(maps.Keys(a.Adopt.Settings)) {
		skv = append(skv, k, a.Adopt.Settings[k])
	}
	kv := []any{"id", f.ID}
	if f.Name != "" {
		kv = append(kv, "name", f.Name)
	}
	kv = append(kv, "driver", a.Adopt.Driver)
	if a.Adopt.Kind != "" {
		kv = append(kv, "kind", a.Adopt.Kind)
	}
	kv = append(kv, a.Adopt.Driver, mapping(skv...))
	p := fmt.Sprintf("devices[%d].", len(s.saved.get(s.be.Config()).Devices))
	res, err := s.saveConfig(r.Context(), r.lang, []edit{appendTo(mapping(kv...), "devices")},
		map[string]string{p + "id": "id", p + "name": "name"})
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "err.internal", err)
		return
	}
	if !res.ok() {
		s.render(w, r, http.StatusUnprocessableEntity, "adoptusb", pageData{Nav: "devices", Error: tr(r.lang, "err.config_refused"),
			Fields: res.Fields, Problems: res.Problems, Data: data})
		return
	}
	s.change(r, "device.adopt", fmt.Sprintf("%s (%s) as %s", a.Title, a.Adopt.Driver, f.ID))
	s.savedRedirect(w, r, "/devices/found", res.Applied)
}
