package update

import (
	"context"
	"errors"
	"testing"
)

func TestAllHealthy(t *testing.T) {
	ok := func(context.Context) error { return nil }
	down := func(context.Context) error { return errors.New("not connected") }
	cases := []struct {
		checks []Check
		want   string
	}{
		{nil, ""},
		{[]Check{{Name: "uplink", Fn: ok}, {Name: "buffer", Fn: ok}, {Name: "web", Fn: ok}}, ""},
		{[]Check{{Name: "uplink", Fn: down}, {Name: "buffer", Fn: ok}}, "uplink: not connected"},
		{[]Check{{Name: "uplink", Fn: ok}, {Name: "web", Fn: down}}, "web: not connected"},
	}
	for _, c := range cases {
		err := AllHealthy(c.checks...)(context.Background())
		if got := ""; err != nil {
			got = err.Error()
			if got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		} else if c.want != "" {
			t.Errorf("healthy, want %q", c.want)
		}
	}
}
