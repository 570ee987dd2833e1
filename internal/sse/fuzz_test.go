package sse

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"testing/iotest"
)

// FuzzReader checks that Next never panics, always ends, returns events with data only, and
// reads the same events however the stream is split into reads (CRLF across a read boundary
// included). Seeds: testdata/fuzz/FuzzReader.
func FuzzReader(f *testing.F) {
	f.Fuzz(func(t *testing.T, stream []byte) {
		whole, errWhole := readAll(bytes.NewReader(stream))
		bytewise, errBytewise := readAll(iotest.OneByteReader(bytes.NewReader(stream)))
		if (errWhole == nil) != (errBytewise == nil) || !reflect.DeepEqual(whole, bytewise) {
			t.Fatalf("whole: %q, %v\nbyte by byte: %q, %v", whole, errWhole, bytewise, errBytewise)
		}
		if errWhole != nil && !errors.Is(errWhole, ErrTooLarge) {
			t.Fatalf("unexpected error %v", errWhole)
		}
		if len(whole) > len(stream) {
			t.Fatalf("%d events from %d bytes", len(whole), len(stream))
		}
		for _, ev := range whole {
			if ev.Data == nil {
				t.Fatalf("event without data: %+v", ev)
			}
			if bytes.ContainsAny(ev.Data, "\r") || bytes.ContainsAny([]byte(ev.ID+ev.Name), "\r\n") {
				t.Fatalf("a line ending leaked into an event: %q", ev)
			}
		}
	})
}
