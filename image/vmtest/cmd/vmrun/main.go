// Command vmrun runs a package's Go tests inside a vmtest guest (Debian's
// kernel in qemu) and exits with their exit code. It is for test files
// that only make sense inside such a guest and have no host half, built
// with a tag of their own, e.g. the USB UPS driver's tests through uhid:
//
//	go run ./image/vmtest/cmd/vmrun -tags uhidvm -modules uhid,hid_generic \
//	    -files drivers/testdata/third_party/hid ./drivers/upshid
//
// Arguments after the package go to the test binary (-test.run=...).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/praxisgate/praxisgate/image/vmtest"
)

type cmd struct {
	tags, modules, files, programs string
	env                            multi
	race                           bool
	timeout                        time.Duration
	memory                         int
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(s string) error { *m = append(*m, s); return nil }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	code, err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vmrun:", err)
		if code == 0 {
			code = 2
		}
	}
	os.Exit(code)
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	var c cmd
	fs := flag.NewFlagSet("vmrun", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.tags, "tags", "", "build tags for go test -c")
	fs.StringVar(&c.modules, "modules", "", "kernel modules to load in the guest, comma-separated")
	fs.StringVar(&c.files, "files", "", "files or directories to copy into the guest, comma-separated")
	fs.StringVar(&c.programs, "programs", "", "host executables copied into the guest with their shared libraries, comma-separated")
	fs.Var(&c.env, "env", "NAME=value for the test binary in the guest (repeatable)")
	fs.BoolVar(&c.race, "race", false, "build the test binary with the race detector")
	fs.DurationVar(&c.timeout, "timeout", 5*time.Minute, "hang guard for the whole guest")
	fs.IntVar(&c.memory, "memory", 0, "guest memory in MiB (0: vmtest's default)")
	if err := fs.Parse(args); err != nil {
		return 2, err
	}
	if fs.NArg() < 1 {
		return 2, errors.New("usage: vmrun [flags] PACKAGE [test flags]")
	}
	pkg, testArgs := fs.Arg(0), fs.Args()[1:]
	tmp, err := os.MkdirTemp("", "vmrun-")
	if err != nil {
		return 2, err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "pkg.test")
	build := []string{"test", "-c", "-o", bin}
	if c.tags != "" {
		build = append(build, "-tags", c.tags)
	}
	if c.race {
		build = append(build, "-race")
	}
	gb := exec.CommandContext(ctx, "go", append(build, pkg)...)
	gb.Stdout, gb.Stderr = stderr, stderr
	if err := gb.Run(); err != nil {
		return 2, fmt.Errorf("go test -c %s: %w", pkg, err)
	}
	out, err := exec.CommandContext(ctx, "go", "list", "-f", "{{.Dir}}", pkg).Output()
	if err != nil {
		return 2, fmt.Errorf("go list %s: %w", pkg, err)
	}
	opts := vmtest.Options{Modules: split(c.modules), Programs: split(c.programs), Env: c.env, Timeout: c.timeout, MemoryMiB: c.memory}
	for _, f := range split(c.files) {
		abs, err := filepath.Abs(f)
		if err != nil {
			return 2, err
		}
		opts.Files = append(opts.Files, abs)
	}
	opts.Console = func(line string) { fmt.Fprintln(stdout, line) }
	// The test runs in the guest in the package's directory, as go test
	// runs it on the host.
	if err := os.Chdir(strings.TrimSpace(string(out))); err != nil {
		return 2, err
	}
	m, err := vmtest.Start(ctx, tmp, opts, bin, append([]string{"-test.v", fmt.Sprintf("-test.timeout=%v", c.timeout*3/4)}, testArgs...)...)
	if err != nil {
		return 2, err
	}
	res, err := m.Wait()
	fmt.Fprintf(stdout, "vmrun: %s: guest boot %.1f s, total %.1f s, exit %d\n", pkg, res.Boot.Seconds(), res.Total.Seconds(), res.ExitCode)
	if err != nil {
		return 2, err
	}
	return res.ExitCode, nil
}
