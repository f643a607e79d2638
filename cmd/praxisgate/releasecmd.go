package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/praxisgate/praxisgate/update/release"
)

// releaseCmd is the provider's tool for the update repository the boxes
// read: "praxisgate release init|add|remove|rotate|timestamp". See
// docs/update.md.
func releaseCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const synopsis = "release init|add|remove|rotate|timestamp -repo DIR -keys DIR [flags]"
	if len(args) == 0 {
		fmt.Fprintf(stderr, "Usage: praxisgate %s\n", synopsis)
		return errUsage
	}
	verb := args[0]
	fs := newFlags("release "+verb, synopsis, stderr)
	repo := fs.String("repo", "", "published repository tree (copy it to the web server as it is)")
	keys := fs.String("keys", "", "directory of the private signing keys (keep it off the web server)")
	var (
		file, ver, channel, goos, goarch, role, path *string
		rollout                                      *int
		downgrade                                    *bool
		valid                                        *time.Duration
	)
	switch verb {
	case "init":
	case "add":
		file = fs.String("file", "", "binary to publish")
		ver = fs.String("version", "", "its version, e.g. 1.4.0")
		channel = fs.String("channel", "stable", "channel (stable, beta)")
		goos = fs.String("os", "linux", "GOOS it was built for")
		goarch = fs.String("arch", runtime.GOARCH, "GOARCH it was built for")
		rollout = fs.Int("rollout", 100, "percentage of gateways that may install it now (0..100); add again to raise")
		downgrade = fs.Bool("allow-downgrade", false, "allow gateways running a newer version to install this one")
	case "remove":
		path = fs.String("path", "", "target path to withdraw, e.g. stable/linux-arm64/praxisgate-1.4.0")
	case "rotate":
		role = fs.String("role", "", "role whose key to replace: root, targets, snapshot, timestamp")
	case "timestamp":
		valid = fs.Duration("valid", release.DefaultExpiry.Timestamp, "how long the new timestamp stays valid")
	default:
		fmt.Fprintf(stderr, "praxisgate release: unknown verb %q\nUsage: praxisgate %s\n", verb, synopsis)
		return errUsage
	}
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *repo == "" || *keys == "" {
		fmt.Fprintln(stderr, "praxisgate release: -repo and -keys are required")
		return errUsage
	}
	r := &release.Repo{Dir: *repo, KeyDir: *keys}
	switch verb {
	case "init":
		if err := r.Init(); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "repository created in %s; provision boxes with %s/root.json\n", *repo, *repo)
	case "add":
		if *file == "" || *ver == "" {
			fmt.Fprintln(stderr, "praxisgate release add: -file and -version are required")
			return errUsage
		}
		rel, err := r.Add(release.Target{File: *file, Version: *ver, Channel: *channel, OS: *goos, Arch: *goarch,
			RolloutPercent: *rollout, AllowDowngrade: *downgrade})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "published %s (rollout %d%%, allow_downgrade %v)\n", rel.Path, rel.RolloutPercent, rel.AllowDowngrade)
	case "remove":
		if err := r.Remove(*path); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "withdrew %s\n", *path)
	case "rotate":
		if err := r.Rotate(*role); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "rotated the %s key; publish the tree\n", *role)
	case "timestamp":
		if *valid <= 0 {
			fmt.Fprintln(stderr, "praxisgate release timestamp: -valid must be positive")
			return errUsage
		}
		if err := r.Load(); err != nil {
			return err
		}
		if err := r.Timestamp(*valid); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "timestamp valid until %s\n", time.Now().Add(*valid).UTC().Format(time.RFC3339))
	}
	return nil
}
