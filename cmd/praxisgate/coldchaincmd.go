package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/praxisgate/praxisgate/gateway/coldchain"
	"github.com/praxisgate/praxisgate/gateway/config"
)

// coldchainCmd holds the cold-chain record tools. Today that is verify:
// the check an inspector or the practice runs on the box's own record,
// the same the daemon runs at start.
func coldchainCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const synopsis = "coldchain verify [-dir DIR | -config FILE]"
	if len(args) > 0 && args[0] == "report" {
		return coldchainReportCmd(ctx, args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprintf(stderr, "Usage: praxisgate %s\n       praxisgate coldchain report -out FILE [-month YYYY-MM] [...]\n", synopsis)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			return nil
		}
		return errUsage
	}
	fs := newFlags("coldchain verify", synopsis, stderr)
	dir := fs.String("dir", "", "cold-chain record directory (default: <state_dir>/coldchain of -config)")
	cfgPath := fs.String("config", "/etc/praxisgate/praxisgate.yaml", "config file naming state_dir, used without -dir")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return errUsage
	}
	if *dir == "" {
		cfg, err := config.Load(*cfgPath)
		if err != nil {
			return fmt.Errorf("load %s (or give -dir): %w", *cfgPath, err)
		}
		*dir = filepath.Join(cfg.StateDir, coldchain.DirName)
	}
	devices, err := coldchain.Devices(*dir)
	if err != nil {
		return err
	}
	if len(devices) == 0 {
		fmt.Fprintf(stdout, "Keine Kühlketten-Protokolle in %s gefunden.\n", *dir)
		return exitError{1}
	}
	broken := false
	for _, d := range devices {
		st, err := coldchain.Check(*dir, d)
		if err != nil {
			return fmt.Errorf("verify %s: %w", d, err)
		}
		fmt.Fprintf(stdout, "%s: %s\n", d, st.German())
		for _, b := range st.Breaks {
			broken = true
			fmt.Fprintf(stdout, "  %s\n", b.German())
		}
	}
	if broken {
		return exitError{1}
	}
	return nil
}
