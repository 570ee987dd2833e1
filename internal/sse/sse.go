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
	s     *bufio.Scanner
	lines lineSplitter
	// started is set once the first line has been read (and a byte order mark dropped).
	started bool
}

// NewReader returns a reader over r.
func NewReader(r io.Reader) *Reader {
	rd := &Reader{s: bufio.NewScanner(r)}
	rd.s.Buffer(make([]byte, 0, 4096), MaxEventSize)
	rd.s.Split(rd.lines.split)
	return rd
}

// lineSplitter splits on the three line endings the SSE grammar allows: CRLF, LF and a lone CR
// (WHATWG HTML, "9.2.5 Parsing an event stream"). bufio.ScanLines knows only LF and CRLF, so a
// stream using CR alone would be one endless line.
type lineSplitter struct {
	// skipLF is set when a line ended in CR at the end of the buffered data: if the next byte
	// is LF, it belongs to that CRLF. Deciding later, rather than waiting for the next byte,
	// delivers an event ending in CR CR at once instead of when the server next writes.
	skipLF bool
}

func (ls *lineSplitter) split(data []byte, atEOF bool) (int, []byte, error) {
	if ls.skipLF && len(data) > 0 {
		ls.skipLF = false
		if data[0] == '\n' {
			return 1, nil, nil
		}
	}
	if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
		if data[i] == '\r' {
			if i+1 == len(data) {
				ls.skipLF = true
			} else if data[i+1] == '\n' {
				return i + 2, data[:i], nil
			}
		}
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// bom is U+FEFF, which the SSE grammar allows (and ignores) at the start of a stream.
var bom = []byte("\uFEFF")

// Next returns the next event with data, or io.EOF at the end of the stream. Comments and events
// without data (keep-alives, retry hints) are skipped.
func (r *Reader) Next() (Event, error) {
	var ev Event
	var data bytes.Buffer
	hasData := false
	for r.s.Scan() {
		line := r.s.Bytes()
		if !r.started {
			r.started = true
			line = bytes.TrimPrefix(line, bom)
		}
		if len(line) == 0 {
			if hasData {
				ev.Data = append([]byte{}, data.Bytes()...)
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
			// The grammar ignores an id containing NUL.
			if bytes.IndexByte(value, 0) < 0 {
				ev.ID = string(value)
			}
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
		ev.Data = append([]byte{}, data.Bytes()...)
		return ev, nil
	}
	return Event{}, io.EOF
}

// EventEnd finds the blank line that ends the first event in b: its offset and length (LF LF
// or CRLF CRLF), or -1 when b holds no complete event yet.
func EventEnd(b []byte) (int, int) {
	lf := bytes.Index(b, []byte("\n\n"))
	crlf := bytes.Index(b, []byte("\r\n\r\n"))
	switch {
	case lf < 0 && crlf < 0:
		return -1, 0
	case crlf >= 0 && (lf < 0 || crlf < lf):
		return crlf, 4
	default:
		return lf, 2
	}
}

// Data joins the data lines of one event (given as raw lines).
func Data(event []byte) []byte {
	var out []byte
	first := true
	for _, line := range bytes.Split(event, []byte("\n")) {
		line = bytes.TrimSuffix(line, []byte("\r"))
		if d, ok := bytes.CutPrefix(line, []byte("data:")); ok {
			if !first {
				out = append(out, '\n')
			}
			first = false
			out = append(out, bytes.TrimPrefix(d, []byte(" "))...)
		}
	}
	return out
}
