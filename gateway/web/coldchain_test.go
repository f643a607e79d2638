package web

import (
	"encoding/csv"
	"net/http"
	"strings"
	"testing"
)

func TestColdChainCSV(t *testing.T) {
	e := newEnv(t)
	resp, _ := e.get("/coldchain.csv?device=kuehlschrank")
	wantRedirect(t, resp, "/setup")
	e.login()
	_, body := e.get("/alarms")
	if !strings.Contains(body, "Kühlketten-Protokoll") || !strings.Contains(body, `<option value="kuehlschrank">Impfstoff-Kühlschrank</option>`) {
		t.Fatalf("alarms page lacks the cold-chain form:\n%s", body)
	}
	tests := []struct {
		query string
		code  int
		days  []string
	}{
		// 22 November is the day in progress in the recorder's state.
		{"device=kuehlschrank", http.StatusOK, []string{"20.11.2026", "21.11.2026", "22.11.2026"}},
		{"device=kuehlschrank&from=2026-11-21", http.StatusOK, []string{"21.11.2026", "22.11.2026"}},
		{"device=kuehlschrank&to=2026-11-20", http.StatusOK, []string{"20.11.2026"}},
		{"device=kuehlschrank&from=2026-12-01", http.StatusOK, nil},
		{"device=kuehlschrank&from=gestern", http.StatusBadRequest, nil},
		{"device=kuehlschrank&to=2026-13-01", http.StatusBadRequest, nil},
		{"device=usv", http.StatusNotFound, nil},
		{"device=..%2F..%2Fetc", http.StatusNotFound, nil},
	}
	for _, tt := range tests {
		resp, body := e.get("/coldchain.csv?" + tt.query)
		if resp.StatusCode != tt.code {
			t.Errorf("%s: status %d, want %d", tt.query, resp.StatusCode, tt.code)
			continue
		}
		if tt.code != http.StatusOK {
			continue
		}
		if ct := resp.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
			t.Errorf("%s: content type %q", tt.query, ct)
		}
		if !strings.HasPrefix(resp.Header.Get("Content-Disposition"), `attachment; filename="kuehlkette-kuehlschrank`) {
			t.Errorf("%s: disposition %q", tt.query, resp.Header.Get("Content-Disposition"))
		}
		// German CSV: a BOM, semicolons, German column names.
		cr := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\ufeff")))
		cr.Comma = ';'
		rows, err := cr.ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", tt.query, err)
		}
		if len(rows) != 1+len(tt.days) || rows[0][0] != "Datum" || !strings.HasPrefix(body, "\ufeff") {
			t.Fatalf("%s: rows %q", tt.query, rows)
		}
		for i, d := range tt.days {
			if rows[i+1][0] != d || rows[i+1][1] != "kuehlschrank" {
				t.Errorf("%s: row %d is %q, want day %s", tt.query, i+1, rows[i+1], d)
			}
		}
	}
	_, body = e.get("/coldchain.csv?device=kuehlschrank&from=2026-11-21")
	if !strings.Contains(body, "11,2") {
		t.Errorf("the warm hour on 21 November is not in the record:\n%s", body)
	}
}
