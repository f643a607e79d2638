package update

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
)

// Release is what the box reads from one signed target beyond what go-tuf
// checks (length and hashes): which version, channel and platform the file
// is, how many gateways may take it yet, and whether it may replace a newer
// version. The provider's release tool writes it into the target's "custom"
// field, so it is covered by the targets signature.
type Release struct {
	Path           string  // TUF target path
	Version        Version // parsed from custom.version
	Channel        string  // "stable", "beta", ...
	OS, Arch       string  // GOOS/GOARCH the binary was built for
	RolloutPercent int     // 0..100: share of gateways that may install it now
	AllowDowngrade bool    // the provider explicitly allows installing it over a newer version
}

// customFields is the wire form of the custom field. Pointers tell a
// missing field from its zero value.
type customFields struct {
	Version        *string `json:"version"`
	Channel        *string `json:"channel"`
	OS             *string `json:"os"`
	Arch           *string `json:"arch"`
	RolloutPercent *int    `json:"rollout_percent"`
	AllowDowngrade *bool   `json:"allow_downgrade"`
}

var (
	nameRE         = regexp.MustCompile(`^[a-z0-9][a-z0-9_]{0,31}$`)
	maxCustomBytes = 4096
)

// TargetPath is the one path under which a release may be published. The
// box checks that the signed custom fields agree with it, so a file signed
// for one platform or channel cannot be presented as another.
func TargetPath(channel, goos, goarch string, v Version) string {
	return fmt.Sprintf("%s/%s-%s/praxisgate-%s", channel, goos, goarch, v)
}

// ParseRelease reads and checks the custom field of the target at path.
// Every problem is an error naming the field; nothing is guessed.
func ParseRelease(path string, custom []byte) (Release, error) {
	r := Release{Path: path}
	if len(custom) == 0 {
		return r, fmt.Errorf("target %q: no custom metadata", path)
	}
	if len(custom) > maxCustomBytes {
		return r, fmt.Errorf("target %q: custom metadata is %d bytes, more than %d", path, len(custom), maxCustomBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(custom))
	dec.DisallowUnknownFields()
	var c customFields
	if err := dec.Decode(&c); err != nil {
		return r, fmt.Errorf("target %q: custom metadata: %w", path, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return r, fmt.Errorf("target %q: custom metadata: trailing data", path)
	}
	str := func(name string, p *string) (string, error) {
		if p == nil {
			return "", fmt.Errorf("target %q: custom.%s is missing", path, name)
		}
		if !nameRE.MatchString(*p) {
			return "", fmt.Errorf("target %q: custom.%s %q: want lower-case letters, digits, underscore", path, name, *p)
		}
		return *p, nil
	}
	var err error
	if r.Channel, err = str("channel", c.Channel); err != nil {
		return r, err
	}
	if r.OS, err = str("os", c.OS); err != nil {
		return r, err
	}
	if r.Arch, err = str("arch", c.Arch); err != nil {
		return r, err
	}
	if c.Version == nil {
		return r, fmt.Errorf("target %q: custom.version is missing", path)
	}
	if r.Version, err = ParseVersion(*c.Version); err != nil {
		return r, fmt.Errorf("target %q: custom.version: %w", path, err)
	}
	r.RolloutPercent = 100
	if c.RolloutPercent != nil {
		if *c.RolloutPercent < 0 || *c.RolloutPercent > 100 {
			return r, fmt.Errorf("target %q: custom.rollout_percent %d: want 0..100", path, *c.RolloutPercent)
		}
		r.RolloutPercent = *c.RolloutPercent
	}
	if c.AllowDowngrade != nil {
		r.AllowDowngrade = *c.AllowDowngrade
	}
	if want := TargetPath(r.Channel, r.OS, r.Arch, r.Version); path != want {
		return r, fmt.Errorf("target %q: custom fields say %q", path, want)
	}
	return r, nil
}

// MarshalCustom is the release tool's side of ParseRelease.
func (r Release) MarshalCustom() json.RawMessage {
	v := r.Version.String()
	c := customFields{Version: &v, Channel: &r.Channel, OS: &r.OS, Arch: &r.Arch,
		RolloutPercent: &r.RolloutPercent, AllowDowngrade: &r.AllowDowngrade}
	b, _ := json.Marshal(c) // cannot fail: plain strings, ints and bools
	return b
}
