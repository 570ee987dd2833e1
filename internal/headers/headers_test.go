package headers

import "testing"

func TestBearerTokenReadsOnlyABearerScheme(t *testing.T) {
	for _, tc := range []struct {
		value, want string
		ok          bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer abc", "abc", true},
		{"BEARER  abc ", "abc", true},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Basic YTpi", "", false},
		{"Bearerabc", "", false},
		{"", "", false},
	} {
		if got, ok := BearerToken(tc.value); got != tc.want || ok != tc.ok {
			t.Errorf("BearerToken(%q) = %q, %v; want %q, %v", tc.value, got, ok, tc.want, tc.ok)
		}
	}
}
