package update_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/praxisgate/praxisgate/update"
)

// junkServer serves a release repository honestly, or, for the target
// files while a mode is set, something else.
type junkServer struct {
	dir    string
	mode   atomic.Value // string
	ranged atomic.Int32
	mu     sync.Mutex
	served int // junk answers given
}

func (j *junkServer) ServeHTTP(w http.ResponseWriter, q *http.Request) {
	if q.Header.Get("Range") != "" {
		j.ranged.Add(1)
	}
	mode, _ := j.mode.Load().(string)
	if mode == "" || !strings.Contains(q.URL.Path, "/targets/") {
		http.FileServer(http.Dir(j.dir)).ServeHTTP(w, q)
		return
	}
	j.mu.Lock()
	j.served++
	j.mu.Unlock()
	real, err := os.ReadFile(filepath.Join(j.dir, filepath.FromSlash(q.URL.Path)))
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	junk := bytes.Repeat([]byte("junk"), len(real)/4+1)[:len(real)]
	page := []byte("<html><body>Please accept the terms of use of the guest Wi-Fi.</body></html>")
	switch mode {
	case "longer": // junk longer than signed, its length announced
		body := append(append([]byte{}, junk...), []byte("more junk")...)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	case "longer-chunked": // the same without a length
		w.(http.Flusher).Flush()
		w.Write(junk)
		w.Write([]byte("more junk"))
	case "shorter": // junk that ends early, cleanly
		w.Header().Set("Content-Length", strconv.Itoa(len(junk)/3))
		w.Write(junk[:len(junk)/3])
	case "captive-portal": // 200, a small HTML page
		w.Header().Set("Content-Type", "text/html")
		w.Write(page)
	case "broken-junk": // the right length announced, junk, cut half-way
		w.Header().Set("Content-Length", strconv.Itoa(len(real)))
		w.Write(junk[:len(junk)/2])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	case "broken-honest": // the file, cut half-way
		w.Header().Set("Content-Length", strconv.Itoa(len(real)))
		w.Write(real[:len(real)/2])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}
}

// After any failed download (junk longer or shorter than signed, with or
// without a length, a captive portal's page, junk or the real file broken
// off half-way), the next download from an honest server installs the
// release: never "refused: tampered" against it. A part file is kept only
// after a transfer that announced the signed length and broke off.
func TestDownloadAfterJunk(t *testing.T) {
	cases := []struct {
		mode     string
		keepPart bool // the first attempt leaves bytes to resume
		ranged   bool // the honest download resumes with Range
	}{
		{"longer", false, false},
		{"longer-chunked", false, false},
		{"shorter", false, false},
		{"captive-portal", false, false},
		{"broken-junk", true, true},
		{"broken-honest", true, true},
	}
	for _, tc := range cases {
		t.Run(tc.mode, func(t *testing.T) {
			r := newRepo(t)
			bin := fakeBinary(t, "2.0.0", 200_000)
			r.add(t, bin, "2.0.0", nil)
			js := &junkServer{dir: r.Dir}
			js.mode.Store(tc.mode)
			srv := httptest.NewServer(js)
			defer srv.Close()
			m, p := newInproc(t, r, "1.0.0", rootOf(t, r), func(c *update.Config) { c.RepoURL = srv.URL })
			part := filepath.Join(p.layout.VersionDir("2.0.0"), update.BinaryName+".part")

			ev := m.Check(context.Background(), false)
			if ev.State != update.StateFailed {
				t.Fatalf("junk download: %+v, want failed (the box tries again; nothing signed was refused)", ev)
			}
			_, err := os.Stat(part)
			if kept := err == nil; kept != tc.keepPart {
				t.Fatalf("part file kept: %v, want %v (%s)", kept, tc.keepPart, ev.Reason)
			}
			t.Logf("%s: %s", tc.mode, ev.Reason)

			js.mode.Store("")
			if ev := m.Check(context.Background(), false); ev.State != update.StateInstalled {
				t.Fatalf("honest download after %s: %+v", tc.mode, ev)
			}
			got, _ := os.ReadFile(p.layout.BinaryPath("2.0.0"))
			want, _ := os.ReadFile(bin)
			if !bytes.Equal(got, want) {
				t.Fatal("installed binary differs from the release")
			}
			if _, err := os.Stat(part); err == nil {
				t.Fatal("part file left after the install")
			}
			if n := js.ranged.Load(); (n > 0) != tc.ranged {
				t.Fatalf("%d Range requests; resume wanted: %v", n, tc.ranged)
			}
			for _, e := range p.events {
				if e.State == update.StateRefused {
					t.Fatalf("refused against an honest server: %+v", e)
				}
			}
		})
	}
}
