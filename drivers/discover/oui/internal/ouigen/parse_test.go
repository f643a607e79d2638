package main

import (
	"strings"
	"testing"
)

func TestParseCSV(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []entry
		wantErr string
	}{
		{
			name: "sorted, MA-M skipped, quoted comma, first duplicate wins",
			in: "Registry,Assignment,Organization Name,Organization Address\n" +
				"MA-L,00D0EF,IGT,RENO\n" +
				"MA-M,70B3D5,IEEE Registration Authority,x\n" +
				"MA-L,000000,\"XEROX  CORPORATION, Inc\",x\n" +
				"MA-L,00D0EF,Other,x\n",
			want: []entry{{0, "XEROX CORPORATION, Inc"}, {0x00d0ef, "IGT"}},
		},
		{name: "wrong header", in: "a,b,c\n", wantErr: "not the IEEE registry layout"},
		{name: "bad hex", in: "Registry,Assignment,Organization Name\nMA-L,00ZZ00,x\n", wantErr: "line 2"},
		{name: "short assignment", in: "Registry,Assignment,Organization Name\nMA-L,0000,x\n", wantErr: "not 6 hex digits"},
		{name: "empty org", in: "Registry,Assignment,Organization Name\nMA-L,000001, \n", wantErr: "empty organisation"},
		{name: "no rows", in: "Registry,Assignment,Organization Name\n", wantErr: "no MA-L rows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseCSV(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("entry %d = %v, want %v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestRender(t *testing.T) {
	code, err := render([]entry{{1, "A"}, {2, "B \"q\""}, {3, "A"}}, "unit test", "2000-01-01")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DO NOT EDIT", "via unit test", "fetched: 2000-01-01", "distinct organisations: 2", `"AB \"q\""`} {
		if !strings.Contains(string(code), want) {
			t.Errorf("generated code lacks %q:\n%s", want, code)
		}
	}
}

// FuzzParseCSV feeds arbitrary bytes to the registry parser: a corrupt
// download must produce an error, never a panic or an unsorted table.
func FuzzParseCSV(f *testing.F) {
	f.Add("Registry,Assignment,Organization Name,Organization Address\nMA-L,002272,American Micro-Fuel Device Corp.,x\n")
	f.Add("Registry,Assignment,Organization Name\nMA-L,\"00\nD0EF\",x\n")
	f.Fuzz(func(t *testing.T, in string) {
		got, err := parseCSV(strings.NewReader(in))
		if err != nil {
			return
		}
		for i := 1; i < len(got); i++ {
			if got[i-1].prefix >= got[i].prefix {
				t.Fatalf("unsorted or duplicate at %d", i)
			}
		}
		for _, e := range got {
			if e.prefix > 0xffffff || e.org == "" {
				t.Fatalf("bad entry %v", e)
			}
		}
	})
}
