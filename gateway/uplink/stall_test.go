package uplink

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/buffer"
	"github.com/praxisgate/praxisgate/drivers/testpeer"
	"github.com/praxisgate/praxisgate/gateway/contract"
)

// TestStallIsDiagnosed: a broker that disconnects on a record larger than
// its packet limit blocks the queue; the uplink keeps the record (no data
// is destroyed) and names it in one error line.
func TestStallIsDiagnosed(t *testing.T) {
	m := testpeer.StartMosquitto(t, testpeer.MosquittoOptions{Extra: []string{"max_packet_size 2000"}})
	q := buffer.NewMemory(buffer.Options{})
	big := `{"schema":1,"gateway":"gw-01","boot":"b","ts":"2026-11-22T13:05:07.123Z","clock":"synced","device":"nas","kind":"nas","metrics":[{"name":"x","value":"` +
		strings.Repeat("A", 5000) + `"}]}`
	seqs := appendAll(t, q, []buffer.Record{
		{Class: buffer.Telemetry, Topic: contract.TelemetryTopic("nas"), Payload: []byte(big)},
		telemetry(t, "dev-1", 1),
	})
	r := startUplink(t, testConfig(m.URL()), q)
	want := "oldest_seq=" + strconv.FormatUint(seqs[0], 10)
	waitFor(t, 60*time.Second, "the stall error naming the record", func() bool {
		return strings.Contains(r.log.String(), "level=ERROR") && strings.Contains(r.log.String(), want)
	})
	r.Stop(t)
	if n := strings.Count(r.log.String(), "in a row before acknowledging"); n != 1 {
		t.Errorf("stall reported %d times, want once", n)
	}
	if got := q.Stats().Records; got != 2 {
		t.Errorf("buffer holds %d records, want both kept", got)
	}
}
