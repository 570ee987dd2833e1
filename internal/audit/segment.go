package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// segmentReader reads the events of one closed spill segment, a batch at a time.
type segmentReader struct {
	path string
	f    *os.File
	r    *bufio.Reader
	line int
	// skipped counts lines that were not events (a torn last line after a crash, or damage).
	skipped int
	// torn is set when the last line was cut short: the crash-mid-write case.
	torn bool
}

func openSegmentReader(path string) (*segmentReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("audit: open spill file: %w", err)
	}
	return &segmentReader{path: path, f: f, r: bufio.NewReaderSize(f, spillBufSize)}, nil
}

// next reads up to n events. eof reports that the segment has no more. A line that does not
// decode is skipped and counted, never fatal: the events around it still matter.
func (s *segmentReader) next(n int) (evs []Event, eof bool, err error) {
	for len(evs) < n {
		b, rerr := s.r.ReadBytes('\n')
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			return evs, false, fmt.Errorf("audit: read spill file: %w", rerr)
		}
		complete := rerr == nil // the line ended with '\n'
		if b = bytes.TrimSpace(b); len(b) > 0 {
			s.line++
			var ev Event
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.UseNumber() // arguments keep their numbers exactly as recorded
			if derr := dec.Decode(&ev); derr != nil || ev.ID == "" || dec.More() {
				s.skipped++
				s.torn = s.torn || !complete
			} else {
				// A line whose newline was lost but whose JSON is whole is still an event.
				evs = append(evs, ev)
			}
		}
		if !complete {
			return evs, true, nil
		}
	}
	return evs, false, nil
}

func (s *segmentReader) close() { s.f.Close() }
