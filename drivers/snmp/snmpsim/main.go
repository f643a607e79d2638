package snmpsim

import (
	"fmt"
	"os"
	"time"
)

// Environment variables that turn a process into a pass_persist helper (see
// HelperMain). Tests re-execute their own binary with these set, so no
// separate program has to be built.
const (
	EnvRecording = "SNMPSIM_RECORDING"
	EnvRoot      = "SNMPSIM_ROOT"
	EnvDelay     = "SNMPSIM_DELAY"
)

// HelperMain serves the recording named by $SNMPSIM_RECORDING on stdin and
// stdout and reports whether it did; call it first in TestMain or main.
func HelperMain() bool {
	path := os.Getenv(EnvRecording)
	if path == "" {
		return false
	}
	root := OID{1, 3, 6, 1}
	if s := os.Getenv(EnvRoot); s != "" {
		o, err := ParseOID(s)
		if err != nil {
			fmt.Fprintln(os.Stderr, "snmpsim:", err)
			os.Exit(2)
		}
		root = o
	}
	var delay time.Duration
	if s := os.Getenv(EnvDelay); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			fmt.Fprintln(os.Stderr, "snmpsim:", err)
			os.Exit(2)
		}
		delay = d
	}
	if err := ServePassPersist(os.Stdin, os.Stdout, root, FileSource(path), delay); err != nil {
		fmt.Fprintln(os.Stderr, "snmpsim:", err)
		os.Exit(1)
	}
	return true
}
