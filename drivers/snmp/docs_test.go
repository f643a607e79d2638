package snmp

import (
	"testing"

	"github.com/praxisgate/praxisgate/drivers/internal/doccheck"
)

// TestDocsListEveryKey keeps docs/drivers/snmp.md true: every yaml key of
// Config has a row in its table.
func TestDocsListEveryKey(t *testing.T) {
	doccheck.Keys(t, "../../docs/drivers/snmp.md", Config{})
}
