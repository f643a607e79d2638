package konnektor

import (
	"testing"

	"github.com/praxisgate/praxisgate/drivers/internal/doccheck"
)

// TestDocsListEveryKey keeps docs/drivers/konnektor.md true.
func TestDocsListEveryKey(t *testing.T) {
	doccheck.Keys(t, "../../docs/drivers/konnektor.md", Config{})
}
