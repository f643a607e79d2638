package web

import (
	"context"
	"html"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
)

// pollWords is the test backend for the page walk: its test poll returns
// readings that used to show in English ("door.open 0").
type pollWords struct{ *fakeBackend }

// walkBackend adds a USB UPS plugged into the box, so the found page's
// USB list and its adoption page are walked too.
type walkBackend struct{ pollWords }

func (walkBackend) Attached() []drivers.Attached {
	return []drivers.Attached{{Key: "4B1948P07984", Title: "American Power Conversion Back-UPS ES 850G2 (051d:0002, USB)", ID: "usv-4b1948p07984",
		Adopt: drivers.Adoption{Driver: "upshid", Kind: "ups", Settings: map[string]string{"serial": "4B1948P07984"}}}}
}

func (b pollWords) PollNow(ctx context.Context, device string) (drivers.Sample, error) {
	b.fakeBackend.PollNow(ctx, device)
	return drivers.Sample{Device: device, Metrics: []drivers.Metric{drivers.Num("temperature", 5.25, "°C"),
		drivers.Num("door.open", 0, ""), drivers.Num("device.reachable", 1, ""), drivers.Num("battery.voltage", 3.1, "V")}}, nil
}

// walkPage is one page of the walk: how to reach it and which template
// it shows.
type walkPage struct {
	template string
	method   string
	path     string
	form     url.Values
	// code is the expected status.
	code int
}

// walkPages reaches every template of the page once the admin is logged
// in. A new template must be added here, or TestEveryPageTranslated
// fails naming it.
var walkPages = []walkPage{
	{"overview", http.MethodGet, "/", nil, http.StatusOK},
	{"devices", http.MethodGet, "/devices", nil, http.StatusOK},
	{"devices", http.MethodPost, "/devices/poll", url.Values{"device": {"kuehlschrank"}}, http.StatusOK},
	{"found", http.MethodGet, "/devices/found", nil, http.StatusOK},
	{"adopt", http.MethodGet, "/devices/adopt?source=netz&mac=00:c0:b7:01:02:03", nil, http.StatusOK},
	{"adoptusb", http.MethodGet, "/devices/adopt-attached?driver=upshid&key=4B1948P07984", nil, http.StatusOK},
	{"alarms", http.MethodGet, "/alarms", nil, http.StatusOK},
	{"settings", http.MethodGet, "/settings", nil, http.StatusOK},
	{"diagnostics", http.MethodGet, "/diagnostics", nil, http.StatusOK},
	{"update", http.MethodGet, "/update", nil, http.StatusOK},
	{"notify", http.MethodGet, "/notify", nil, http.StatusOK},
	{"error", http.MethodGet, "/keine-seite", nil, http.StatusNotFound},
	{"refused", http.MethodPost, "/alarms/rule", url.Values{"rule": {"0"}, "above": {"9,5"}, "below": {"2"}, "severity": {"major"}, "csrf": {"veraltet"}}, http.StatusForbidden},
}

// Raw records (log lines, audit entries, certificate fingerprints, the
// self monitor's metric names) are shown as they are, in any language.
var rawRE = regexp.MustCompile(`(?s)<pre\b.*?</pre>|<code\b.*?</code>|<table id="audit".*?</table>|<details>.*?</details>|<style\b.*?</style>`)
var tagRE = regexp.MustCompile(`(?s)<[^>]*>`)

// visibleText is what a reader sees of a page, without raw records.
func visibleText(body string) string {
	body = rawRE.ReplaceAllString(body, " ")
	body = tagRE.ReplaceAllString(body, " ")
	return strings.Join(strings.Fields(html.UnescapeString(body)), " ")
}

// foreignPhrases are the catalog's texts of one language that cannot be
// part of a page in the other: every fixed fragment (between format
// verbs) of at least two words that no message of the other language
// contains. New keys of any i18n_*.go file join automatically.
func foreignPhrases(lang string) []string {
	other := func(m msg) string {
		if lang == langDE {
			return m.de
		}
		return m.en
	}
	mine := func(m msg) string {
		if lang == langDE {
			return m.en
		}
		return m.de
	}
	var all strings.Builder
	for _, m := range catalog {
		all.WriteString(strings.ToLower(other(m)) + "\n")
	}
	seen := map[string]bool{}
	verb := regexp.MustCompile(`%[sdv%]`)
	for _, m := range catalog {
		if m.de == m.en {
			continue
		}
		for _, frag := range verb.Split(mine(m), -1) {
			frag = strings.TrimSpace(frag)
			if len(strings.Fields(frag)) < 2 || len(frag) < 10 || strings.Contains(all.String(), strings.ToLower(frag)) {
				continue
			}
			seen[frag] = true
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// englishWordRE and germanWordRE catch words of the wrong language that
// come from outside the catalog (backend reasons, device kinds, metric
// names); data such as device names and vendors contain none of them.
var (
	englishWordRE = regexp.MustCompile(`(?i)\b(the|and|with|without|section|printer|reachable|failed|unknown|rollout|healthy|critical|major|minor)\b|door\.open \d|device\.reachable \d`)
	germanWordRE  = regexp.MustCompile(`(?i)\b(und|nicht|oder|mit|ohne|wird|bitte|erreichbar)\b`)
)

// TestEveryPageTranslated walks every template in German and in English
// and fails on a message key without a translation (tr reports misses),
// on English text on a German page and German text on an English one
// (issue 22). The backend is given the data that used to leak: an update
// reason, device kinds of discovered hosts and 0/1 readings.
func TestEveryPageTranslated(t *testing.T) {
	var mu sync.Mutex
	var missed []string
	report := func(key string) {
		mu.Lock()
		missed = append(missed, key)
		mu.Unlock()
	}
	missingKey.Store(&report)
	t.Cleanup(func() { missingKey.Store(nil) })

	covered := map[string]bool{"layout": true, "setup": true, "login": true}
	for _, lang := range []string{langDE, langEN} {
		t.Run(lang, func(t *testing.T) {
			e, _ := notifyEnv(t)
			e.srv.be = walkBackend{pollWords{e.be}}
			e.be.mu.Lock()
			e.be.update = UpdateInfo{Version: "1.2.3", Reason: "no update: section in the config",
				History: []UpdateStep{{At: time.Date(2026, 11, 20, 21, 0, 0, 0, time.UTC), State: "deferred", From: "1.2.3", To: "1.3.0", Reason: "outside the maintenance window"},
					{At: time.Date(2026, 11, 21, 21, 0, 0, 0, time.UTC), State: "deferred", From: "1.2.3", To: "1.3.0", Reason: "staged rollout at 20%, this gateway is in bucket 57"}}}
			e.be.hosts = append(e.be.hosts, Host{Source: "netz", MAC: "00:11:32:aa:bb:cc", IPs: []string{"192.168.10.20"}, Vendor: "Synology", Name: "ablage", Kind: "nas", Present: true, Known: true})
			e.be.mu.Unlock()

			// The pages before login: setup (a second box) and login.
			fresh := newEnv(t)
			pages := []struct{ name, body string }{}
			if lang == langEN {
				fresh.get("/setup")
				fresh.post("/lang", url.Values{"lang": {"en"}, "back": {"/setup"}})
				e.post("/lang", url.Values{"lang": {"en"}, "back": {"/"}})
			}
			_, body := fresh.get("/setup")
			pages = append(pages, struct{ name, body string }{"setup", body})
			fresh.setUp()
			_, body = fresh.get("/login")
			pages = append(pages, struct{ name, body string }{"login", body})

			for _, p := range walkPages {
				var resp *http.Response
				if p.method == http.MethodGet {
					resp, body = e.get(p.path)
				} else {
					form := url.Values{}
					maps.Copy(form, p.form)
					resp, body = e.post(p.path, form)
				}
				wantStatus(t, resp, p.code, body)
				covered[p.template] = true
				pages = append(pages, struct{ name, body string }{p.method + " " + p.path, body})
			}
			foreign := foreignPhrases(lang)
			if len(foreign) < 100 {
				t.Fatalf("only %d phrases to look for; is the catalog scan broken?", len(foreign))
			}
			wordRE := englishWordRE
			if lang == langEN {
				wordRE = germanWordRE
			}
			for _, p := range pages {
				if !strings.Contains(p.body, `<html lang="`+lang+`">`) {
					t.Errorf("%s: not a %s page", p.name, lang)
				}
				text := visibleText(p.body)
				for _, f := range foreign {
					if strings.Contains(strings.ToLower(text), strings.ToLower(f)) {
						t.Errorf("%s (%s) shows the other language's %q", p.name, lang, f)
					}
				}
				if m := wordRE.FindAllString(text, 5); m != nil {
					t.Errorf("%s (%s) shows words of the other language %q in:\n%s", p.name, lang, m, text)
				}
			}
			// The data that used to leak is shown in the page's words.
			want := map[string][]string{
				langDE: {"kein Abschnitt update: in der Konfiguration", "außerhalb des Wartungsfensters", "Drucker", "NAS",
					"Tür offen", "nein", "erreichbar", "ja", "Alarmstufe"},
				langEN: {"no update: section in the config", "outside the maintenance window", "printer", "door open", "reachable", "yes", "no"},
			}[lang]
			all := ""
			for _, p := range pages {
				all += visibleText(p.body) + "\n"
			}
			for _, w := range want {
				if !strings.Contains(all, w) {
					t.Errorf("%s pages lack %q", lang, w)
				}
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if len(missed) > 0 {
		slices.Sort(missed)
		t.Errorf("keys without a message: %v", slices.Compact(missed))
	}
	srv, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	for name := range srv.byName {
		if !covered[name] {
			t.Errorf("template %s.html is not walked: add a page that shows it to walkPages", name)
		}
	}
}
