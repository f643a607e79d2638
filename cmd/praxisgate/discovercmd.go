package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/discover"
	"github.com/praxisgate/praxisgate/gateway/config"
)

// discoverCmd is the technician's first command on site: one ARP sweep of
// an interface's subnets, enriched, printed as a table or JSON.
func discoverCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("discover", "discover -i IFACE [-json] [-rate N] [-allow-large]", stderr)
	iface := fs.String("i", "", "network interface to sweep (default: all up, non-loopback interfaces)")
	asJSON := fs.Bool("json", false, "print the inventory as JSON")
	rate := fs.Int("rate", 0, "ARP requests per second (default: the driver's safe default)")
	large := fs.Bool("allow-large", false, "allow subnets larger than /22")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long")
	verbose := fs.Bool("v", false, "log progress")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg := discover.Defaults()
	if *iface != "" {
		cfg.Interfaces = []string{*iface}
	}
	if *rate > 0 {
		cfg.Rate = *rate
	}
	cfg.AllowLarge = *large
	lvl := slog.LevelWarn
	if *verbose {
		lvl = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	hosts, err := discover.SweepOnce(ctx, cfg, log)
	if err != nil {
		return err
	}
	// What is plugged into the box itself (a USB UPS) no sweep sees.
	attached, ferr := config.FindAttached(nil)
	if ferr != nil {
		fmt.Fprintf(stderr, "looking for devices plugged into the box: %v\n", ferr)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			discover.InventoryDoc
			Attached []drivers.AttachedReport `json:"attached"`
		}{discover.InventoryDoc{Device: "discover", Hosts: hosts}, drivers.Reports(attached)})
	}
	if err := discover.WriteTable(stdout, hosts); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d host(s)\n", len(hosts))
	writeAttached(stdout, attached)
	return nil
}

// writeAttached prints the devices plugged into the box, with the config
// section that would read each.
func writeAttached(w io.Writer, as []drivers.Attached) {
	if len(as) == 0 {
		return
	}
	fmt.Fprintf(w, "\nPlugged into this box:\n")
	for _, a := range as {
		fmt.Fprintf(w, "  %s\n    driver %s, proposed id %s", a.Title, a.Adopt.Driver, a.ID)
		for _, k := range slices.Sorted(maps.Keys(a.Adopt.Settings)) {
			fmt.Fprintf(w, ", %s: %s", k, a.Adopt.Settings[k])
		}
		fmt.Fprintln(w)
		if a.Problem != "" {
			fmt.Fprintf(w, "    cannot be read yet: %s\n", a.Problem)
		}
	}
}
