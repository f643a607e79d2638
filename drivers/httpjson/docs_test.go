package httpjson

import (
	"testing"

	"github.com/praxisgate/praxisgate/drivers/internal/doccheck"
)

// TestDocsListEveryKey keeps docs/drivers/httpjson.md true.
func TestDocsListEveryKey(t *testing.T) {
	doccheck.Keys(t, "../../docs/drivers/httpjson.md", Config{})
}
