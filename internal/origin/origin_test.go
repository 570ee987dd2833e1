package origin

import "testing"

func TestOriginsFromThePublicURLAndLoopbackInDevelopment(t *testing.T) {
	pub := New("https://mcp.example.com", []string{"https://console.example.com"})
	dev := New("http://127.0.0.1:8080", nil)
	for _, tc := range []struct {
		o      Policy
		origin string
		want   bool
	}{
		{pub, "", true},
		{pub, "https://mcp.example.com", true},
		{pub, "HTTPS://MCP.EXAMPLE.COM/", true},
		{pub, "https://console.example.com", true},
		{pub, "http://mcp.example.com", false},
		{pub, "https://evil.example.com", false},
		{pub, "http://127.0.0.1:8080", false},
		{dev, "http://localhost:3000", true},
		{dev, "http://127.0.0.1:9999", true},
		{dev, "http://evil.example.com", false},
		{dev, "null", false},
	} {
		if got := tc.o.Allow(tc.origin); got != tc.want {
			t.Errorf("Allow(%q) = %v, want %v", tc.origin, got, tc.want)
		}
	}
}
