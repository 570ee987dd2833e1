package harness

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

func TestWaitHTTPPollsUntilTheWantedStatus(t *testing.T) {
	cases := []struct {
		name       string
		statuses   []int // answered in order; the last one repeats
		wantStatus int
	}{
		{name: "waits through 503s until 200", statuses: []int{503, 503, 200}, wantStatus: 200},
		{name: "can wait for a 401", statuses: []int{502, 401}, wantStatus: 401},
		{name: "does not follow a redirect it waits for", statuses: []int{302}, wantStatus: 302},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := int(calls.Add(1)) - 1
				status := tc.statuses[min(n, len(tc.statuses)-1)]
				if status == http.StatusFound {
					w.Header().Set("Location", "/elsewhere")
				}
				w.WriteHeader(status)
			}))
			defer srv.Close()
			WaitHTTP(t, srv.URL, tc.wantStatus)
			if got := int(calls.Load()); got != len(tc.statuses) {
				t.Errorf("server saw %d requests, want %d", got, len(tc.statuses))
			}
		})
	}
}

func TestWaitTCPReturnsOnceSomethingListens(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	WaitTCP(t, ln.Addr().String())
}
