package session

import (
	"errors"
	"reflect"
	"testing"
)

// FuzzOpen checks that Open never panics and never vouches for an id it did not seal: random
// input must fail, with the zero State. Seeds: testdata/fuzz/FuzzOpen.
func FuzzOpen(f *testing.F) {
	now := epoch
	c := newCodec(f, key, &now)
	f.Fuzz(func(t *testing.T, id string) {
		sess, err := c.Open(id, "alice", "eng")
		if err == nil {
			t.Fatalf("Open accepted an id it never sealed: %q -> %+v", id, sess)
		}
		if !reflect.DeepEqual(sess, State{}) {
			t.Fatalf("Open returned state %+v with error %v", sess, err)
		}
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNotYours) && !errors.Is(err, ErrExpired) {
			t.Fatalf("Open returned an undocumented error %v", err)
		}
	})
}
