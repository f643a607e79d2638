package update

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// VersionCheckTimeout bounds "<binary> version" at install.
const VersionCheckTimeout = 30 * time.Second

// errWrongBinary marks a downloaded binary that verified against the
// signature but is not what its label says: it reports another version,
// or does not run here at all. Such a release is refused and not
// downloaded again: it would stay "on trial" for ever (its own trial looks
// for its own version), deferring every later update.
var errWrongBinary = errors.New("wrong binary")

// checkBinaryVersion runs "bin version" and compares what it prints
// ("praxisgate 1.4.0") with the version the release is labelled with.
// The child gets an environment of its own (PATH only), so it never talks
// to the service manager's notify socket.
func checkBinaryVersion(ctx context.Context, bin, label string) error {
	want, err := ParseVersion(label)
	if err != nil {
		return fmt.Errorf("%w: label: %w", errWrongBinary, err)
	}
	ctx, cancel := context.WithTimeout(ctx, VersionCheckTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "version")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	cmd.WaitDelay = time.Second
	var out, errOut limited
	out.max, errOut.max = 4096, 512
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	if ctx.Err() != nil {
		// Not the binary's fault for sure (a busy box): try again later.
		return fmt.Errorf("run %q version: no answer within %s: %w", label, VersionCheckTimeout, ctx.Err())
	}
	if err != nil {
		return fmt.Errorf("%w: the binary labelled %s does not run here (\"version\" subcommand: %v; %s)",
			errWrongBinary, label, err, strings.TrimSpace(errOut.String()))
	}
	return matchVersionOutput(out.Bytes(), want)
}

// matchVersionOutput checks the answer of "praxisgate version" (its first
// line, "praxisgate 1.4.0") against the version a release is labelled
// with. Fuzzed: FuzzVersionOutput.
func matchVersionOutput(out []byte, want Version) error {
	line, _, _ := strings.Cut(string(out), "\n")
	fields := strings.Fields(line)
	if len(fields) != 2 || fields[0] != "praxisgate" {
		return fmt.Errorf("%w: the binary labelled %s answers %q to \"version\", want \"praxisgate %s\"", errWrongBinary, want, line, want)
	}
	got, err := ParseVersion(fields[1])
	if err != nil || got.Compare(want) != 0 || got.Pre != want.Pre {
		return fmt.Errorf("%w: the binary labelled %s reports version %q; a release must carry the version it is published as",
			errWrongBinary, want, fields[1])
	}
	return nil
}

// limited keeps the first max bytes written and drops the rest, so a
// binary that floods its output cannot fill the memory.
type limited struct {
	bytes.Buffer
	max int
}

func (l *limited) Write(p []byte) (int, error) {
	if room := l.max - l.Len(); room > 0 {
		l.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
