package relay

import "testing"

func TestAConnectorsErrorNamesTheToolAsTheClientCalledIt(t *testing.T) {
	rn := Rename{Original: "nope", Name: "notes__nope"}
	for _, tc := range []struct{ name, in, want string }{
		{"quoted, as the Go SDK says it",
			`{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"unknown tool \"nope\""}}`,
			`{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"unknown tool \"notes__nope\""}}`},
		{"bare, as the TypeScript SDK says it",
			`{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"Tool nope not found"}}`,
			`{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"Tool notes__nope not found"}}`},
		{"part of another word is left alone",
			`{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"nopes: nope_x"}}`, ""},
		{"a result is left alone", `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"nope"}]}}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(rn.RenameInErrorBody([]byte(tc.in))); got != tc.want {
				t.Errorf("got %s\nwant %s", got, tc.want)
			}
		})
	}
}
