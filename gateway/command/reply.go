package command

import (
	"encoding/json"
	"fmt"

	"github.com/praxisgate/praxisgate/gateway/contract"
)

// Reply is the payload on reply/{id} (docs/schema/reply.json). A chunked
// reply (support-bundle) is several messages with Part 1..Parts; the
// others have neither.
type Reply struct {
	contract.Header
	ID     string `json:"id"`
	OK     bool   `json:"ok"`
	Part   int    `json:"part,omitempty"`
	Parts  int    `json:"parts,omitempty"`
	Result any    `json:"result,omitempty"`
	Error  string `json:"error,omitempty"`
}

// Chunked is a handler result too large for one message: Data is sent in
// pieces of ChunkSize bytes, each reply's result being
// {"encoding": Encoding, "data": base64 of the piece}. The receiver joins
// the pieces in part order.
type Chunked struct {
	Encoding  string
	Data      []byte
	ChunkSize int
}

// DefaultChunkSize keeps every reply message below 64 KiB after base64,
// under the default message limits of common brokers and proxies.
const DefaultChunkSize = 32 << 10

// maxChunks bounds a chunked reply (64 MiB at the default size).
const maxChunks = 2048

type chunkResult struct {
	Encoding string `json:"encoding"`
	Data     []byte `json:"data"`
}

// Then wraps a result with an action to run after the reply was published,
// e.g. restart: the provider must hear "ok" before the box goes away.
type Then struct {
	Result any
	After  func()
}

// encodeReplies renders the message(s) answering one command.
func encodeReplies(h contract.Header, id string, result any, err error) ([][]byte, error) {
	if err != nil {
		b, merr := json.Marshal(Reply{Header: h, ID: id, Error: err.Error()})
		return [][]byte{b}, merr
	}
	ch, ok := result.(Chunked)
	if !ok {
		b, merr := json.Marshal(Reply{Header: h, ID: id, OK: true, Result: result})
		if merr != nil {
			return encodeReplies(h, id, nil, fmt.Errorf("encode result: %v", merr))
		}
		return [][]byte{b}, nil
	}
	size := ch.ChunkSize
	if size <= 0 {
		size = DefaultChunkSize
	}
	n := max(1, (len(ch.Data)+size-1)/size)
	if n > maxChunks {
		return encodeReplies(h, id, nil, fmt.Errorf("result of %d bytes exceeds %d chunks", len(ch.Data), maxChunks))
	}
	out := make([][]byte, 0, n)
	for i := range n {
		piece := ch.Data[min(i*size, len(ch.Data)):min((i+1)*size, len(ch.Data))]
		b, merr := json.Marshal(Reply{Header: h, ID: id, OK: true, Part: i + 1, Parts: n, Result: chunkResult{Encoding: ch.Encoding, Data: piece}})
		if merr != nil {
			return nil, merr
		}
		out = append(out, b)
	}
	return out, nil
}
