package handlers

import (
	"bytes"
	"context"
	"fmt"
	"regexp"

	"github.com/praxisgate/praxisgate/gateway/coldchain"
	"github.com/praxisgate/praxisgate/gateway/coldchain/report"
	"github.com/praxisgate/praxisgate/gateway/command"
)

var monthArg = regexp.MustCompile(`^\d{4}-(0[1-9]|1[0-2])$`)

// cmdColdChainReport sends the monthly cold-chain report, the PDF the
// practice prints from its web page, so the provider can hand it to a
// practice or an inspector without going on site. It comes in chunks
// (encoding "pdf").
func (g *server) cmdColdChainReport(_ context.Context, r command.Request) (any, error) {
	var a struct {
		Month string `json:"month"`
	}
	if err := command.DecodeArgs(r.Args, &a); err != nil {
		return nil, err
	}
	cfg := g.core.Config()
	now := g.core.Now().Time
	loc, err := coldchain.LoadTimezone(cfg.Timezone)
	if err != nil {
		return nil, err
	}
	cur := now.In(loc).Format("2006-01")
	if a.Month == "" {
		a.Month = cur
	}
	if !monthArg.MatchString(a.Month) || a.Month > cur {
		return nil, command.BadArgs(fmt.Sprintf("args.month: %q is not a month that has begun, want YYYY-MM up to %s", a.Month, cur))
	}
	var buf bytes.Buffer
	if err := report.WriteMonth(&buf, cfg, a.Month, now); err != nil {
		return nil, fmt.Errorf("cold-chain report %s: %w", a.Month, err)
	}
	return command.Chunked{Encoding: "pdf", Data: buf.Bytes()}, nil
}
