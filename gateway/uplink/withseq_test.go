package uplink

import (
	"encoding/json"
	"testing"

	"github.com/praxisgate/praxisgate/gateway/contract"
)

// TestWithSeq checks the splice the uplink applies to every buffered
// payload: seq first, the rest byte-identical, the result valid JSON.
func TestWithSeq(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"a":1}`, `{"seq":7,"a":1}`},
		{`{}`, `{"seq":7}`},
		{`{ }`, `{"seq":7 }`},
		{"{\n\"a\":1}", "{\"seq\":7,\n\"a\":1}"},
		{`[1]`, `[1]`},
		{``, ``},
	}
	for _, tc := range tests {
		got := string(contract.WithSeq([]byte(tc.in), 7))
		if got != tc.want {
			t.Errorf("WithSeq(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if len(tc.in) > 0 && !json.Valid([]byte(got)) {
			t.Errorf("WithSeq(%q) = %q is not valid JSON", tc.in, got)
		}
	}
}
