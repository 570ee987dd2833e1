package sse

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// readAll reads every event from r until io.EOF or an error.
func readAll(r io.Reader) ([]Event, error) {
	rd := NewReader(r)
	var out []Event
	for {
		ev, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, ev)
	}
}

func TestReaderParsesEventStreams(t *testing.T) {
	msg := `{"jsonrpc":"2.0","id":1,"result":{}}`
	for _, tc := range []struct {
		name   string
		stream string
		want   []Event
	}{
		{
			name:   "one event with data",
			stream: "data: " + msg + "\n\n",
			want:   []Event{{Data: []byte(msg)}},
		},
		{
			name:   "id and event fields are kept with the data",
			stream: "id: 42\nevent: message\ndata: " + msg + "\n\n",
			want:   []Event{{ID: "42", Name: "message", Data: []byte(msg)}},
		},
		{
			name:   "multi-line data is joined with LF",
			stream: "data: {\"a\":\ndata: 1}\ndata:\n\n",
			want:   []Event{{Data: []byte("{\"a\":\n1}\n")}},
		},
		{
			name:   "only one space after the colon is removed",
			stream: "data:  two spaces\ndata:none\n\n",
			want:   []Event{{Data: []byte(" two spaces\nnone")}},
		},
		{
			name:   "a field without a colon is a field with an empty value",
			stream: "data\n\n",
			want:   []Event{{Data: []byte("")}},
		},
		{
			name:   "comments are skipped",
			stream: ": hello\ndata: a\n: inside\ndata: b\n\n",
			want:   []Event{{Data: []byte("a\nb")}},
		},
		{
			name:   "keep-alive comments between events are skipped",
			stream: ": ping\n\n: ping\n\ndata: a\n\n:\n\n: ping\n\ndata: b\n\n",
			want:   []Event{{Data: []byte("a")}, {Data: []byte("b")}},
		},
		{
			name:   "events without data are skipped and their fields forgotten",
			stream: "id: 7\nevent: ping\nretry: 1000\n\ndata: x\n\n",
			want:   []Event{{Data: []byte("x")}},
		},
		{
			name:   "unknown fields are ignored",
			stream: "foo: bar\ndata: x\nretry: 5\n\n",
			want:   []Event{{Data: []byte("x")}},
		},
		{
			name:   "the last event needs no trailing blank line",
			stream: "data: a\n\ndata: b\n",
			want:   []Event{{Data: []byte("a")}, {Data: []byte("b")}},
		},
		{
			name:   "the last event needs no line ending at all",
			stream: "id: 3\ndata: b",
			want:   []Event{{ID: "3", Data: []byte("b")}},
		},
		{
			name:   "CRLF line endings",
			stream: "id: 1\r\nevent: message\r\ndata: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n",
			want:   []Event{{ID: "1", Name: "message", Data: []byte("a\nb")}, {Data: []byte("c")}},
		},
		{
			name:   "CR line endings",
			stream: "id: 1\revent: message\rdata: a\rdata: b\r\rdata: c\r\r",
			want:   []Event{{ID: "1", Name: "message", Data: []byte("a\nb")}, {Data: []byte("c")}},
		},
		{
			name:   "mixed line endings",
			stream: "data: a\r\ndata: b\rdata: c\n\r\ndata: d\r\r",
			want:   []Event{{Data: []byte("a\nb\nc")}, {Data: []byte("d")}},
		},
		{
			name:   "LF CR is two line endings",
			stream: "data: a\n\rdata: b\n\n",
			want:   []Event{{Data: []byte("a")}, {Data: []byte("b")}},
		},
		{
			name:   "a byte order mark at the start is ignored",
			stream: "\uFEFFdata: a\n\n",
			want:   []Event{{Data: []byte("a")}},
		},
		{
			name:   "a byte order mark later is data",
			stream: "data: a\n\ndata: \uFEFFb\n\n",
			want:   []Event{{Data: []byte("a")}, {Data: []byte("\uFEFFb")}},
		},
		{
			name:   "an id containing NUL is ignored",
			stream: "id: a\x00b\ndata: x\n\n",
			want:   []Event{{Data: []byte("x")}},
		},
		{
			name:   "an empty stream has no events",
			stream: "",
			want:   nil,
		},
		{
			name:   "a stream of comments has no events",
			stream: ": a\n: b\n",
			want:   nil,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The same stream arriving whole, a byte at a time (so CRLF is split across
			// reads) and in halves must read the same.
			for _, r := range []struct {
				name string
				r    io.Reader
			}{
				{"whole", strings.NewReader(tc.stream)},
				{"one byte per read", iotest.OneByteReader(strings.NewReader(tc.stream))},
				{"half per read", iotest.HalfReader(strings.NewReader(tc.stream))},
				{"EOF with the last data", iotest.DataErrReader(strings.NewReader(tc.stream))},
			} {
				got, err := readAll(r.r)
				if err != nil {
					t.Fatalf("%s: %v", r.name, err)
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Errorf("%s:\n got %q\nwant %q", r.name, got, tc.want)
				}
			}
		})
	}
}

// An event that ends in CR CR must be delivered as soon as those bytes arrive, not when the
// server next writes: on a long-lived stream that may be minutes later.
func TestAnEventEndingInCRIsDeliveredWithoutWaitingForMoreBytes(t *testing.T) {
	for _, tc := range []struct{ name, chunk string }{
		{"CR CR", "data: a\r\r"},
		{"CRLF CRLF", "data: a\r\n\r\n"},
		{"LF LF", "data: a\n\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pr, pw := io.Pipe()
			defer pw.Close()
			go pw.Write([]byte(tc.chunk)) // the server writes one event and then nothing

			got := make(chan Event, 1)
			go func() {
				ev, err := NewReader(pr).Next()
				if err == nil {
					got <- ev
				}
				close(got)
			}()
			select {
			case ev, ok := <-got:
				if !ok || string(ev.Data) != "a" {
					t.Fatalf("Next = %q, %v; want data a", ev.Data, ok)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Next is still waiting for bytes after the event's end")
			}
		})
	}
}

func TestOversizeEventsAreRefused(t *testing.T) {
	line := strings.Repeat("x", MaxEventSize/2)
	for _, tc := range []struct {
		name   string
		stream string
	}{
		{"one data line longer than MaxEventSize", "data: " + strings.Repeat("x", MaxEventSize+1) + "\n\n"},
		{"data lines that together pass MaxEventSize", "data: " + line + "\ndata: " + line + "\ndata: x\n\n"},
		{"a comment line longer than MaxEventSize", ": " + strings.Repeat("x", MaxEventSize+1) + "\n\ndata: a\n\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewReader(strings.NewReader(tc.stream)).Next()
			if !errors.Is(err, ErrTooLarge) {
				t.Errorf("Next = %v, want ErrTooLarge", err)
			}
		})
	}
}

func TestAnEventJustUnderTheLimitIsRead(t *testing.T) {
	data := strings.Repeat("x", MaxEventSize-len("data: ")-1)
	ev, err := NewReader(strings.NewReader("data: " + data + "\n\n")).Next()
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Data) != len(data) {
		t.Errorf("read %d bytes of data, want %d", len(ev.Data), len(data))
	}
}

func TestReadErrorsArePassedOn(t *testing.T) {
	boom := errors.New("connection reset")
	r := io.MultiReader(strings.NewReader("data: a\n\ndata: b\n"), iotest.ErrReader(boom))
	got, err := readAll(r)
	if !errors.Is(err, boom) {
		t.Errorf("error %v, want %v", err, boom)
	}
	if want := []Event{{Data: []byte("a")}}; !reflect.DeepEqual(got, want) {
		t.Errorf("events before the error %q, want %q", got, want)
	}
}

func TestEventDataIsNotOverwrittenByLaterReads(t *testing.T) {
	rd := NewReader(strings.NewReader("data: first\n\ndata: second\n\n"))
	a, err := rd.Next()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rd.Next(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Data, []byte("first")) {
		t.Errorf("first event's data became %q", a.Data)
	}
}
