package discover

import (
	"strings"
	"testing"
)

func TestWriteTable(t *testing.T) {
	var b strings.Builder
	err := WriteTable(&b, []Host{
		{MAC: macA, IPs: []string{"10.0.0.2", "10.0.0.3"}, Vendor: "Synology Incorporated", Kind: KindNAS, Name: "nas-praxis",
			OpenPorts: []int{22, 445}, Present: true, Known: true},
		{MAC: macB, IPs: []string{"10.0.0.9"}, Kind: KindUnknown, Present: false},
		{MAC: macR, IPs: []string{"10.0.0.50"}, Randomized: true, Present: true},
		{MAC: macC, IPs: []string{"10.0.0.4"}, Vendor: "American Power Conversion Corporation Long Name", Adopted: "usv-rack", Present: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "IP") {
		t.Fatalf("table:\n%s", b.String())
	}
	for i, want := range []string{"10.0.0.2 10.0.0.3", "gone, unknown", "randomised MAC", "adopted as usv-rack"} {
		if !strings.Contains(lines[i+1], want) {
			t.Errorf("line %d %q lacks %q", i+1, lines[i+1], want)
		}
	}
	if !strings.Contains(lines[4], "American Power Conversion C…") {
		t.Errorf("long vendor not truncated: %q", lines[4])
	}
}
