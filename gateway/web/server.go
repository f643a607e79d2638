// Package web serves the technician's local web page: HTTPS with a
// self-signed certificate made on first start, a one-time setup code instead
// of a default password, argon2id-hashed passwords with login throttling,
// server-side sessions, CSRF protection on every form, and pages that show
// the gateway's state and edit its config file. Templates and CSS are
// embedded and parsed once; the page needs no JavaScript.
//
// The package never imports package gateway: it defines Backend, which the
// gateway implements (gateway/webbackend.go).
package web

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"
)

// Options configure a Server.
type Options struct {
	Backend Backend
	// Dir holds the certificate, accounts and audit log (config web.dir).
	Dir    string
	Logger *slog.Logger
	// Logs returns recent log lines, oldest first, for the diagnostics
	// page and the support bundle (gateway/logring); nil shows none.
	Logs func() []string
	// ColdChain offers the fridges' daily records as CSV; nil hides the
	// download.
	ColdChain ColdChain
	// Hostnames go into a newly generated certificate (names and IPs the
	// technician may type); the box's hostname is always added.
	Hostnames []string
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
	// Restart stops the daemon so that its service manager starts it
	// again (the "Dienst neu starten" button on the settings page); nil
	// hides the button.
	Restart func(reason string)
	// Notify is the SMS/call notifier; nil hides its page.
	Notify NotifyView
	// IssueFile, when set, receives the setup code for the box's console
	// login screen while setup is pending (the image links it into
	// /etc/issue.d); it is removed once an administrator exists.
	IssueFile string
}

// Server is the web page. Create it with New, serve it with Run (or mount
// Handler in a test).
type Server struct {
	be       Backend
	dir      string
	log      *slog.Logger
	logs     func() []string
	cold     ColdChain
	notify   NotifyView
	now      func() time.Time
	cert     tls.Certificate
	fp       string
	accounts *accounts
	sessions *sessions
	throttle *throttle
	// setupThrottle limits setup-code attempts per address.
	setupThrottle *throttle
	sign          *signer
	audit         *auditLog
	cop           *http.CrossOriginProtection
	pages         *pages
	saved         fileConfig
	resolver      resolver
	mux           *http.ServeMux
	// restart is Options.Restart, called restartDelay after the page
	// answered.
	restart      func(reason string)
	restartDelay time.Duration
	issueFile    string
	// checks remembers the overview's first-hour checklist.
	checks *checklistStore
}

// New prepares the page: loads or creates the certificate, reads the
// accounts and logs the setup code when there is no account yet.
func New(opts Options) (*Server, error) {
	if opts.Backend == nil || opts.Dir == "" {
		return nil, errors.New("web: Backend and Dir are required")
	}
	s := &Server{be: opts.Backend, dir: opts.Dir, log: opts.Logger, logs: opts.Logs, cold: opts.ColdChain, notify: opts.Notify, now: opts.Now,
		restart: opts.Restart, restartDelay: restartDelay, issueFile: opts.IssueFile}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("web: create %s: %w", s.dir, err)
	}
	hosts := append([]string{"localhost", "127.0.0.1", "::1"}, opts.Hostnames...)
	if h, err := os.Hostname(); err == nil {
		hosts = append(hosts, h, h+".local")
	}
	var err error
	if s.cert, s.fp, err = loadOrCreateCert(s.dir, hosts, s.now()); err != nil {
		return nil, err
	}
	if s.accounts, err = openAccounts(s.dir); err != nil {
		return nil, err
	}
	if s.audit, err = openAudit(s.dir, s.be.Event); err != nil {
		return nil, err
	}
	if s.checks, err = openChecklist(s.dir); err != nil {
		return nil, err
	}
	if s.pages, err = parsePages(); err != nil {
		return nil, err
	}
	s.resolver = net.DefaultResolver
	if s.sign, err = loadOrCreateSigner(s.dir); err != nil {
		return nil, err
	}
	s.sessions = newSessions(s.now, s.sign)
	s.throttle = newThrottle(s.now)
	s.setupThrottle = newSetupThrottle(s.now)
	s.cop = http.NewCrossOriginProtection()
	s.cop.SetDenyHandler(http.HandlerFunc(s.refuseForeign))
	s.routes()

	s.log.Info("web page certificate", "sha256", s.fp)
	if code := s.accounts.SetupCode(); code != "" {
		// The code is a one-time secret, but the log (journal, root-only)
		// is exactly where the issue wants it: whoever can read it owns
		// the box anyway.
		s.log.Warn("web page not set up yet: open https://<box>/ and enter this setup code", "setup_code", code)
	}
	s.writeIssue()
	return s, nil
}

// Fingerprint is the SHA-256 fingerprint of the page's certificate.
func (s *Server) Fingerprint() string { return s.fp }

// SetupCode returns the pending one-time setup code ("" once set up).
func (s *Server) SetupCode() string { return s.accounts.SetupCode() }

// Handler serves the page (without TLS; Run adds it).
func (s *Server) Handler() http.Handler { return s.mux }

// Run serves HTTPS on listen and, unless redirect is "" or "off", plain
// HTTP on redirect that only redirects to HTTPS. It returns when ctx ends.
func (s *Server) Run(ctx context.Context, listen, redirect string) error {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("web: listen %s: %w", listen, err)
	}
	var rln net.Listener
	if redirect != "" && redirect != "off" {
		if rln, err = net.Listen("tcp", redirect); err != nil {
			ln.Close()
			return fmt.Errorf("web: listen %s: %w", redirect, err)
		}
	}
	return s.Serve(ctx, ln, rln)
}

// Serve is Run on listeners the caller opened (tests use port 0); rln may
// be nil.
func (s *Server) Serve(ctx context.Context, ln, rln net.Listener) error {
	httpsPort := "443"
	if _, p, err := net.SplitHostPort(ln.Addr().String()); err == nil {
		httpsPort = p
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{s.cert}}
	srv := &http.Server{Handler: s.mux, TLSConfig: tlsCfg, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: time.Minute, WriteTimeout: time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)}
	errc := make(chan error, 2)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	var rsrv *http.Server
	if rln != nil {
		rsrv = &http.Server{Handler: redirectHandler(httpsPort), ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)}
		go func() { errc <- rsrv.Serve(rln) }()
	}
	s.log.Info("web page listening", "https", ln.Addr().String())
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	if rsrv != nil {
		rsrv.Shutdown(sctx)
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("web: serve: %w", err)
	}
	return nil
}

// redirectHandler sends every plain-HTTP request to the HTTPS page. Only
// GET and HEAD are redirected; a form posted over plain HTTP is refused
// rather than replayed.
func redirectHandler(httpsPort string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "use https", http.StatusBadRequest)
			return
		}
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if host == "" || len(host) > 253 {
			http.Error(w, "bad host", http.StatusBadRequest)
			return
		}
		target := "https://" + net.JoinHostPort(host, httpsPort)
		if httpsPort == "443" {
			target = "https://" + hostForURL(host)
		}
		http.Redirect(w, r, target+"/", http.StatusMovedPermanently)
	})
}

func hostForURL(h string) string {
	if ip := net.ParseIP(h); ip != nil && ip.To4() == nil {
		return "[" + h + "]"
	}
	return h
}
