package web

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestServeHTTPSAndRedirect(t *testing.T) {
	e := newEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.srv.Serve(ctx, ln, rln) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	// The browser sees exactly the certificate whose fingerprint is
	// logged and shown.
	var seen string
	conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			seen = Fingerprint(raw[0])
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if seen != e.srv.Fingerprint() {
		t.Fatalf("served certificate %s, shown %s", seen, e.srv.Fingerprint())
	}
	// The certificate is valid for localhost, so a pinned pool verifies it.
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(filepath.Join(e.srv.dir, certFileName))
	pool.AppendCertsFromPEM(pem)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	resp, err := c.Get("https://localhost:" + port + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	wantRedirect(t, resp, "/setup")

	// plain HTTP only redirects, for GET; a POST is refused, not replayed
	resp, err = c.Get("http://" + rln.Addr().String() + "/alarms")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "https://127.0.0.1:"+port+"/" {
		t.Fatalf("redirect %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = c.Post("http://"+rln.Addr().String()+"/login", "application/x-www-form-urlencoded", strings.NewReader("user=admin"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("plain POST: %d", resp.StatusCode)
	}
}

func TestRedirectTarget(t *testing.T) {
	for _, tt := range []struct{ host, port, want string }{
		{"box.local", "443", "https://box.local/"},
		{"192.168.1.5:80", "443", "https://192.168.1.5/"},
		{"[fe80::1]:80", "443", "https://[fe80::1]/"},
		{"box", "8443", "https://box:8443/"},
	} {
		req, _ := http.NewRequest(http.MethodGet, "http://x/", nil)
		req.Host = tt.host
		w := &recorder{h: http.Header{}}
		redirectHandler(tt.port).ServeHTTP(w, req)
		if got := w.h.Get("Location"); got != tt.want {
			t.Errorf("%s → %q, want %q", tt.host, got, tt.want)
		}
	}
}

type recorder struct {
	h    http.Header
	code int
}

func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *recorder) WriteHeader(c int)           { r.code = c }

func TestCertificateKeptAndPrivate(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	c1, fp1, err := loadOrCreateCert(dir, []string{"box.local", "192.168.1.5"}, now)
	if err != nil {
		t.Fatal(err)
	}
	_, fp2, err := loadOrCreateCert(dir, nil, now)
	if err != nil || fp1 != fp2 {
		t.Fatalf("second start: %v, fingerprint %s vs %s", err, fp1, fp2)
	}
	if st, _ := os.Stat(filepath.Join(dir, keyFileName)); st.Mode().Perm() != 0o600 {
		t.Fatalf("key mode %v", st.Mode().Perm())
	}
	leaf, _ := x509.ParseCertificate(c1.Certificate[0])
	if err := leaf.VerifyHostname("box.local"); err != nil {
		t.Error(err)
	}
	if err := leaf.VerifyHostname("192.168.1.5"); err != nil {
		t.Error(err)
	}
	if len(fp1) != 95 {
		t.Fatalf("fingerprint %q", fp1)
	}
}

func TestSetupCodeLogged(t *testing.T) {
	var buf strings.Builder
	log := slog.New(slog.NewTextHandler(&buf, nil))
	srv, err := New(Options{Backend: &fakeBackend{}, Dir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "setup_code="+srv.SetupCode()) || !strings.Contains(buf.String(), srv.Fingerprint()) {
		t.Fatalf("log lacks setup code or fingerprint:\n%s", buf.String())
	}
}

func TestApplyEdits(t *testing.T) {
	in := "# head\nsite: a # the site\nalarms:\n  - {device: x, metric: t, above: 8}\n"
	out, err := applyEdits([]byte(in), []edit{setStr("b", "site"), setPlain("9.5", "alarms", 0, "above"),
		setPlain("5m", "alarms", 0, "for"), remove("alarms", 0, "metric"), setStr("tcp://h:1", "uplink", "broker")})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"# head", `site: "b" # the site`, "above: 9.5", "for: 5m", "broker: \"tcp://h:1\""} {
		if !strings.Contains(string(out), w) {
			t.Errorf("edited file lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(string(out), "metric") {
		t.Errorf("key not removed:\n%s", out)
	}
	if _, err := applyEdits([]byte(in), []edit{setPlain("1", "alarms", 3, "above")}); err == nil {
		t.Error("edit of a missing list entry accepted")
	}
	if _, err := applyEdits([]byte("- a\n"), []edit{setStr("b", "site")}); err == nil {
		t.Error("edit of a list document accepted")
	}
}
