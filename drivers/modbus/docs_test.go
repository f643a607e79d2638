package modbus

import (
	"testing"

	"github.com/praxisgate/praxisgate/drivers/internal/doccheck"
)

// TestDocsListEveryKey keeps docs/drivers/modbus.md true.
func TestDocsListEveryKey(t *testing.T) {
	doccheck.Keys(t, "../../docs/drivers/modbus.md", Config{})
}
