// Package sse reads and writes Server-Sent Events as the MCP Streamable HTTP transport uses
// them: each event's data is one JSON-RPC message.
package sse

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// Event is one server-sent event.
type Event struct {
	ID   string
	Name string
	Data []byte
}

// MaxEventSize bounds one event so a broken or hostile upstream cannot exhaust memory.
const MaxEventSize = 16 << 20

// ErrTooLarge is returned for an event over MaxEventSize.
var ErrTooLarge = errors.New("sse: event too large")

// Reader reads events from a text/event-stream body.
type Reader struct {
	s *bufio.Scanner
}

// NewReader returns a reader over r.
func NewReader(r io.Reader) *Reader {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 0, 4096), MaxEventSize)
	return &Reader{s: s}
}

// Next returns the next event with data, or io.EOF at the end of the stream. Comments and events
// without data (keep-alives, retry hints) are skipped.
func (r *Reader) Next() (Event, error) {
	var ev Event
	var data bytes.Buffer
	hasData := false
	for r.s.Scan() {
		line := r.s.Bytes()
		if len(line) == 0 {
			if hasData {
				ev.Data = bytes.Clone(data.Bytes())
				return ev, nil
			}
			ev = Event{}
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "data":
			if hasData {
				data.WriteByte('\n')
			}
			if data.Len()+len(value) > MaxEventSize {
				return Event{}, ErrTooLarge
			}
			data.Write(value)
			hasData = true
		case "id":
			ev.ID = string(value)
		case "event":
			ev.Name = string(value)
		}
	}
	if err := r.s.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return Event{}, ErrTooLarge
		}
		return Event{}, err
	}
	if hasData {
		// A stream that ends without the final blank line still delivers its last event.
		ev.Data = bytes.Clone(data.Bytes())
		return ev, nil
	}
	return Event{}, io.EOF
}
