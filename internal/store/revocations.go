package store

import (
	"fmt"
	"time"
)

// RevocationKind says what a revocation names.
type RevocationKind string

const (
	// RevokedToken names one access token by its jti.
	RevokedToken RevocationKind = "jti"
	// RevokedFamily names every access token a refresh family issued, by the family's fid
	// claim.
	RevokedFamily RevocationKind = "fid"
)

// Revocation is one entry of the revocation list: tokens it names are refused until Expires,
// after which they would be refused as expired anyway.
type Revocation struct {
	Kind    RevocationKind
	ID      string
	Expires time.Time
}

// RevocationsVersion identifies the revocation list's content: any revocation added or
// expired away changes it, so a reader rereads the list only when it changed.
type RevocationsVersion struct {
	Count   int64
	LastSeq int64
}

// scanRevocations reads every row of a revocations query.
func scanRevocations(rs rows) ([]Revocation, error) {
	var out []Revocation
	for rs.Next() {
		var r Revocation
		var expires int64
		if err := rs.Scan(&r.Kind, &r.ID, &expires); err != nil {
			return nil, fmt.Errorf("store: read revocation: %w", err)
		}
		r.Expires = time.Unix(expires, 0)
		out = append(out, r)
	}
	return out, rs.Err()
}
