package testpeer

import (
	"strings"
	"testing"
)

func TestPrometheusQuery(t *testing.T) {
	p := StartPrometheus(t)
	s, err := p.Query(`vector(42)`)
	if err != nil {
		t.Fatalf("vector(42): %v", err)
	}
	if len(s) != 1 || s[0].Value != 42 {
		t.Fatalf("vector(42) = %v, want one sample of 42", s)
	}
	if _, err := p.Query(`sum(`); err == nil || !strings.Contains(err.Error(), "bad_data") {
		t.Fatalf("a query Prometheus cannot parse: err = %v, want its bad_data error", err)
	}
	if _, err := p.Query(`1 + 1`); err == nil {
		t.Fatal("a scalar result must be an error (Query returns vectors)")
	}
}
