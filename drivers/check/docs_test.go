package check

import (
	"testing"

	"github.com/praxisgate/praxisgate/drivers/internal/doccheck"
)

// TestDocsListEveryKey keeps docs/drivers/check.md true.
func TestDocsListEveryKey(t *testing.T) {
	doccheck.Keys(t, "../../docs/drivers/check.md", Config{})
}
