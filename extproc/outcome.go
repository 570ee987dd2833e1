package extproc

import (
	"bytes"
	"encoding/json"

	"github.com/vmcp-dev/vmcp/internal/audit"
	"github.com/vmcp-dev/vmcp/internal/jsonrpc"
	"github.com/vmcp-dev/vmcp/internal/sse"
)

// maxOutcomeBuffer bounds what extproc holds of a response while looking for the answer; the
// response itself streams on regardless.
const maxOutcomeBuffer = 1 << 20

// outcomeReader reads a connector's streamed answer to one routed request — a JSON body, or an
// SSE stream whose events carry notifications, server requests and, somewhere, the answer —
// and finds the answer's outcome: ok, a JSON-RPC error code, or a tool result with isError.
type outcomeReader struct {
	id     string // the request's JSON-RPC id, as raw JSON
	sse    bool
	buf    bytes.Buffer
	found  bool
	result string
	code   int
}

// feed takes the next chunk and reports whether the answer has been found.
func (o *outcomeReader) feed(chunk []byte) bool {
	if o.found {
		return true
	}
	if o.buf.Len()+len(chunk) > maxOutcomeBuffer {
		// Too large to hold: stop looking; the call is recorded with its HTTP outcome.
		o.buf.Reset()
		return false
	}
	o.buf.Write(chunk)
	if !o.sse {
		return false // a JSON body is read whole, at the end
	}
	for {
		data := o.buf.Bytes()
		end, sepLen := sse.EventEnd(data)
		if end < 0 {
			return false
		}
		event := data[:end]
		o.buf.Next(end + sepLen)
		if o.classify(sse.Data(event)) {
			return true
		}
	}
}

// finish handles the end of the body.
func (o *outcomeReader) finish() {
	if o.found {
		return
	}
	if o.sse {
		o.classify(sse.Data(o.buf.Bytes()))
		return
	}
	o.classify(o.buf.Bytes())
}

// classify checks whether msg is the answer to our request and, if so, what it says.
func (o *outcomeReader) classify(msg []byte) bool {
	m, err := jsonrpc.Parse(msg)
	if err != nil || m.Method != "" || string(m.ID) != o.id {
		return false
	}
	o.found = true
	switch {
	case m.Error != nil:
		o.result, o.code = audit.OutcomeError, m.Error.Code
	default:
		var r struct {
			IsError bool `json:"isError"`
		}
		if json.Unmarshal(m.Result, &r) == nil && r.IsError {
			o.result = audit.OutcomeToolError
		} else {
			o.result = audit.OutcomeOK
		}
	}
	return true
}
