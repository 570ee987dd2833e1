package audit

import (
	"math/rand/v2"
	"time"
)

// crockford is Crockford's base32 alphabet: no I, L, O, U, so ids survive being read aloud and
// typed; its characters sort in the same order as the values they encode.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewID returns a 26-character event id in the ULID layout: 48 bits of milliseconds since the
// Unix epoch, then 80 random bits, in Crockford base32. Ids of events in different
// milliseconds sort by time as plain strings (the store pages by (time, id)); 80 random bits
// make a collision between replicas negligible without coordination.
//
// math/rand/v2's top-level generator is ChaCha8 seeded from the OS, per-thread and lock-free:
// the ids need to be unique, not secret, and this keeps a shared lock off the request path.
func NewID(t time.Time) string {
	ms := uint64(t.UnixMilli())
	hi, lo := rand.Uint64()&0xFFFF, rand.Uint64() // 16 + 64 = 80 random bits
	var b [26]byte
	// 48-bit time in the first 10 characters (50 bits, the top two zero).
	for i := 9; i >= 0; i-- {
		b[i] = crockford[ms&31]
		ms >>= 5
	}
	// 80 random bits in the last 16 characters: 16 × 5 bits, taken from the low end.
	for i := 25; i >= 10; i-- {
		b[i] = crockford[lo&31]
		lo = lo>>5 | (hi&31)<<59
		hi >>= 5
	}
	return string(b[:])
}
