package web

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/praxisgate/praxisgate/drivers"
)

// adoptForm is what the technician enters to adopt a discovered host.
type adoptForm struct {
	Source, MAC, ID, Name, Profile string
}

// findHost returns the inventory entry the form names.
func (s *Server) findHost(source, mac string) (Host, bool) {
	for _, h := range s.be.Inventory() {
		if h.Source == source && strings.EqualFold(h.MAC, mac) {
			return h, true
		}
	}
	return Host{}, false
}

// deviceIndex is the position of a device in the saved config's list,
// which is its index in the file's devices: sequence.
func (s *Server) deviceIndex(id string) int {
	for i, d := range s.saved.get(s.be.Config()).Devices {
		if d.ID == id {
			return i
		}
	}
	return -1
}

// suggestID proposes a device id from the host's name: lower case, a-z,
// 0-9 and '-', so the technician usually just confirms it.
func suggestID(h Host) string {
	src := h.Name
	if src == "" {
		src = h.Kind + "-" + strings.ReplaceAll(h.MAC, ":", "")[6:]
	}
	src = strings.NewReplacer("ä", "ae", "ö", "oe", "ü", "ue", "ß", "ss").Replace(strings.ToLower(src))
	var b strings.Builder
	dash := false
	for _, r := range src {
		if b.Len() >= 40 {
			break
		}
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimRight(b.String(), "-")
}

var errHostGone = errors.New("web: host not in the inventory")

type adoptData struct {
	Host Host
	Form adoptForm
}

// adoptable is a host a driver can poll and nobody adopted yet.
func adoptable(h Host) bool { return h.Adopt != nil && h.Present && h.Adopted == "" }

// hostLists returns the section (the driver's name) and the keys of the
// known and adopted lists of the discovery device at index i of the saved
// config (drivers.HostListConfig); ok is false for a device without them.
func (s *Server) hostLists(i int) (section, known, adopted string, ok bool) {
	devs := s.be.Config().Devices
	if i < 0 || i >= len(devs) {
		return "", "", "", false
	}
	lc, ok := devs[i].DriverConfig.(drivers.HostListConfig)
	if !ok {
		return "", "", "", false
	}
	known, adopted = lc.HostListKeys()
	return devs[i].Driver, known, adopted, true
}

// getAdopt shows the adoption form for one host, the id proposed.
func (s *Server) getAdopt(w http.ResponseWriter, r *request) {
	q := r.URL.Query()
	h, ok := s.findHost(q.Get("source"), q.Get("mac"))
	if !ok || !adoptable(h) {
		s.fail(w, r, http.StatusNotFound, "err.unknown_device", nil)
		return
	}
	s.render(w, r, http.StatusOK, "adopt", pageData{Nav: "devices", Data: adoptData{Host: h,
		Form: adoptForm{Source: h.Source, MAC: h.MAC, ID: suggestID(h), Name: h.Name}}})
}

// postAdopt adds a discovered SNMP host as a device polled by the snmp
// driver and marks it adopted in its discovery device's config, in one
// checked edit of the config file.
func (s *Server) postAdopt(w http.ResponseWriter, r *request) {
	f := adoptForm{Source: r.PostFormValue("source"), MAC: r.PostFormValue("mac"), ID: strings.TrimSpace(r.PostFormValue("id")),
		Name: strings.TrimSpace(r.PostFormValue("name")), Profile: strings.TrimSpace(r.PostFormValue("profile"))}
	h, ok := s.findHost(f.Source, f.MAC)
	src := s.deviceIndex(f.Source)
	srcSection, _, adoptedKey, lists := s.hostLists(src)
	if !ok || src < 0 || !lists || !adoptable(h) {
		s.fail(w, r, http.StatusNotFound, "err.unknown_device", errHostGone)
		return
	}
	if key := checkSlug(f.ID); key != "" {
		s.render(w, r, http.StatusUnprocessableEntity, "adopt", pageData{Nav: "devices",
			Fields: map[string]string{"id": tr(r.lang, key)}, Data: adoptData{Host: h, Form: f}})
		return
	}
	devs := len(s.saved.get(s.be.Config()).Devices)
	ad := h.Adopt
	var skv []any
	for _, k := range slices.Sorted(maps.Keys(ad.Settings)) {
		skv = append(skv, k, ad.Settings[k])
	}
	section := mapping(skv...)
	if f.Profile != "" && ad.ProfileKey != "" {
		section.Content = append(section.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: ad.ProfileKey},
			&yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle,
				Content: []*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!str", Value: f.Profile}}})
	}
	kv := []any{"id", f.ID}
	if f.Name != "" {
		kv = append(kv, "name", f.Name)
	}
	kv = append(kv, "driver", ad.Driver)
	if ad.Kind != "" {
		kv = append(kv, "kind", ad.Kind)
	}
	kv = append(kv, ad.Driver, section)
	edits := []edit{appendTo(mapping(kv...), "devices"), setStr(f.ID, "devices", src, srcSection, adoptedKey, strings.ToLower(h.MAC))}
	p := fmt.Sprintf("devices[%d].", devs)
	fields := map[string]string{p + "id": "id", p + "name": "name", fmt.Sprintf("devices[%d].%s.%s", src, srcSection, adoptedKey): "id"}
	if ad.ProfileKey != "" {
		fields[p+ad.Driver+"."+ad.ProfileKey], fields[p+ad.Driver+"."+ad.ProfileKey+"[0]"] = "profile", "profile"
	}
	res, err := s.saveConfig(r.Context(), r.lang, edits, fields)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "err.internal", err)
		return
	}
	if !res.ok() {
		s.render(w, r, http.StatusUnprocessableEntity, "adopt", pageData{Nav: "devices", Error: tr(r.lang, "err.config_refused"),
			Fields: res.Fields, Problems: res.Problems, Data: adoptData{Host: h, Form: f}})
		return
	}
	s.change(r, "device.adopt", fmt.Sprintf("%s (%s, %s) as %s", h.MAC, h.IPs[0], h.Name, f.ID))
	s.savedRedirect(w, r, "/devices/found", res.Applied)
}

// postIgnore marks a discovered host as expected (known_macs), so it no
// longer raises device.unknown.
func (s *Server) postIgnore(w http.ResponseWriter, r *request) {
	source, mac, _ := strings.Cut(r.PostFormValue("host"), " ")
	h, ok := s.findHost(source, mac)
	src := s.deviceIndex(h.Source)
	srcSection, knownKey, _, lists := s.hostLists(src)
	if !ok || src < 0 || !lists || h.Known {
		s.fail(w, r, http.StatusNotFound, "err.unknown_device", errHostGone)
		return
	}
	mac = strings.ToLower(h.MAC)
	res, err := s.saveConfig(r.Context(), r.lang, []edit{appendTo(&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: mac, Style: yaml.DoubleQuotedStyle},
		"devices", src, srcSection, knownKey)}, nil)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "err.internal", err)
		return
	}
	if !res.ok() {
		s.foundPage(w, r, http.StatusUnprocessableEntity, pageData{Error: tr(r.lang, "err.config_refused"), Problems: res.Problems})
		return
	}
	s.change(r, "device.ignore", fmt.Sprintf("%s (%s)", mac, strings.Join(h.IPs, ", ")))
	s.savedRedirect(w, r, "/devices/found", res.Applied)
}
