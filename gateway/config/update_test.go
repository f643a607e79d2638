package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestUpdateSection(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "update-root.json")
	if err := os.WriteFile(root, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := "site: s\ngateway: g\nstate_dir: /srv/pg\nuplink: {broker: \"tcp://127.0.0.1:1883\"}\n"
	on, off := true, false
	tests := []struct {
		name    string
		update  string
		want    Update
		problem string // the whole message of the one problem
	}{
		{name: "absent: off, left as written", want: Update{}},
		{name: "off with a half-written section", update: "update: {enabled: false, channel: nightly}\n",
			want: Update{Enabled: &off, Channel: "nightly"}},
		{name: "defaults", update: "update: {repo: \"https://updates.example/pg\", root_file: update-root.json}\n",
			want: Update{Repo: "https://updates.example/pg", RootFile: root, Channel: "stable", Window: "20:00-06:00",
				Interval: 24 * time.Hour, RandomDelay: time.Hour, TrialTimeout: 90 * time.Second, Dir: "/srv/pg"}},
		{name: "explicit", update: "update: {enabled: true, repo: \"http://127.0.0.1:8080/r\", insecure_http: true, root_file: " + root +
			", channel: beta, window: \"Sat,Sun 00:00-24:00\", interval: 10m, random_delay: 1s, trial_timeout: 30s, dir: upd}\n",
			want: Update{Enabled: &on, Repo: "http://127.0.0.1:8080/r", InsecureHTTP: true, RootFile: root, Channel: "beta",
				Window: "Sat,Sun 00:00-24:00", Interval: 10 * time.Minute, RandomDelay: time.Second, TrialTimeout: 30 * time.Second,
				Dir: filepath.Join(dir, "upd")}},
		{name: "short interval caps the random delay", update: "update: {repo: \"https://u.example\", root_file: update-root.json, interval: 5m}\n",
			want: Update{Repo: "https://u.example", RootFile: root, Channel: "stable", Window: "20:00-06:00",
				Interval: 5 * time.Minute, RandomDelay: 5 * time.Minute, TrialTimeout: 90 * time.Second, Dir: "/srv/pg"}},
		{name: "enabled without repo", update: "update: {enabled: true, root_file: update-root.json}\n",
			problem: "5:1: update.repo: required when update.enabled is true"},
		{name: "plain http", update: "update: {repo: \"http://127.0.0.1/r\", root_file: update-root.json}\n",
			problem: "5:10: update.repo: plain http:// needs insecure_http: true (labs and tests only); use https://"},
		{name: "plain http off loopback", update: "update: {repo: \"http://10.0.0.5/r\", insecure_http: true, root_file: update-root.json}\n",
			problem: `5:10: update.repo: plain http:// only to a loopback host (127.0.0.1, ::1, localhost), got "10.0.0.5"`},
		{name: "other scheme", update: "update: {repo: \"ftp://u.example/r\", root_file: update-root.json}\n",
			problem: `5:10: update.repo: want https://, got "ftp://"`},
		{name: "no host", update: "update: {repo: \"updates\", root_file: update-root.json}\n",
			problem: `5:10: update.repo: want a URL like https://updates.provider.example/praxisgate, got "updates"`},
		{name: "root missing", update: "update: {repo: \"https://u.example\", root_file: nope.json}\n",
			problem: "5:37: update.root_file: cannot read: open " + filepath.Join(dir, "nope.json") + ": no such file or directory"},
		{name: "channel", update: "update: {repo: \"https://u.example\", root_file: update-root.json, channel: nightly}\n",
			problem: `5:66: update.channel: want stable or beta, got "nightly"`},
		{name: "window", update: "update: {repo: \"https://u.example\", root_file: update-root.json, window: \"Mo 20:00-06:00\"}\n",
			problem: `5:66: update.window: maintenance window "Mo 20:00-06:00": unknown day "Mo" (Mon..Sun)`},
		{name: "interval", update: "update: {repo: \"https://u.example\", root_file: update-root.json, interval: 30s}\n",
			problem: "5:66: update.interval: must be ≥ 1m, got 30s"},
		{name: "random delay above interval", update: "update: {repo: \"https://u.example\", root_file: update-root.json, interval: 1h, random_delay: 2h}\n",
			problem: "5:80: update.random_delay: must be ≤ the interval (1h), got 2h"},
		{name: "negative random delay", update: "update: {repo: \"https://u.example\", root_file: update-root.json, random_delay: -1s}\n",
			problem: "5:66: update.random_delay: must be > 0, got -1s"},
		{name: "trial timeout", update: "update: {repo: \"https://u.example\", root_file: update-root.json, trial_timeout: 1s}\n",
			problem: "5:66: update.trial_timeout: must be ≥ 10s, got 1s"},
		{name: "unknown key", update: "update: {url: \"https://u.example\"}\n", problem: `5:10: update.url: unknown key`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(base+tt.update), filepath.Join(dir, "praxisgate.yaml"))
			if tt.problem != "" {
				if err == nil {
					t.Fatalf("want problem %q, got none", tt.problem)
				}
				lines := strings.Split(strings.TrimSpace(err.Error()), "\n")
				got := strings.TrimPrefix(lines[0], filepath.Join(dir, "praxisgate.yaml")+":")
				if len(lines) != 1 || !strings.HasPrefix(got, tt.problem) {
					t.Fatalf("want the one problem\n%s\ngot\n%s", tt.problem, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg.Update, tt.want) {
				t.Fatalf("update = %+v\nwant     %+v", cfg.Update, tt.want)
			}
			if cfg.Update.On() != (tt.want.Repo != "" && (tt.want.Enabled == nil || *tt.want.Enabled)) {
				t.Fatalf("On() = %v", cfg.Update.On())
			}
		})
	}
}
