//go:build race

package main

// raceEnabled: the black-box tests build the daemon with the race detector
// when they run under it (`make test`), and without it in `make test-short`,
// which needs no C compiler.
const raceEnabled = true
