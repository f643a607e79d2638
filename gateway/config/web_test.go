package config

import (
	"strings"
	"testing"
)

func TestWebSection(t *testing.T) {
	base := "site: s\ngateway: g\nstate_dir: /srv/pg\nuplink: {broker: \"tcp://127.0.0.1:1883\"}\n"
	tests := []struct {
		name    string
		web     string
		want    Web
		problem string
	}{
		{name: "defaults", want: Web{Listen: ":443", RedirectListen: ":80", Dir: "/srv/pg/web"}},
		{name: "explicit", web: "web: {listen: \"127.0.0.1:8443\", redirect_listen: \"off\", dir: /etc/pgweb}\n",
			want: Web{Listen: "127.0.0.1:8443", RedirectListen: "off", Dir: "/etc/pgweb"}},
		{name: "bad address", web: "web: {listen: \"443\"}\n", problem: "web.listen: want host:port"},
		{name: "bad port", web: "web: {listen: \":99999\"}\n", problem: "web.listen: port must be 1 … 65535"},
		{name: "same port twice", web: "web: {listen: \":8443\", redirect_listen: \":8443\"}\n", problem: "web.redirect_listen: must differ"},
		{name: "unknown key", web: "web: {port: 443}\n", problem: "web.port: unknown key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(base+tt.web), "/etc/praxisgate/praxisgate.yaml")
			if tt.problem != "" {
				if err == nil || !strings.Contains(err.Error(), tt.problem) {
					t.Fatalf("want problem %q, got %v", tt.problem, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Web != tt.want {
				t.Fatalf("web = %+v, want %+v", cfg.Web, tt.want)
			}
		})
	}
}
