package update

import (
	"fmt"
	"slices"
	"sort"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

type choice struct {
	release *Release
	state   string
	reason  string
}

// choose picks the newest release for this channel and platform among the
// signed targets. It refuses a downgrade unless the release itself allows
// it, skips versions that failed here before, and says why when nothing is
// chosen. Targets whose custom metadata does not parse are ignored (and
// named in the reason) rather than guessed at.
func choose(targets map[string]*metadata.TargetFiles, channel, goos, goarch string, running Version, st *State) choice {
	var mine []Release
	other, bad := 0, 0
	var firstBad string
	for path, tf := range targets {
		var raw []byte
		if tf.Custom != nil {
			raw = []byte(*tf.Custom)
		}
		r, err := ParseRelease(path, raw)
		if err != nil {
			bad++
			if firstBad == "" {
				firstBad = err.Error()
			}
			continue
		}
		if r.Channel != channel || r.OS != goos || r.Arch != goarch {
			other++
			continue
		}
		mine = append(mine, r)
	}
	if len(mine) == 0 {
		reason := fmt.Sprintf("no release for %s on %s/%s (%d target(s) for other channels or platforms)", channel, goos, goarch, other)
		if bad > 0 {
			reason += fmt.Sprintf("; %d target(s) with unusable metadata, e.g. %s", bad, firstBad)
		}
		return choice{state: StateRefused, reason: reason}
	}
	sort.Slice(mine, func(i, j int) bool { return mine[i].Version.Compare(mine[j].Version) > 0 })
	newest := mine[0]
	switch c := newest.Version.Compare(running); {
	case c == 0:
		return choice{state: StateUpToDate, reason: "running the newest release"}
	case c < 0 && !newest.AllowDowngrade:
		return choice{state: StateRefused, reason: fmt.Sprintf("downgrade refused: the repository offers %s, older than the running %s, without allow_downgrade", newest.Version, running)}
	}
	if slices.Contains(st.Refused, newest.Version.String()) {
		return choice{state: StateUpToDate, reason: fmt.Sprintf("%s was refused here before (its binary is not what its label says); waiting for a newer release", newest.Version)}
	}
	if st.IsFailed(newest.Version.String()) {
		return choice{state: StateUpToDate, reason: fmt.Sprintf("%s was rolled back here before; waiting for a newer release", newest.Version)}
	}
	return choice{release: &newest}
}
