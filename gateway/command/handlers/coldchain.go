package handlers

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"sort"

	"github.com/praxisgate/praxisgate/gateway/coldchain"
	"github.com/praxisgate/praxisgate/gateway/command"
	"github.com/praxisgate/praxisgate/gateway/config"
)

// coldChainResult is one fridge's verification as the provider gets it.
type coldChainResult struct {
	Device string `json:"device"`
	Intact bool   `json:"intact"`
	Days   int    `json:"days"`
	// Verdict is the German one-liner the practice sees on its page,
	// VerdictEN the same in English.
	Verdict   string   `json:"verdict"`
	VerdictEN string   `json:"verdict_en"`
	Breaks    []string `json:"breaks,omitempty"`
	// HeadDate and HeadHash are the newest chain head entry: the provider
	// compares the hash with its copy from the daily event.
	HeadDate string `json:"head_date,omitempty"`
	HeadHash string `json:"head_hash,omitempty"`
}

// cmdColdChainVerify verifies the fridges' cold-chain records on disk
// (as `praxisgate coldchain verify` does) and answers with each verdict and
// chain head. It reads the files afresh, so a change made since the last
// check is found now.
func (g *server) cmdColdChainVerify(_ context.Context, r command.Request) (any, error) {
	var a struct {
		Device string `json:"device"`
	}
	if err := command.DecodeArgs(r.Args, &a); err != nil {
		return nil, err
	}
	cfg := g.core.Config()
	dir := filepath.Join(cfg.StateDir, coldchain.DirName)
	devices, err := coldchain.Devices(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, d := range cfg.Devices {
		if !d.Disabled && d.Kind == config.FridgeKind && !slices.Contains(devices, d.ID) {
			devices = append(devices, d.ID)
		}
	}
	sort.Strings(devices)
	if a.Device != "" {
		if !slices.Contains(devices, a.Device) {
			return nil, command.BadArgs(fmt.Sprintf("args.device: %q is no fridge with a cold-chain record", a.Device))
		}
		devices = []string{a.Device}
	}
	out := make([]coldChainResult, 0, len(devices))
	for _, d := range devices {
		st, err := coldchain.Check(dir, d)
		if err != nil {
			return nil, fmt.Errorf("verify the cold-chain record of %s: %w", d, err)
		}
		res := coldChainResult{Device: d, Intact: st.Intact(), Days: st.Days, Verdict: st.German(), VerdictEN: st.English()}
		for _, b := range st.Breaks {
			res.Breaks = append(res.Breaks, b.String())
		}
		if res.HeadDate, res.HeadHash, err = coldchain.Head(dir, d); err != nil {
			return nil, err
		}
		out = append(out, res)
	}
	return map[string]any{"fridges": out}, nil
}
