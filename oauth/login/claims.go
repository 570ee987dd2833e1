package login

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// claims is a decoded ID token or userinfo response, kept raw so that each claim is read with
// the type the spec gives it and a configured groups claim may have any name.
type claims map[string]json.RawMessage

func decodeClaims(v interface{ Claims(any) error }) (claims, error) {
	var c claims
	if err := v.Claims(&c); err != nil {
		return nil, err
	}
	return c, nil
}

func (c claims) has(name string) bool {
	raw, ok := c[name]
	return ok && !bytes.Equal(raw, []byte("null"))
}

// str returns a string claim, or "" when it is absent or not a string.
func (c claims) str(name string) string {
	var s string
	if raw, ok := c[name]; ok && json.Unmarshal(raw, &s) == nil {
		return s
	}
	return ""
}

// emailUnverified reports whether the provider says outright that the email is not verified.
// Some providers send the boolean as a string (AWS Cognito); an absent claim is not "false",
// since several enterprise IdPs only ever issue verified addresses and never send it.
func (c claims) emailUnverified() bool {
	raw, ok := c["email_verified"]
	if !ok {
		return false
	}
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return !b
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s == "false"
	}
	return false
}

// groups reads the configured groups claim: a list of strings or, as some providers send a
// single group, one string. Anything else fails the sign-in rather than silently dropping
// groups, since a policy may deny by group as well as allow.
func (c claims) groups(name string) ([]string, error) {
	raw, ok := c[name]
	if !ok || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err == nil {
		return list, nil
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		if one == "" {
			return nil, nil
		}
		return []string{one}, nil
	}
	return nil, fmt.Errorf("claim %q is neither a string nor a list of strings", name)
}

// userFrom maps ID token claims, completed by userinfo claims (nil when not fetched), to a User.
// The ID token wins where both have a claim: it is signed, userinfo is merely authenticated.
func userFrom(id, info claims, groupsClaim string) (User, error) {
	pick := func(name string) claims {
		if !id.has(name) && info.has(name) {
			return info
		}
		return id
	}
	u := User{Subject: id.str("sub"), Provider: "oidc"}
	src := pick("email")
	if !src.emailUnverified() {
		u.Email = src.str("email")
	}
	u.Name = pick("name").str("name")
	if u.Name == "" {
		u.Name = pick("preferred_username").str("preferred_username")
	}
	groups, err := pick(groupsClaim).groups(groupsClaim)
	if err != nil {
		return User{}, err
	}
	u.Groups = groups
	return u, nil
}

// needsUserinfo reports whether the ID token lacks a claim the user info endpoint may have.
// Many providers keep profile claims out of ID tokens issued next to an access token (OIDC Core
// §5.4), and large group lists often live only at userinfo.
func needsUserinfo(id claims, groupsClaim string) bool {
	return !id.has("email") || !id.has("name") || !id.has(groupsClaim)
}
