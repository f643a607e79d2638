package testpeer

import "testing"

// SkipShort skips t in the contributors' fast tier (`go test -short`,
// `make test-short`), which runs without root and without peers. The full
// tier (`make test`, `make check`) never skips: there a missing peer fails
// the test and names its Debian package. needs says what the test needs,
// e.g. "mosquitto" or "root (network namespaces)".
func SkipShort(t testing.TB, needs string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("needs %s: runs in `make test`, not in -short", needs)
	}
}
