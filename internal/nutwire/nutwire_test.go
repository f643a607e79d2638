package nutwire

import (
	"slices"
	"testing"
)

func TestSplitWords(t *testing.T) {
	cases := []struct {
		in   string
		want []string
		bad  bool
	}{
		{`VAR ups ups.status "OL CHRG"`, []string{"VAR", "ups", "ups.status", "OL CHRG"}, false},
		{`VAR ups x ""`, []string{"VAR", "ups", "x", ""}, false},
		{`VAR ups x "a \"q\" \\ b"`, []string{"VAR", "ups", "x", `a "q" \ b`}, false},
		{"  LIST   UPS  ", []string{"LIST", "UPS"}, false},
		{`VAR ups x "open`, nil, true},
		{`VAR ups x "a\`, nil, true},
		{`VA"R`, nil, true},
		{"A\x01B", nil, true},
	}
	for _, tc := range cases {
		got, err := SplitWords(tc.in)
		if (err != nil) != tc.bad || !slices.Equal(got, tc.want) {
			t.Errorf("SplitWords(%q) = %q, %v", tc.in, got, err)
		}
	}
}
