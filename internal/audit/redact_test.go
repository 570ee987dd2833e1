package audit

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
)

// Secrets used across the redaction tests: none of them may survive in a stored event or a log
// line.
var testSecrets = []string{
	"eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9",                             // JWT header
	"eyJzdWIiOiJhbGljZSIsImV4cCI6MTcwMDAwMDAwMH0",                      // JWT payload
	"c2lnbmF0dXJlLWJ5dGVzLWhlcmUtYW5kLW1vcmU",                          // JWT signature
	"opaque-bearer-value",                                              // after "Bearer "
	"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", // hex key
	"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",                         // AWS-style secret
	"ghp_16C7e42F292c6912E7710c838347Ae178B4a",                         // GitHub token
	"MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",                                 // PEM body
	"hunter2",                                                          // under a password key
	"k-123",                                                            // nested api_key
	"tok_live_12345",                                                   // inside a curl command
	"s3cretpw",                                                         // URL userinfo
	"hunter22",                                                         // key=value in a DSN
	"dXNlcjpwYXNz",                                                     // Basic credentials
	"cookie-jar-value",                                                 // nested under cookie
	"raw-secret",                                                       // inside json.RawMessage
	"typed-secret",                                                     // inside a typed map
	"Ym9iOnBhNTV3b3Jk",                                                 // Basic inside a command
}

const testJWT = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MTcwMDAwMDAwMH0.c2lnbmF0dXJlLWJ5dGVzLWhlcmUtYW5kLW1vcmU"

// SecretArguments returns arguments of many shapes, each hiding one of testSecrets.
func secretArguments() map[string]any {
	return map[string]any{
		"id_token":   testJWT,
		"note":       "use " + testJWT + " for the call",
		"header":     "Bearer opaque-bearer-value",
		"digest_key": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		"aws":        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"gh":         "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
		"pem":        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----",
		"password":   "hunter2",
		"config":     map[string]any{"db": map[string]any{"api_key": "k-123", "port": 5432.0}},
		"command":    "curl -H 'Authorization: Bearer tok_live_12345' https://api.example.com",
		"wget":       "wget --header='Authorization: Basic Ym9iOnBhNTV3b3Jk' https://x.example",
		"url":        "postgres://admin:s3cretpw@db.internal:5432/app",
		"dsn":        "host=db password=hunter22 sslmode=require",
		"headers":    []any{map[string]any{"Authorization": "Basic dXNlcjpwYXNz"}},
		"jar":        map[string]any{"Cookie": map[string]any{"sid": "cookie-jar-value"}},
		"raw":        json.RawMessage(`{"nested":{"client_secret":"raw-secret"}}`),
		"typed":      map[string]string{"x-api-key": "typed-secret"},
		testJWT:      "a JWT as a key",
	}
}

// Values that must survive full mode untouched.
var keptArguments = map[string]any{
	"city":  "Paris",
	"count": 3.0,
	"query": "select * from notes where id = 5",
	"uuid":  "123e4567-e89b-12d3-a456-426614174000",
	"path":  "/home/user/projects/vmcp/internal/audit/recorder.go",
	"link":  "https://example.com/a?b=c",
	"host":  "www.example.com",
	"prose": "The bearer bonds were never found.",
	"flag":  true,
	"list":  []any{"a", 1.0, nil},
	"words": "getUserAccountSettingsForTenantAlpha",
	"basic": "Basic usage: call it with a city name.",
}

func TestFullModeRedactsEverySecretShape(t *testing.T) {
	args := secretArguments()
	for k, v := range keptArguments {
		args[k] = v
	}
	got := applyArguments(ArgumentsFull, args)
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	for _, s := range testSecrets {
		if strings.Contains(out, s) {
			t.Errorf("secret %q survived redaction:\n%s", s, out)
		}
	}
	for k, v := range keptArguments {
		want, _ := json.Marshal(v)
		have, _ := json.Marshal(got[k])
		if string(want) != string(have) {
			t.Errorf("%s = %s, want it kept as %s", k, have, want)
		}
	}
	// The shape stays readable: what was redacted, and where.
	for k, want := range map[string]any{
		"password": Redacted,
		"id_token": Redacted,
		"note":     "use " + Redacted + " for the call",
		"header":   "Bearer " + Redacted,
		"url":      "postgres://admin:" + Redacted + "@db.internal:5432/app",
		"dsn":      "host=db password=" + Redacted + " sslmode=require",
	} {
		if got[k] != want {
			t.Errorf("%s = %#v, want %#v", k, got[k], want)
		}
	}
	if port := got["config"].(map[string]any)["db"].(map[string]any)["port"]; port != 5432.0 {
		t.Errorf("a number beside a secret was changed: %v", port)
	}
	if _, ok := got[Redacted]; !ok {
		t.Errorf("a JWT used as a key was not replaced: %v", keys(got))
	}
}

func TestFullModeLeavesTheCallersMapAlone(t *testing.T) {
	args := map[string]any{"password": "hunter2", "nested": map[string]any{"token": "x1234567"}}
	applyArguments(ArgumentsFull, args)
	if args["password"] != "hunter2" || args["nested"].(map[string]any)["token"] != "x1234567" {
		t.Errorf("caller's arguments modified: %v", args)
	}
}

func TestKeysModeKeepsNamesOnly(t *testing.T) {
	got := applyArguments(ArgumentsKeys, map[string]any{"city": "Paris", "password": "hunter2", testJWT: 1})
	if len(got) != 3 {
		t.Fatalf("got %v", got)
	}
	for k, v := range got {
		if v != nil {
			t.Errorf("%s = %v, want null", k, v)
		}
		if strings.Contains(k, "eyJ") {
			t.Errorf("a JWT used as a key survived keys mode: %q", k)
		}
	}
	if _, ok := got["password"]; !ok {
		t.Errorf("key names are kept: %v", keys(got))
	}
}

func TestOffModeRecordsNothing(t *testing.T) {
	if got := applyArguments(ArgumentsOff, map[string]any{"city": "Paris"}); got != nil {
		t.Errorf("got %v", got)
	}
}

func TestRedactedKeysDoNotCollide(t *testing.T) {
	other := strings.Replace(testJWT, "c2ln", "ZZZZ", 1)
	got := applyArguments(ArgumentsFull, map[string]any{testJWT: "a", other: "b"})
	if len(got) != 2 {
		t.Errorf("two secret keys collapsed into one: %v", keys(got))
	}
}

func TestSecretKeyNames(t *testing.T) {
	for _, k := range []string{"token", "access_token", "refreshToken", "client_secret", "Password", "passwd", "apiKey", "api-key", "x_api_key", "Authorization", "Set-Cookie", "credentials", "private_key", "privateKey", "session_id", "SESSION"} {
		if got := applyArguments(ArgumentsFull, map[string]any{k: "plain"}); got[k] != Redacted {
			t.Errorf("key %q: value %v, want redacted", k, got[k])
		}
	}
	for _, k := range []string{"city", "author", "keyword", "description", "passage"} {
		if got := applyArguments(ArgumentsFull, map[string]any{k: "plain"}); got[k] != "plain" {
			t.Errorf("key %q: value %v, want kept", k, got[k])
		}
	}
}

func TestDeepNestingIsCutOff(t *testing.T) {
	var v any = "leaf"
	for range 100 {
		v = []any{v}
	}
	got := applyArguments(ArgumentsFull, map[string]any{"deep": v})
	b, _ := json.Marshal(got)
	if strings.Contains(string(b), "leaf") || !strings.Contains(string(b), Redacted) {
		t.Errorf("nesting beyond %d levels was walked: %.80s…", maxDepth, b)
	}
}

func TestTextFieldsLoseCredentialsButKeepProse(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:pw12345@files.example.com/a.txt": "https://user:" + Redacted + "@files.example.com/a.txt",
		"invalid token: expired":                       "invalid token: expired",
		"upstream said: Bearer abc123defg rejected":    "upstream said: Bearer " + Redacted + " rejected",
		"notes__get_weather":                           "notes__get_weather",
	} {
		if got := redactString(in, false); got != want {
			t.Errorf("redactString(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCleanMakesTextStorable(t *testing.T) {
	for in, want := range map[string]string{
		"plain":        "plain",
		"a\x00b":       "ab",
		"caf\xe9":      "caf\uFFFD",
		"ünïcödé":      "ünïcödé",
		"\x00\xff\x00": "\uFFFD",
	} {
		if got := clean(in); got != want {
			t.Errorf("clean(%q) = %q, want %q", in, got, want)
		}
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestValuesJSONCannotHoldStillEncode(t *testing.T) {
	got := applyArguments(ArgumentsFull, map[string]any{
		"nan": math.NaN(), "inf": math.Inf(1), "num": json.Number("12.5"), "notnum": json.Number("true"),
		"fn": func() {}, "ch": make(chan int),
	})
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatalf("redacted arguments do not encode: %v", err)
	}
	want := `{"ch":"[redacted]","fn":"[redacted]","inf":"+Inf","nan":"NaN","notnum":"true","num":12.5}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}

func TestLongValuesAreCutAfterRedaction(t *testing.T) {
	// A JWT straddling the cut is recognised in full and redacted, not cut into pieces that no
	// longer look like a JWT.
	long := strings.Repeat("x ", (maxString-40)/2) + testJWT + strings.Repeat(" y", 5000)
	got := applyArguments(ArgumentsFull, map[string]any{"text": long, "name": strings.Repeat("k", 1000)})
	text := got["text"].(string)
	if !strings.HasSuffix(text, "…"+Truncated) || len(text) > maxString+len("…"+Truncated) {
		t.Errorf("long value not cut: %d bytes, ends %q", len(text), text[len(text)-20:])
	}
	for _, s := range []string{"eyJhbGci", "c2lnbmF0", "eyJzdWIi"} {
		if strings.Contains(text, s) {
			t.Errorf("part of a JWT at the cut survived: %q", s)
		}
	}
	if !strings.Contains(text, Redacted) {
		t.Error("the JWT at the cut was not redacted")
	}
}

func TestArgumentsHaveAByteBudget(t *testing.T) {
	args := map[string]any{}
	for i := range 100 {
		args[strconv.Itoa(i)] = strings.Repeat("v", maxString)
	}
	for _, mode := range []ArgumentMode{ArgumentsFull, ArgumentsKeys} {
		got := applyArguments(mode, args)
		b, _ := json.Marshal(got)
		if len(b) > argumentBudget+2*maxString {
			t.Errorf("%s: %d bytes recorded, budget %d", mode, len(b), argumentBudget)
		}
		if mode == ArgumentsFull && !strings.Contains(string(b), Truncated) {
			t.Errorf("%s: nothing marked truncated", mode)
		}
	}
	many := map[string]any{}
	for i := range 20000 {
		many[strings.Repeat("k", 10)+strconv.Itoa(i)] = 1
	}
	if got := applyArguments(ArgumentsKeys, many); len(got) >= 20000 {
		t.Errorf("keys mode kept all %d names", len(got))
	} else if _, ok := got[Truncated]; !ok {
		t.Error("keys mode does not say names were left out")
	}
}
