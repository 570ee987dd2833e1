package audit

import (
	"strings"
	"time"
	"unicode/utf8"
)

// maxField is the longest text field kept (a resource URI, a method name, a reason).
const maxField = 2048

// prepare turns what a caller recorded into what is stored: id and time filled in, text fields
// made storable, secrets redacted, arguments reduced to the configured mode. It runs on the
// request path, so it allocates only when there is something to change.
func prepare(ev *Event, mode ArgumentMode, now func() time.Time) {
	if ev.Time.IsZero() {
		ev.Time = now().UTC()
	}
	if ev.ID == "" {
		ev.ID = NewID(ev.Time)
	}
	// Some fields come from the client (method, resource URI): bounded, like arguments.
	for _, f := range []*string{
		&ev.ID, &ev.RequestID, &ev.Subject, &ev.Email, &ev.ClientID, &ev.VirtualServer,
		&ev.Connector, &ev.Method, &ev.Decision, &ev.Policy, &ev.Outcome,
	} {
		*f = clean(prefix(*f, maxField))
	}
	ev.Target = SafeText(ev.Target)
	ev.Reason = SafeText(ev.Reason)
	ev.Arguments = applyArguments(mode, ev.Arguments)
}

// SafeText is what an event's Target or Reason becomes when recorded: bounded, storable, with
// secret-looking parts redacted. A resource URI can carry credentials (https://user:pass@host/…)
// and a reason can quote an upstream error; both get the detectors that do not misread prose.
// Whatever else shows these fields (a trace span) shows them as this returns them.
func SafeText(s string) string {
	return redactString(clean(prefix(s, maxField)), false)
}

// clean makes s storable everywhere: PostgreSQL refuses NUL in text (and \u0000 in JSON), and
// invalid UTF-8 fails both its text columns and JSON encoding. One event like that would fail
// every batch it is in, over and over, so it is repaired here rather than retried forever.
func clean(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
		}
		if s[i] >= utf8.RuneSelf {
			ascii = false
		}
	}
	if ascii || utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
