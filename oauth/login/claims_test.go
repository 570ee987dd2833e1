package login

import (
	"encoding/json"
	"reflect"
	"testing"
)

func mustClaims(t *testing.T, js string) claims {
	t.Helper()
	if js == "" {
		return nil
	}
	var c claims
	if err := json.Unmarshal([]byte(js), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestUserFromClaims(t *testing.T) {
	tests := []struct {
		name     string
		id, info string
		claim    string
		want     User
		wantErr  bool
	}{
		{
			name:  "a list of groups in the ID token is read",
			id:    `{"sub":"u1","email":"a@x","name":"A","groups":["eng","ops"]}`,
			claim: "groups",
			want:  User{Subject: "u1", Email: "a@x", Name: "A", Groups: []string{"eng", "ops"}, Provider: "oidc"},
		},
		{
			name:  "a single string group is one group",
			id:    `{"sub":"u1","roles":"admin"}`,
			claim: "roles",
			want:  User{Subject: "u1", Groups: []string{"admin"}, Provider: "oidc"},
		},
		{
			name:  "a missing groups claim is no groups",
			id:    `{"sub":"u1"}`,
			claim: "groups",
			want:  User{Subject: "u1", Provider: "oidc"},
		},
		{
			name:  "a null groups claim is no groups",
			id:    `{"sub":"u1","groups":null}`,
			claim: "groups",
			want:  User{Subject: "u1", Provider: "oidc"},
		},
		{
			name:  "userinfo fills in what the ID token lacks",
			id:    `{"sub":"u1"}`,
			info:  `{"sub":"u1","email":"a@x","name":"A","groups":["eng"]}`,
			claim: "groups",
			want:  User{Subject: "u1", Email: "a@x", Name: "A", Groups: []string{"eng"}, Provider: "oidc"},
		},
		{
			name:  "the ID token wins over userinfo",
			id:    `{"sub":"u1","email":"id@x","groups":["from-id"]}`,
			info:  `{"sub":"u1","email":"info@x","groups":["from-info"]}`,
			claim: "groups",
			want:  User{Subject: "u1", Email: "id@x", Groups: []string{"from-id"}, Provider: "oidc"},
		},
		{
			name:  "preferred_username names a user without a name",
			id:    `{"sub":"u1","preferred_username":"alice"}`,
			claim: "groups",
			want:  User{Subject: "u1", Name: "alice", Provider: "oidc"},
		},
		{
			name:  "an email the provider says is unverified is dropped",
			id:    `{"sub":"u1","email":"boss@x","email_verified":false}`,
			claim: "groups",
			want:  User{Subject: "u1", Provider: "oidc"},
		},
		{
			name:  "an unverified email sent as a string is dropped too",
			id:    `{"sub":"u1","email":"boss@x","email_verified":"false"}`,
			claim: "groups",
			want:  User{Subject: "u1", Provider: "oidc"},
		},
		{
			name:  "a verified email is kept",
			id:    `{"sub":"u1","email":"a@x","email_verified":true}`,
			claim: "groups",
			want:  User{Subject: "u1", Email: "a@x", Provider: "oidc"},
		},
		{
			name:    "a groups claim that is an object fails the sign-in",
			id:      `{"sub":"u1","groups":{"eng":true}}`,
			claim:   "groups",
			wantErr: true,
		},
		{
			name:    "a groups list with a number in it fails the sign-in",
			id:      `{"sub":"u1","groups":["eng",7]}`,
			claim:   "groups",
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := userFrom(mustClaims(t, tt.id), mustClaims(t, tt.info), tt.claim)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error = %v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("user = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestNeedsUserinfo(t *testing.T) {
	tests := []struct {
		name string
		id   string
		want bool
	}{
		{name: "a complete ID token needs no userinfo", id: `{"sub":"u","email":"e","name":"n","groups":[]}`},
		{name: "an ID token without groups asks userinfo", id: `{"sub":"u","email":"e","name":"n"}`, want: true},
		{name: "an ID token without email asks userinfo", id: `{"sub":"u","name":"n","groups":[]}`, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := needsUserinfo(mustClaims(t, tt.id), "groups"); got != tt.want {
				t.Fatalf("needsUserinfo = %v, want %v", got, tt.want)
			}
		})
	}
}
