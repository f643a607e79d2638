package fleetwatch

import (
	"os/exec"
	"strings"
	"testing"
)

// The watcher runs at the provider and knows the boxes only through the
// documented MQTT contract: nothing of the box's firmware may leak in.
func TestImportsNothingOfTheBox(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"/gateway", "/drivers", "/buffer", "/update"} {
			if strings.HasPrefix(dep, "github.com/praxisgate/praxisgate"+banned) {
				t.Errorf("fleetwatch depends on %s", dep)
			}
		}
	}
}
