package buffer_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/praxisgate/praxisgate/buffer"
)

// The gateway appends, the uplink reads, publishes and acknowledges.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "praxisgate-buffer-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	q, err := buffer.Open(dir, buffer.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		// errors.Is(err, buffer.ErrCorrupt): buffer.MoveAside(dir, time.Now()) and open again.
		panic(err)
	}
	defer q.Close()

	ctx := context.Background()
	recs := []buffer.Record{
		{Class: buffer.Telemetry, Topic: "telemetry/usv-rack", Payload: []byte(`{"battery.charge":100}`)},
		{Class: buffer.Event, Topic: "event/kuehlschrank-impf", Payload: []byte(`{"type":"alarm.raised"}`)},
	}
	if err := q.Append(ctx, recs); err != nil { // returns after the fsync
		panic(err)
	}

	batch, err := q.Next(ctx, 10) // events first
	if err != nil {
		panic(err)
	}
	for _, r := range batch {
		fmt.Println(r.Seq, r.Class, r.Topic)
		// ... publish with QoS 1, then on PUBACK:
		if err := q.Ack(r.Seq); err != nil {
			panic(err)
		}
	}
	fmt.Println("left:", q.Stats().Records)
	// Output:
	// 2 event event/kuehlschrank-impf
	// 1 telemetry telemetry/usv-rack
	// left: 0
}
