package config

import (
	"net"
	"path/filepath"
	"strconv"
)

// Web configures the technician's local web page (gateway/web).
type Web struct {
	// Listen is the HTTPS address. Default ":443"; "off" disables the page.
	Listen string `yaml:"listen"`
	// RedirectListen is a plain-HTTP address that only redirects to HTTPS,
	// so a technician typing the box's name without https:// still lands
	// on the page. Default ":80"; "off" disables it.
	RedirectListen string `yaml:"redirect_listen"`
	// Dir holds the self-signed certificate, the admin credentials, the
	// audit log and sessions' secrets. Default <state_dir>/web.
	Dir string `yaml:"dir"`
}

// WebOff is the value of web.listen or web.redirect_listen that turns the
// listener off.
const WebOff = "off"

const (
	defaultWebListen   = ":443"
	defaultWebRedirect = ":80"
)

// validateWeb checks the listen addresses: host:port with a port number,
// the host part optional.
func (l *loader) validateWeb() {
	w := l.cfg.Web
	l.listenAddr("web.listen", w.Listen)
	l.listenAddr("web.redirect_listen", w.RedirectListen)
	if w.Listen != "" && w.Listen != WebOff && w.Listen == w.RedirectListen {
		l.problem("web.redirect_listen", "must differ from web.listen, both are %q", w.Listen)
	}
}

func (l *loader) listenAddr(path, v string) {
	if v == "" || v == WebOff {
		return
	}
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		l.problem(path, "want host:port (e.g. \":443\" or \"192.168.1.5:443\") or off, got %s", shown(v))
		return
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		l.problem(path, "port must be 1 … 65535, got %s", shown(port))
	}
}

func (l *loader) fillWebDefaults() {
	w := &l.cfg.Web
	setStr(&w.Listen, defaultWebListen)
	setStr(&w.RedirectListen, defaultWebRedirect)
	w.Dir = l.absDir(w.Dir, filepath.Join(l.cfg.StateDir, "web"))
}
