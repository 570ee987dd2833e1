package audit

import "errors"

// ErrBadCursor is what a Store returns (wrapped or as is) from QueryAuditEvents for a cursor it
// did not hand out, so that an API can answer 400 without knowing which backend is in use.
var ErrBadCursor = errors.New("audit: bad cursor")
