package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/google/renameio/v2"

	"github.com/praxisgate/praxisgate/gateway/coldchain"
	"github.com/praxisgate/praxisgate/gateway/coldchain/report"
	"github.com/praxisgate/praxisgate/gateway/config"
)

// coldchainReportCmd writes the monthly cold-chain report as a PDF, the
// same the web page prints, for a practice that wants it from the shell
// or a box whose web page is off.
func coldchainReportCmd(_ context.Context, args []string, stdout, stderr io.Writer) error {
	const synopsis = "coldchain report -out FILE [-month YYYY-MM] [-config FILE | -dir DIR [-tz ZONE] [-practice NAME]]"
	fs := newFlags("coldchain report", synopsis, stderr)
	month := fs.String("month", "", "month to report, YYYY-MM (default: the current month)")
	out := fs.String("out", "", "PDF file to write, - for standard output (required)")
	cfgPath := fs.String("config", "/etc/praxisgate/praxisgate.yaml", "config file naming state_dir, the fridges' names and the time zone; used without -dir")
	dir := fs.String("dir", "", "cold-chain record directory; reports every fridge found there, without the config")
	tz := fs.String("tz", "", "time zone of the record's days with -dir (default "+coldchain.DefaultTimezone+")")
	practice := fs.String("practice", "", "practice name for the page head with -dir")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 || *out == "" {
		fs.Usage()
		return errUsage
	}
	now := time.Now()
	var buf bytes.Buffer
	if *dir == "" {
		cfg, err := config.Load(*cfgPath)
		if err != nil {
			return fmt.Errorf("load %s (or give -dir): %w", *cfgPath, err)
		}
		if *month == "" {
			*month = currentMonth(cfg.Timezone, now)
		}
		if err := report.WriteMonth(&buf, cfg, *month, now); err != nil {
			return err
		}
	} else {
		loc, err := coldchain.LoadTimezone(*tz)
		if err != nil {
			return err
		}
		if *month == "" {
			*month = now.In(loc).Format("2006-01")
		}
		r, err := report.Collect(*dir, report.Options{Month: *month, Practice: *practice, Location: loc, Now: now})
		if err != nil {
			return err
		}
		if err := report.Render(&buf, r); err != nil {
			return err
		}
	}
	if *out == "-" {
		_, err := stdout.Write(buf.Bytes())
		return err
	}
	if err := renameio.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	fmt.Fprintf(stdout, "Kühlketten-Monatsbericht %s nach %s geschrieben (%d Bytes).\n", *month, *out, buf.Len())
	return nil
}

// currentMonth is now's month in the zone named (default Europe/Berlin).
func currentMonth(zone string, now time.Time) string {
	loc, err := coldchain.LoadTimezone(zone)
	if err != nil {
		loc = time.UTC
	}
	return now.In(loc).Format("2006-01")
}
