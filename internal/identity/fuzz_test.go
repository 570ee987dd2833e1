package identity

import (
	"errors"
	"reflect"
	"testing"
)

// FuzzVerify checks that Verify never panics and accepts nothing it did not sign: a string it
// accepts must be exactly what Sign makes of the identity it returns (an HMAC cannot be forged,
// so only the genuine seed gets there); anything else is ErrInvalid with the zero Identity.
// Seeds: testdata/fuzz/FuzzVerify.
func FuzzVerify(f *testing.F) {
	now := epoch
	s := newSigner(f, key, &now)
	f.Fuzz(func(t *testing.T, signed string) {
		id, err := s.Verify(signed)
		if err == nil {
			if again := mustSign(t, s, id); again != signed {
				t.Fatalf("Verify accepted %q, which Sign would write as %q", signed, again)
			}
			return
		}
		if !errors.Is(err, ErrInvalid) || !reflect.DeepEqual(id, Identity{}) {
			t.Fatalf("Verify = %+v, %v; want the zero Identity and ErrInvalid", id, err)
		}
	})
}
