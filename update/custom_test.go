package update

import (
	"strings"
	"testing"
)

func TestVersionCompare(t *testing.T) {
	order := []string{"0.9.9", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.10.0", "v2.0.0"}
	for i := range order {
		for j := range order {
			a, err := ParseVersion(order[i])
			if err != nil {
				t.Fatal(err)
			}
			b, _ := ParseVersion(order[j])
			if got, want := a.Compare(b), sign(i-j); got != want {
				t.Errorf("%s vs %s: %d, want %d", order[i], order[j], got, want)
			}
		}
	}
	for _, bad := range []string{"", "1", "1.2", "1.2.3.4", "01.2.3", "1.2.x", "1.2.3-", "1.2.3+build", "1.2.3-a_b", "dev", "-1.2.3", "1.-2.3"} {
		if _, err := ParseVersion(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseRelease(t *testing.T) {
	const path = "stable/linux-arm64/praxisgate-2.1.0"
	cases := []struct {
		name, path, custom, err string
		check                   func(Release) bool
	}{
		{"full", path, `{"version":"2.1.0","channel":"stable","os":"linux","arch":"arm64","rollout_percent":25,"allow_downgrade":true}`, "",
			func(r Release) bool { return r.RolloutPercent == 25 && r.AllowDowngrade && r.Version.Minor == 1 }},
		{"defaults", path, `{"version":"2.1.0","channel":"stable","os":"linux","arch":"arm64"}`, "",
			func(r Release) bool { return r.RolloutPercent == 100 && !r.AllowDowngrade }},
		{"no custom", path, ``, "no custom metadata", nil},
		{"missing version", path, `{"channel":"stable","os":"linux","arch":"arm64"}`, "custom.version is missing", nil},
		{"missing arch", path, `{"version":"2.1.0","channel":"stable","os":"linux"}`, "custom.arch is missing", nil},
		{"bad version", path, `{"version":"2.1","channel":"stable","os":"linux","arch":"arm64"}`, "custom.version", nil},
		{"rollout too high", path, `{"version":"2.1.0","channel":"stable","os":"linux","arch":"arm64","rollout_percent":101}`, "rollout_percent", nil},
		{"rollout negative", path, `{"version":"2.1.0","channel":"stable","os":"linux","arch":"arm64","rollout_percent":-1}`, "rollout_percent", nil},
		{"rollout float", path, `{"version":"2.1.0","channel":"stable","os":"linux","arch":"arm64","rollout_percent":50.5}`, "rollout_percent", nil},
		{"downgrade as string", path, `{"version":"2.1.0","channel":"stable","os":"linux","arch":"arm64","allow_downgrade":"yes"}`, "allow_downgrade", nil},
		{"unknown field", path, `{"version":"2.1.0","channel":"stable","os":"linux","arch":"arm64","min_version":"1.0.0"}`, "min_version", nil},
		{"trailing data", path, `{"version":"2.1.0","channel":"stable","os":"linux","arch":"arm64"} {}`, "trailing", nil},
		{"arch mismatch", path, `{"version":"2.1.0","channel":"stable","os":"linux","arch":"amd64"}`, "custom fields say", nil},
		{"version mismatch", path, `{"version":"2.2.0","channel":"stable","os":"linux","arch":"arm64"}`, "custom fields say", nil},
		{"channel with slash", "a/b/linux-arm64/praxisgate-2.1.0", `{"version":"2.1.0","channel":"a/b","os":"linux","arch":"arm64"}`, "custom.channel", nil},
		{"not an object", path, `[1,2]`, "custom metadata", nil},
		{"huge", path, `{"version":"2.1.0","channel":"` + strings.Repeat("a", 5000) + `"}`, "more than", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := ParseRelease(c.path, []byte(c.custom))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !c.check(r) {
				t.Fatalf("got %+v", r)
			}
		})
	}
}

// FuzzParseRelease feeds arbitrary target paths and custom fields, as a
// hostile or buggy repository could sign them. Whatever is accepted must
// be consistent: the path is the canonical one for the fields, the
// percentage is in range, and writing it back parses to the same release.
func FuzzParseRelease(f *testing.F) {
	f.Add("stable/linux-arm64/praxisgate-2.1.0", []byte(`{"version":"2.1.0","channel":"stable","os":"linux","arch":"arm64","rollout_percent":25}`))
	f.Add("beta/linux-amd64/praxisgate-3.0.0-rc.1", []byte(`{"version":"3.0.0-rc.1","channel":"beta","os":"linux","arch":"amd64","allow_downgrade":true}`))
	f.Add("x", []byte(`{"version":null}`))
	f.Add("stable/linux-arm64/praxisgate-2.1.0", []byte(`{"version":"2.1.0","channel":"stable","os":"linux","arch":"arm64","rollout_percent":1e400}`))
	f.Fuzz(func(t *testing.T, path string, custom []byte) {
		r, err := ParseRelease(path, custom)
		if err != nil {
			return
		}
		if r.RolloutPercent < 0 || r.RolloutPercent > 100 {
			t.Fatalf("rollout %d accepted", r.RolloutPercent)
		}
		if path != TargetPath(r.Channel, r.OS, r.Arch, r.Version) {
			t.Fatalf("path %q accepted for %+v", path, r)
		}
		again, err := ParseRelease(path, r.MarshalCustom())
		if err != nil || again != r {
			t.Fatalf("round trip: %+v %v, want %+v", again, err, r)
		}
		if b := Bucket("gw", r.Version); b < 0 || b > 99 {
			t.Fatalf("bucket %d", b)
		}
	})
}

func TestBucketSpread(t *testing.T) {
	v, _ := ParseVersion("2.0.0")
	w, _ := ParseVersion("2.0.1")
	in, same := 0, 0
	for i := range 1000 {
		id := "gw-" + string(rune('a'+i%26)) + strings.Repeat("x", i%7) + string(rune('0'+i%10)) + string(rune(i))
		if Bucket(id, v) < 25 {
			in++
		}
		if Bucket(id, v) != Bucket(id, v) {
			t.Fatal("bucket not stable")
		}
		if Bucket(id, v) == Bucket(id, w) {
			same++
		}
	}
	// 25 % of 1000 boxes, loosely: a broken hash would give 0 or 1000.
	if in < 150 || in > 350 {
		t.Fatalf("%d of 1000 in a 25%% rollout", in)
	}
	if same > 100 {
		t.Fatalf("%d of 1000 boxes in the same bucket for two versions: salt missing?", same)
	}
}
