package store

import (
	"errors"
	"math"
	"testing"

	"github.com/vmcp-dev/vmcp/internal/audit"
)

func TestPercentileCont(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sorted []int64
		p      float64
		want   float64
	}{
		{"no values give zero", nil, 0.5, 0},
		{"one value is every percentile", []int64{7}, 0.95, 7},
		{"the median of an even count interpolates between the middle two", []int64{1, 2, 3, 4}, 0.5, 2.5},
		{"p95 interpolates between the nearest ranks", []int64{1, 2, 10}, 0.95, 9.2},
		{"p100 is the largest value", []int64{3, 5, 8}, 1, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := percentileCont(tc.sorted, tc.p); math.Abs(got-tc.want) > 1e-9 {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// FuzzDecodeCursor: a cursor comes from a client (the admin API's query string). Decoding never
// panics, refuses with audit.ErrBadCursor, and what it accepts encodes back to the same position.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(cursor{us: 1777636800000000, id: "01JTAJ0Z8M5B7C2X4V6N8P0Q1R"}.encode())
	f.Add(cursor{us: -1, id: "a:b"}.encode())
	f.Add("")
	f.Add("not base64!")
	f.Add("MTI6")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeCursor(s)
		if err != nil {
			if !errors.Is(err, audit.ErrBadCursor) {
				t.Fatalf("error %v is not audit.ErrBadCursor", err)
			}
			return
		}
		again, err := decodeCursor(c.encode())
		if err != nil || again != c {
			t.Fatalf("%+v re-encoded decodes to %+v, %v", c, again, err)
		}
	})
}
