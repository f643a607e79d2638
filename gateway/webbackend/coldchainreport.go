package webbackend

import (
	"io"
	"time"

	"github.com/praxisgate/praxisgate/gateway/coldchain"
	"github.com/praxisgate/praxisgate/gateway/coldchain/report"
	"github.com/praxisgate/praxisgate/gateway/web"
)

// CurrentMonth is the month in progress in the config's time zone
// (web.ColdChainReport).
func (c webColdChain) CurrentMonth() string {
	loc, err := coldchain.LoadTimezone(c.cfg().Timezone)
	if err != nil {
		loc = time.UTC
	}
	return time.Now().In(loc).Format("2006-01")
}

// WriteReport writes the monthly cold-chain report of the configured
// fridges as a PDF (web.ColdChainReport).
func (c webColdChain) WriteReport(w io.Writer, month string) error {
	return report.WriteMonth(w, c.cfg(), month, time.Now())
}

// The page offers the monthly report only to a ColdChain that has it.
var _ web.ColdChainReport = webColdChain{}
