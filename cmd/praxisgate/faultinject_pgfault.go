//go:build pgfault

package main

// Fault injection for the self-update tests (issue 8): a praxisgate built
// with -tags pgfault exits with status 3 at every start of the daemon,
// before it reads its config, as a release that crashes at start would.
// The tests publish such a build as a new version and check that the box
// rolls back to the previous one by itself and does not retry it. Release
// builds never carry this file, so no production binary has the hook.

import (
	"fmt"
	"os"
)

// faultExitCode is what the faulty daemon exits with; systemd and
// "praxisgate update supervise" restart it either way.
const faultExitCode = 3

func init() {
	if len(os.Args) > 1 && os.Args[1] == "run" {
		fmt.Fprintf(os.Stderr, "praxisgate %s: fault injection (built with -tags pgfault): exiting at start\n", version)
		os.Exit(faultExitCode)
	}
}
