package web

import (
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

func (b *fakeBackend) FridgeHistory(device string) TempHistory {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.history[device]
}

// dayOfReadings is n readings spread over the 24 h before now: 5 °C with a
// wave of ±1 °C and, four hours ago, one minute at 11.5 °C.
func dayOfReadings(now time.Time, n int) TempHistory {
	h := TempHistory{Low: 2, High: 8}
	step := 24 * time.Hour / time.Duration(n)
	for i := range n {
		at := now.Add(-24*time.Hour + time.Duration(i+1)*step)
		v := 5 + math.Sin(float64(i)/50)
		if now.Sub(at).Truncate(time.Minute) == 4*time.Hour {
			v = 11.5
		}
		h.Points = append(h.Points, TempPoint{At: at, V: v})
	}
	return h
}

var pointsRE = regexp.MustCompile(`points="([^"]*)"`)

func TestSparkline(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	v, ok := sparkline(dayOfReadings(now, 1440), now)
	if !ok {
		t.Fatal("no sparkline for a day of readings")
	}
	if v.Max != 11.5 || v.Min > 4.01 || v.Min < 3.99 || v.Low != 2 || v.High != 8 {
		t.Fatalf("labels %+v", v)
	}
	svg := string(v.SVG)
	lines := pointsRE.FindAllStringSubmatch(svg, -1)
	if len(lines) != 1 {
		t.Fatalf("%d lines, want 1 (no gaps):\n%s", len(lines), svg)
	}
	pts := strings.Fields(lines[0][1])
	if len(pts) != sparkCols {
		t.Fatalf("%d points, want one per column (%d)", len(pts), sparkCols)
	}
	// The excursion is the highest point (smallest y): y = 0 + padding.
	minY, minAt := sparkHeight, -1
	for i, p := range pts {
		var x, y int
		if _, err := fmt.Sscanf(p, "%d,%d", &x, &y); err != nil || x < 0 || x > sparkWidth || y < 0 || y > sparkHeight {
			t.Fatalf("point %q out of the box", p)
		}
		if y < minY {
			minY, minAt = y, i
		}
	}
	if want := sparkCols - 1 - int(4*time.Hour/sparkStep); minAt != want && minAt != want+1 {
		t.Errorf("peak in column %d, want about %d (four hours ago)", minAt, want)
	}
	if !strings.Contains(svg, `<rect `) || !strings.Contains(svg, `fill="#dff2e4"`) {
		t.Errorf("2–8 °C band not shaded:\n%s", svg)
	}
	if len(svg) > 1200 {
		t.Errorf("sparkline is %d bytes, want about 700", len(svg))
	}

	// Nothing in the last 24 h: no sparkline.
	if _, ok := sparkline(TempHistory{Low: 2, High: 8, Points: []TempPoint{{At: now.Add(-25 * time.Hour), V: 5}}}, now); ok {
		t.Error("sparkline from readings older than 24 h")
	}
	if _, ok := sparkline(TempHistory{Low: 2, High: 8}, now); ok {
		t.Error("sparkline without readings")
	}
	// A gap of hours (daemon off) splits the line.
	gap := TempHistory{Low: 2, High: 8}
	for _, ago := range []time.Duration{20 * time.Hour, 19 * time.Hour, 3 * time.Hour, 2 * time.Hour} {
		gap.Points = append(gap.Points, TempPoint{At: now.Add(-ago), V: 5})
	}
	v, _ = sparkline(gap, now)
	if n := len(pointsRE.FindAllString(string(v.SVG), -1)); n != 2 {
		t.Errorf("%d lines across a gap, want 2:\n%s", n, v.SVG)
	}
}

func TestOverviewSparkline(t *testing.T) {
	e := newEnv(t)
	e.login()
	_, body := e.get("/")
	if strings.Contains(body, "<svg") {
		t.Fatal("sparkline without history")
	}
	e.be.mu.Lock()
	e.be.history = map[string]TempHistory{"kuehlschrank": dayOfReadings(e.clock.Now(), 1440)}
	e.be.mu.Unlock()
	resp, body := e.get("/")
	wantStatus(t, resp, http.StatusOK, body)
	for _, w := range []string{`<svg class="spark"`, "<polyline", "24 Std.: min. 4,0 °C, max. 11,5 °C; Soll 2,0–8,0 °C"} {
		if !strings.Contains(body, w) {
			t.Errorf("overview lacks %q", w)
		}
	}
	checkSecurityHeaders(t, "/", resp.Header)
}

// TestSparklineFirstReadings: right after the start one reading must
// already draw a visible line, and the 24 h min/max are the minute
// extremes the history keeps, not only the drawn values (issue 22).
func TestSparklineFirstReadings(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		points   []TempPoint
		min, max float64
	}{
		{"one reading just now", []TempPoint{{At: now, V: 5.5, Lo: 5.5, Hi: 5.5}}, 5.5, 5.5},
		{"two readings a minute apart", []TempPoint{{At: now.Add(-time.Minute), V: 5, Lo: 5, Hi: 5}, {At: now, V: 5.2, Lo: 5.2, Hi: 5.2}}, 5, 5.2},
		{"a minute with a cold and a warm reading", []TempPoint{{At: now.Add(-2 * time.Minute), V: 12, Lo: 1.5, Hi: 12}, {At: now, V: 5, Lo: 5, Hi: 5}}, 1.5, 12},
		{"a point without its range counts as its value", []TempPoint{{At: now, V: 4.5}}, 4.5, 4.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, ok := sparkline(TempHistory{Low: 2, High: 8, Points: tt.points}, now)
			if !ok {
				t.Fatal("no sparkline")
			}
			if v.Min != tt.min || v.Max != tt.max {
				t.Errorf("min/max %v/%v, want %v/%v", v.Min, v.Max, tt.min, tt.max)
			}
			lines := pointsRE.FindAllStringSubmatch(string(v.SVG), -1)
			if len(lines) != 1 {
				t.Fatalf("%d lines, want 1:\n%s", len(lines), v.SVG)
			}
			// A polyline needs two distinct points to draw anything.
			pts := strings.Fields(lines[0][1])
			distinct := map[string]bool{}
			for _, p := range pts {
				distinct[p] = true
			}
			if len(distinct) < 2 {
				t.Fatalf("line %q draws nothing", lines[0][1])
			}
		})
	}
}
