package config

import (
	"crypto/ed25519"
	"encoding/base64"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestCommandsSection(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(strings.NewReader(strings.Repeat("c", 64)))
	key := base64.StdEncoding.EncodeToString(pub)
	base := "site: s\ngateway: g\nuplink: {broker: \"tcp://127.0.0.1:1883\"}\n"
	tests := []struct {
		name, yaml string
		want       Commands
		problems   []string
	}{
		{name: "defaults", want: Commands{RequireSignature: DefaultRequireSignature, MaxSkew: 5 * time.Minute, ConfirmTimeout: 2 * time.Minute}},
		{name: "explicit", yaml: "commands: {require_signature: ['*'], keys: [" + key + "], max_skew: 30s, confirm_timeout: 5m}\n",
			want: Commands{RequireSignature: []string{"*"}, Keys: []string{key}, MaxSkew: 30 * time.Second, ConfirmTimeout: 5 * time.Minute}},
		{name: "no signatures", yaml: "commands: {require_signature: []}\n",
			want: Commands{RequireSignature: []string{}, MaxSkew: 5 * time.Minute, ConfirmTimeout: 2 * time.Minute}},
		{name: "bad", yaml: "commands: {require_signature: [reboot], keys: [AAAA, '" + key + "'], max_skew: 1s, confirm_timeout: 1s}\n",
			problems: []string{
				"commands.require_signature[0]: want *, ping",
				"commands.keys[0]: want an Ed25519 public key",
				"commands.max_skew: must be ≥ 10s",
				"commands.confirm_timeout: must be ≥ 10s",
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFiles(t, base+tc.yaml, nil)
			if tc.problems != nil {
				got := strings.Join(problems(t, path), "\n")
				for _, p := range tc.problems {
					if !strings.Contains(got, p) {
						t.Errorf("problems\n%s\nlack %q", got, p)
					}
				}
				return
			}
			cfg, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg.Commands, tc.want) {
				t.Fatalf("commands = %+v, want %+v", cfg.Commands, tc.want)
			}
		})
	}
}
