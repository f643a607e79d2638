package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/praxisgate/praxisgate/drivers/upshid"
	"github.com/praxisgate/praxisgate/drivers/upshid/hidraw"
	"github.com/praxisgate/praxisgate/drivers/upshid/hidreport"
)

// upsCmd holds the USB UPS support tools. Today that is inspect: what a
// UPS (connected, or described by a descriptor dump a user sent) declares,
// what the upshid driver makes of it, and what it does not understand.
func upsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "inspect" {
		fmt.Fprintf(stderr, "Usage: praxisgate ups inspect [-descriptor FILE [-reports FILE]] [-sys DIR -dev DIR]\n")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			return nil
		}
		return errUsage
	}
	fs := newFlags("ups inspect", "ups inspect [-descriptor FILE [-reports FILE]] [-sys DIR -dev DIR]", stderr)
	descFile := fs.String("descriptor", "", "report descriptor as hex bytes (space separated, as usbhid-dump or NUT logs print it) instead of the connected UPSes")
	repFile := fs.String("reports", "", "reports to decode with -descriptor: lines of hex bytes, report ID first (\"get ID ...\" lines of NUT-style dumps are read too)")
	sys := fs.String("sys", hidraw.DefaultRoots.Sys, "sysfs root to look for USB UPSes in")
	dev := fs.String("dev", hidraw.DefaultRoots.Dev, "device directory of the hidraw nodes")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *descFile == "" {
		if *repFile != "" {
			fmt.Fprintf(stderr, "praxisgate ups inspect: -reports needs -descriptor\n")
			return errUsage
		}
		n, err := upshid.InspectLive(ctx, stdout, hidraw.Roots{Sys: *sys, Dev: *dev})
		if err != nil {
			return err
		}
		if n == 0 {
			fmt.Fprintf(stdout, "no USB UPS found under %s\n", *sys)
		}
		return nil
	}
	b, err := os.ReadFile(*descFile)
	if err != nil {
		return err
	}
	desc, err := hidreport.ParseHex(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("%s: %w", *descFile, err)
	}
	var reps []hidreport.Recorded
	if *repFile != "" {
		f, err := os.Open(*repFile)
		if err != nil {
			return err
		}
		reps, err = hidreport.ParseRecording(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", *repFile, err)
		}
	}
	if err := upshid.Inspect(stdout, desc, reps); err != nil {
		return fmt.Errorf("%s: %w", *descFile, err)
	}
	return nil
}
