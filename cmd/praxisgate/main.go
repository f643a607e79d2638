// Command praxisgate is the gateway's one binary: the daemon (run), the
// newcomer's demo, and the technician's on-site tools (check-config, poll).
// Each subcommand is a struct of its flags with a run method, testable
// without a terminal.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	_ "github.com/praxisgate/praxisgate/drivers/all" // link every driver
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"run", "run the gateway daemon", runCmd},
		{"demo", "run a self-contained demo with an embedded broker and simulated devices", demoCmd},
		{"check-config", "check a config file and print every problem with its line", checkConfigCmd},
		{"poll", "poll every configured device once and print the readings", pollCmd},
		{"discover", "sweep the local network once and print what answers", discoverCmd},
		{"coldchain", "cold-chain record: verify the fridges' hash-chained daily record, print the monthly PDF report", coldchainCmd},
		{"ups", "USB UPS support: inspect connected UPSes or a descriptor dump", upsCmd},
		{"setup-code", "print the web page's one-time setup code (-sticker: the label for staging)", setupCodeCmd},
		{"drivers", "list the device drivers built into this binary", driversCmd},
		{"fleetsim", "simulate N gateways against one broker (reconnect spread, data loss)", fleetsimCmd},
		{"watch", "provider: watch a fleet through the broker (offline, seq gaps, clocks, reboots, alarm SLAs)", watchCmd},
		{"update", "self-update: boot accounting, supervise, status, check, install", updateCmd},
		{"release", "provider: create and maintain the signed update repository", releaseCmd},
		{"version", "print the version", versionCmd},
	}
}

// errUsage marks errors that were already explained by a flag set.
var errUsage = errors.New("usage")

// exitError carries an exit status without a further message.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		var ee exitError
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			return 2
		case errors.As(err, &ee):
			return ee.code
		default:
			fmt.Fprintf(stderr, "praxisgate %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "praxisgate: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "praxisgate %s — monitoring gateway for medical practices\n\nUsage: praxisgate COMMAND [flags]\n\nCommands:\n", version)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-13s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'praxisgate COMMAND --help' for the flags of a command.\n")
}

// newFlags returns a flag set that reports to stderr and does not exit.
func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: praxisgate %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags, mapping a bad flag to errUsage (already reported).
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}

func versionCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("version", "version", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "praxisgate %s\n", version)
	return nil
}
