package admin

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// paramError is a 400 that names the parameter at fault.
type paramError struct {
	param, msg string
}

func (e *paramError) Error() string { return e.param + ": " + e.msg }

func badParam(p, format string, args ...any) error {
	return &paramError{param: p, msg: fmt.Sprintf(format, args...)}
}

// params reads a query string against the parameters an endpoint knows: an unknown or repeated
// one is an error (a typo like "usr=alice" silently returning everyone's events would mislead).
type params struct {
	v     url.Values
	known []string
}

func newParams(q url.Values, known ...string) (*params, error) {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(known, k) {
			return nil, badParam(k, "unknown parameter (known: %s)", strings.Join(known, ", "))
		}
		if len(q[k]) > 1 {
			return nil, badParam(k, "given %d times; give it once", len(q[k]))
		}
	}
	return &params{v: q, known: known}, nil
}

func (p *params) str(name string) string { return p.v.Get(name) }

// oneOf returns the value when it is empty or one of allowed.
func (p *params) oneOf(name string, allowed ...string) (string, error) {
	v := p.v.Get(name)
	if v != "" && !slices.Contains(allowed, v) {
		return "", badParam(name, "%q is not one of %s", v, strings.Join(allowed, ", "))
	}
	return v, nil
}

// time parses an RFC 3339 time; zero when absent.
func (p *params) time(name string) (time.Time, error) {
	v := p.v.Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, badParam(name, "%q is not an RFC 3339 time (e.g. 2026-01-02T15:04:05Z)", v)
	}
	return t, nil
}

// intIn parses an integer in [lo, hi]; def when absent.
func (p *params) intIn(name string, def, lo, hi int) (int, error) {
	v := p.v.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, badParam(name, "%q is not a whole number from %d to %d", v, lo, hi)
	}
	return n, nil
}

// canonical is the accepted query without the given parameters, for the audit record.
func (p *params) canonical(without ...string) string {
	q := url.Values{}
	for k, v := range p.v {
		if !slices.Contains(without, k) && len(v) > 0 && v[0] != "" {
			q[k] = v
		}
	}
	return q.Encode()
}

// window checks since < until when both are given.
func window(since, until time.Time) error {
	if !since.IsZero() && !until.IsZero() && !since.Before(until) {
		return badParam("until", "must be later than since")
	}
	return nil
}
