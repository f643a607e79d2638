package web

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/praxisgate/praxisgate/gateway/config"
)

type settingsData struct {
	Form     settingsForm
	CA, Cert certInfo
	Test     []step
	TestOK   bool
	// CanRestart shows the "restart the service" button.
	CanRestart bool
}

type settingsForm struct {
	Site, Gateway, Broker, Username, Interval string
}

// certInfo describes a configured certificate file for the page.
type certInfo struct {
	File, Subject, Expires string
}

func describeCert(path string) certInfo {
	if path == "" {
		return certInfo{}
	}
	ci := certInfo{File: path}
	data, err := os.ReadFile(path)
	if err != nil {
		ci.Subject = err.Error()
		return ci
	}
	certs, p := parseCerts(data)
	if p != nil {
		ci.Subject = p.Error()
		return ci
	}
	ci.Subject = certs[0].Subject.String()
	ci.Expires = certs[0].NotAfter.Format("2006-01-02")
	return ci
}

func formFromConfig(c *config.Config) settingsForm {
	return settingsForm{Site: c.Site, Gateway: c.Gateway, Broker: c.Uplink.Broker, Username: c.Uplink.Username,
		Interval: fmtDur(c.Defaults.Interval)}
}

func (s *Server) settingsPage(w http.ResponseWriter, r *request, code int, d pageData, form *settingsForm, test []step) {
	c := s.saved.get(s.be.Config())
	sd := settingsData{CA: describeCert(c.Uplink.CAFile), Cert: describeCert(c.Uplink.CertFile), Test: test, CanRestart: s.restart != nil}
	if form != nil {
		sd.Form = *form
	} else {
		sd.Form = formFromConfig(c)
	}
	if len(test) > 0 {
		sd.TestOK = test[len(test)-1].OK
	}
	d.Nav = "settings"
	d.Data = sd
	s.render(w, r, code, "settings", d)
}

func (s *Server) getSettings(w http.ResponseWriter, r *request) {
	s.settingsPage(w, r, http.StatusOK, pageData{}, nil, nil)
}

// settingsFields maps config paths to the settings form's field names.
var settingsFields = map[string]string{
	"site": "site", "gateway": "gateway", "uplink.broker": "broker", "uplink.username": "username",
	"uplink.password": "password", "uplink.password_file": "password", "defaults.interval": "interval",
}

func (s *Server) postSettings(w http.ResponseWriter, r *request) {
	f := settingsForm{
		Site: strings.TrimSpace(r.PostFormValue("site")), Gateway: strings.TrimSpace(r.PostFormValue("gateway")),
		Broker: strings.TrimSpace(r.PostFormValue("broker")), Username: strings.TrimSpace(r.PostFormValue("username")),
		Interval: strings.TrimSpace(r.PostFormValue("interval")),
	}
	edits := []edit{setStr(f.Site, "site"), setStr(f.Gateway, "gateway"), setStr(f.Broker, "uplink", "broker")}
	if f.Username == "" {
		edits = append(edits, remove("uplink", "username"))
	} else {
		edits = append(edits, setStr(f.Username, "uplink", "username"))
	}
	fields := map[string]string{}
	for _, c := range []struct{ name, key string }{
		{"site", checkSlug(f.Site)}, {"gateway", checkSlug(f.Gateway)}, {"broker", checkBroker(f.Broker)},
	} {
		if c.key != "" {
			fields[c.name] = tr(r.lang, c.key)
		}
	}
	switch {
	case f.Interval == "":
		edits = append(edits, remove("defaults", "interval"))
	case !validDuration(f.Interval):
		fields["interval"] = tr(r.lang, "err.duration")
	default:
		edits = append(edits, setPlain(f.Interval, "defaults", "interval"))
	}
	pw := r.PostFormValue("password")
	var pwFile string
	if pw != "" {
		// The password goes into its own 0600 file, referenced by
		// password_file, so the config file stays shareable.
		pwFile = filepath.Join(s.dir, "secrets", "mqtt-password")
		edits = append(edits, remove("uplink", "password"), setStr(pwFile, "uplink", "password_file"))
	}
	if len(fields) > 0 {
		s.settingsPage(w, r, http.StatusUnprocessableEntity, pageData{Fields: fields}, &f, nil)
		return
	}
	if pwFile != "" {
		if err := writeSecretFile(pwFile, pw); err != nil {
			s.fail(w, r, http.StatusInternalServerError, "err.internal", err)
			return
		}
	}
	res, err := s.saveConfig(r.Context(), r.lang, edits, settingsFields)
	if errors.Is(err, errNoConfigFile) {
		s.settingsPage(w, r, http.StatusConflict, pageData{Error: tr(r.lang, "err.no_config_file")}, &f, nil)
		return
	}
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "err.internal", err)
		return
	}
	if !res.ok() {
		s.settingsPage(w, r, http.StatusUnprocessableEntity, pageData{Error: tr(r.lang, "err.config_refused"), Fields: res.Fields, Problems: res.Problems}, &f, nil)
		return
	}
	detail := fmt.Sprintf("site=%q gateway=%q broker=%q username=%q interval=%q", f.Site, f.Gateway, f.Broker, f.Username, f.Interval)
	if pw != "" {
		detail += " password changed"
	}
	s.change(r, "config.settings", detail)
	s.savedRedirect(w, r, "/settings", res.Applied)
}

func writeSecretFile(path, secret string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("web: create secrets dir: %w", err)
	}
	return replaceKeepingOld(path, []byte(secret+"\n"), 0o600)
}

// maxCertBytes bounds one uploaded PEM file.
const maxCertBytes = 64 << 10

func formFile(r *request, name string) ([]byte, error) {
	if r.MultipartForm == nil {
		return nil, nil
	}
	fh := r.MultipartForm.File[name]
	if len(fh) == 0 || fh[0].Size == 0 {
		return nil, nil
	}
	if fh[0].Size > maxCertBytes {
		return nil, errTooBig
	}
	f, err := fh[0].Open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxCertBytes))
}

var errTooBig = errors.New("file too large")

// postCerts validates uploaded CA / client certificate / key and, when all
// is well, stores them under content-addressed names (so a running
// connection's files are never overwritten) and points the config at them.
func (s *Server) postCerts(w http.ResponseWriter, r *request) {
	var u certUpload
	fields := map[string]string{}
	for _, p := range []struct {
		name string
		dst  *[]byte
	}{{"ca", &u.CA}, {"cert", &u.Cert}, {"key", &u.Key}} {
		data, err := formFile(r, p.name)
		if err != nil {
			fields[p.name] = tr(r.lang, "cert.too_big")
		}
		*p.dst = data
	}
	if len(fields) == 0 && len(u.CA)+len(u.Cert)+len(u.Key) == 0 {
		fields["ca"] = tr(r.lang, "cert.nothing")
	}
	if len(fields) == 0 {
		var configuredCA []byte
		if ca := s.saved.get(s.be.Config()).Uplink.CAFile; ca != "" {
			configuredCA, _ = os.ReadFile(ca)
		}
		for k, p := range checkUpload(u, configuredCA, s.now()) {
			msg := tr(r.lang, p.Key)
			if strings.Contains(msg, "%s") {
				msg = fmt.Sprintf(msg, p.Arg)
			}
			fields[k] = msg
		}
	}
	if len(fields) > 0 {
		s.settingsPage(w, r, http.StatusUnprocessableEntity, pageData{Fields: fields}, nil, nil)
		return
	}
	var edits []edit
	var stored []string
	for _, p := range []struct {
		data        []byte
		prefix, key string
		perm        os.FileMode
	}{{u.CA, "ca", "ca_file", 0o644}, {u.Cert, "client", "cert_file", 0o644}, {u.Key, "client-key", "key_file", 0o600}} {
		if len(p.data) == 0 {
			continue
		}
		sum := sha256.Sum256(p.data)
		path := filepath.Join(s.dir, "certs", p.prefix+"-"+hex.EncodeToString(sum[:6])+".pem")
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			s.fail(w, r, http.StatusInternalServerError, "err.internal", err)
			return
		}
		if err := writeFileAtomic(path, p.data, p.perm); err != nil {
			s.fail(w, r, http.StatusInternalServerError, "err.internal", err)
			return
		}
		edits = append(edits, setStr(path, "uplink", p.key))
		stored = append(stored, p.key+"="+path)
	}
	res, err := s.saveConfig(r.Context(), r.lang, edits, map[string]string{"uplink.ca_file": "ca", "uplink.cert_file": "cert", "uplink.key_file": "key"})
	if errors.Is(err, errNoConfigFile) {
		s.settingsPage(w, r, http.StatusConflict, pageData{Error: tr(r.lang, "err.no_config_file")}, nil, nil)
		return
	}
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "err.internal", err)
		return
	}
	if !res.ok() {
		s.settingsPage(w, r, http.StatusUnprocessableEntity, pageData{Error: tr(r.lang, "err.config_refused"), Fields: res.Fields, Problems: res.Problems}, nil, nil)
		return
	}
	s.change(r, "config.certificates", strings.Join(stored, " "))
	s.savedRedirect(w, r, "/settings", res.Applied)
}

// postTest runs the connection test against the saved settings.
func (s *Server) postTest(w http.ResponseWriter, r *request) {
	steps := testConnection(r.Context(), s.saved.get(s.be.Config()).Uplink, s.resolver)
	s.log.Info("web: connection test", "user", r.sess.user, "ok", steps[len(steps)-1].OK, "step", steps[len(steps)-1].Name)
	s.settingsPage(w, r, http.StatusOK, pageData{}, nil, steps)
}
