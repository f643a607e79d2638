package update

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is a semantic version (MAJOR.MINOR.PATCH with an optional
// pre-release). Releases are compared by it because the box must never go
// back to an older release unless signed metadata allows it.
type Version struct {
	Major, Minor, Patch int
	Pre                 string
}

// ParseVersion reads "1.2.3", "v1.2.3" or "1.2.3-rc.1". Build metadata
// ("+...") is refused: it would make two different binaries compare equal.
func ParseVersion(s string) (Version, error) {
	var v Version
	t := strings.TrimPrefix(s, "v")
	if t == "" || len(t) > 64 {
		return v, fmt.Errorf("version %q: want MAJOR.MINOR.PATCH", s)
	}
	if i := strings.IndexByte(t, '-'); i >= 0 {
		v.Pre = t[i+1:]
		t = t[:i]
		if v.Pre == "" {
			return v, fmt.Errorf("version %q: empty pre-release", s)
		}
		for _, r := range v.Pre {
			if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '.') {
				return v, fmt.Errorf("version %q: pre-release may hold only letters, digits and dots", s)
			}
		}
	}
	parts := strings.Split(t, ".")
	if len(parts) != 3 {
		return v, fmt.Errorf("version %q: want MAJOR.MINOR.PATCH", s)
	}
	nums := [3]*int{&v.Major, &v.Minor, &v.Patch}
	for i, p := range parts {
		if p == "" || len(p) > 9 || (len(p) > 1 && p[0] == '0') {
			return v, fmt.Errorf("version %q: bad number %q", s, p)
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return v, fmt.Errorf("version %q: bad number %q", s, p)
		}
		*nums[i] = n
	}
	return v, nil
}

// String prints the canonical form without a "v" prefix; it names the
// install directory.
func (v Version) String() string {
	s := fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
	if v.Pre != "" {
		s += "-" + v.Pre
	}
	return s
}

// Compare returns -1, 0 or +1. A pre-release sorts before its release;
// pre-releases compare dot-separated, numeric parts numerically.
func (v Version) Compare(w Version) int {
	for _, d := range [3]int{v.Major - w.Major, v.Minor - w.Minor, v.Patch - w.Patch} {
		if d != 0 {
			return sign(d)
		}
	}
	switch {
	case v.Pre == w.Pre:
		return 0
	case v.Pre == "":
		return 1
	case w.Pre == "":
		return -1
	}
	a, b := strings.Split(v.Pre, "."), strings.Split(w.Pre, ".")
	for i := 0; i < len(a) && i < len(b); i++ {
		na, ea := strconv.Atoi(a[i])
		nb, eb := strconv.Atoi(b[i])
		switch {
		case ea == nil && eb == nil:
			if na != nb {
				return sign(na - nb)
			}
		case ea == nil:
			return -1
		case eb == nil:
			return 1
		default:
			if c := strings.Compare(a[i], b[i]); c != 0 {
				return c
			}
		}
	}
	return sign(len(a) - len(b))
}

func sign(d int) int {
	switch {
	case d < 0:
		return -1
	case d > 0:
		return 1
	}
	return 0
}
