package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/vmcp-dev/vmcp/internal/admin"
	"github.com/vmcp-dev/vmcp/internal/audit/audittest"
)

// The handler's part of the dry run: parameters, admin-only access, the answer's shape. The
// list itself is the aggregator's tools/list code, exercised end to end in e2e.
func TestEffectiveToolsIsAdminOnlyAndPassesUserGroupsAndVirtualServerOn(t *testing.T) {
	var asked []string
	h, err := admin.New(admin.Config{
		Store: audittest.NewMemStore(), Recorder: nopRecorder{}, Authenticate: authenticate, AdminGroups: []string{"vmcp-admins"},
		EffectiveTools: func(_ context.Context, user string, groups []string, vs string) ([]json.RawMessage, error) {
			asked = append(asked, fmt.Sprint(user, groups, vs))
			if vs != "demo" {
				return nil, fmt.Errorf("no virtual server named %q", vs)
			}
			return []json.RawMessage{json.RawMessage(`{"name":"notes__add_note"}`)}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	get := func(token string, q url.Values) (int, []byte) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+admin.EffectiveToolsPath+"?"+q.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b json.RawMessage
		json.NewDecoder(resp.Body).Decode(&b)
		return resp.StatusCode, b
	}
	code, body := get(adminToken, url.Values{"user": {"alice"}, "groups": {"eng, sre"}, "vs": {"demo"}})
	var ans admin.EffectiveTools
	if code != http.StatusOK || json.Unmarshal(body, &ans) != nil || len(ans.Tools) != 1 || ans.User != "alice" {
		t.Fatalf("HTTP %d %s", code, body)
	}
	if len(asked) != 1 || asked[0] != "alice[eng sre]demo" {
		t.Errorf("asked %v", asked)
	}
	if code, _ := get(userToken, url.Values{"user": {"alice"}, "vs": {"demo"}}); code != http.StatusForbidden {
		t.Errorf("a non-admin got HTTP %d", code)
	}
	if code, body := get(adminToken, url.Values{"vs": {"demo"}}); code != http.StatusBadRequest {
		t.Errorf("without user: HTTP %d %s", code, body)
	}
	if code, _ := get(adminToken, url.Values{"user": {"alice"}, "vs": {"nope"}}); code != http.StatusNotFound {
		t.Errorf("unknown virtual server: HTTP %d", code)
	}
}
