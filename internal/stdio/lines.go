package stdio

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// errEOF is the end of the process's stdout.
var errEOF = errors.New("end of output")

// lineReader reads newline-delimited messages of at most maxLine bytes.
type lineReader struct {
	r   *bufio.Reader
	buf []byte
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// next returns the next line without its line ending; the slice is valid until the next call.
func (l *lineReader) next() ([]byte, error) {
	l.buf = l.buf[:0]
	for {
		chunk, err := l.r.ReadSlice('\n')
		l.buf = append(l.buf, chunk...)
		if len(l.buf) > maxLine {
			return nil, fmt.Errorf("a message longer than %d bytes", maxLine)
		}
		switch {
		case err == nil:
			return trimEOL(l.buf), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case len(l.buf) > 0 && errors.Is(err, io.EOF):
			return trimEOL(l.buf), nil
		default:
			return nil, errEOF
		}
	}
}

func trimEOL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
