package notify_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/gateway/notify"
)

// FuzzHandleSMS: whatever arrives by SMS, only a listed number with
// "OK <the code>" acknowledges, and nothing panics.
func FuzzHandleSMS(f *testing.F) {
	f.Add(numA, "OK CODE")
	f.Add(numX, "OK CODE")
	f.Fuzz(func(t *testing.T, from, text string) {
		n, s, c, clk := unit(t, baseConfig(), time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
		c.setUp(false)
		n.Step(context.Background())
		clk.Add(2 * time.Minute)
		n.Observe(fridgeAlarm(clk.Now()))
		n.Step(context.Background())
		if s.count() != 1 {
			t.Fatal("no alarm SMS")
		}
		code := n.Pending()["kuehlschrank-impf/temperature/above"]
		text = strings.ReplaceAll(text, "CODE", code)
		n.HandleSMS(context.Background(), from, text)
		acked := len(c.ofType(notify.EventAcked)) == 1
		listed := from == numA || from == numB || from == "00"+numA[1:] || from == "00"+numB[1:]
		hasCode := strings.Contains(text, code)
		if acked && (!listed || !hasCode) {
			t.Fatalf("%q from %q acknowledged", text, from)
		}
		if strings.TrimSpace(text) == "OK "+code && listed && !acked {
			t.Fatalf("%q from %q not acknowledged", text, from)
		}
	})
}
