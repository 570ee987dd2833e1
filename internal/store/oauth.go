package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// OAuth authorization server state. Single-use state (codes, refresh tokens) is taken with one
// DELETE/UPDATE … RETURNING statement, so that of concurrent takers exactly one wins, on either
// database and across replicas.

// PutClient stores a dynamically registered client.
func (s *sqlStore) PutClient(ctx context.Context, clientID string, metadataJSON []byte, secretHash []byte) error {
	_, err := s.c.exec(ctx, `INSERT INTO oauth_clients (client_id, metadata, secret_hash, created_at) VALUES (?, ?, ?, ?)`,
		clientID, string(metadataJSON), secretHash, time.Now().Unix())
	if err != nil {
		return fmt.Errorf("store: put client: %w", err)
	}
	return nil
}

// Client returns a registered client's metadata and secret hash.
func (s *sqlStore) Client(ctx context.Context, clientID string) (metadataJSON, secretHash []byte, err error) {
	var meta string
	err = s.c.queryRow(ctx, `SELECT metadata, secret_hash FROM oauth_clients WHERE client_id = ?`, clientID).Scan(&meta, &secretHash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, ErrNotFound
	}
	if err != nil {
		return nil, nil, fmt.Errorf("store: get client: %w", err)
	}
	return []byte(meta), secretHash, nil
}

// PutGrant stores short-lived single-use state of a kind ("pending", "code") under the hash of
// key, until expires.
func (s *sqlStore) PutGrant(ctx context.Context, kind, key string, value []byte, expires time.Time) error {
	_, err := s.c.exec(ctx, `INSERT INTO oauth_grants (kind, key_hash, value, expires_at) VALUES (?, ?, ?, ?)`,
		kind, hashKey(key), string(value), expires.Unix())
	if err != nil {
		return fmt.Errorf("store: put %s: %w", kind, err)
	}
	return nil
}

// Grant reads a grant without taking it.
func (s *sqlStore) Grant(ctx context.Context, kind, key string) ([]byte, error) {
	var v string
	err := s.c.queryRow(ctx, `SELECT value FROM oauth_grants WHERE kind = ? AND key_hash = ? AND expires_at >= ?`,
		kind, hashKey(key), time.Now().Unix()).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: get %s: %w", kind, err)
	}
	return []byte(v), nil
}

// TakeGrant reads and deletes a grant in one statement, so of two concurrent redemptions of the
// same authorization code exactly one succeeds. An expired grant is deleted all the same: it can
// never be redeemed.
func (s *sqlStore) TakeGrant(ctx context.Context, kind, key string) ([]byte, error) {
	var v string
	var expires int64
	err := s.c.queryRow(ctx, `DELETE FROM oauth_grants WHERE kind = ? AND key_hash = ? RETURNING value, expires_at`,
		kind, hashKey(key)).Scan(&v, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: take %s: %w", kind, err)
	}
	if time.Now().Unix() > expires {
		return nil, ErrNotFound
	}
	return []byte(v), nil
}

// HasConsent reports whether subject allowed clientID onto resource before.
func (s *sqlStore) HasConsent(ctx context.Context, subject, clientID, resource string) (bool, error) {
	var ok bool
	err := s.c.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM oauth_consents WHERE subject = ? AND client_id = ? AND resource = ?)`,
		subject, clientID, resource).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("store: consent: %w", err)
	}
	return ok, nil
}

// PutConsent remembers that subject allowed clientID onto resource.
func (s *sqlStore) PutConsent(ctx context.Context, subject, clientID, resource string) error {
	_, err := s.c.exec(ctx, `INSERT INTO oauth_consents (subject, client_id, resource, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		subject, clientID, resource, time.Now().Unix())
	if err != nil {
		return fmt.Errorf("store: put consent: %w", err)
	}
	return nil
}

// PutRefreshToken stores a new refresh token (by hash) in family.
func (s *sqlStore) PutRefreshToken(ctx context.Context, token, family string, grant []byte, expires time.Time) error {
	_, err := s.c.exec(ctx, `INSERT INTO oauth_refresh_tokens (token_hash, family, grant_data, expires_at) VALUES (?, ?, ?, ?)`,
		hashKey(token), family, string(grant), expires.Unix())
	if err != nil {
		return fmt.Errorf("store: put refresh token: %w", err)
	}
	return nil
}

// UseRefreshToken marks a refresh token used and returns its family and grant. A token that was
// already used or revoked returns ErrReused together with its family, so that the caller can
// revoke the family; an unknown or expired token returns ErrNotFound.
func (s *sqlStore) UseRefreshToken(ctx context.Context, token string) (family string, grant []byte, err error) {
	now := time.Now().Unix()
	var g string
	err = s.c.queryRow(ctx, `UPDATE oauth_refresh_tokens SET used_at = ?
		WHERE token_hash = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at >= ?
		RETURNING family, grant_data`, now, hashKey(token), now).Scan(&family, &g)
	if err == nil {
		return family, []byte(g), nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", nil, fmt.Errorf("store: use refresh token: %w", err)
	}
	var used, revoked sql.NullInt64
	err = s.c.queryRow(ctx, `SELECT family, used_at, revoked_at FROM oauth_refresh_tokens WHERE token_hash = ?`,
		hashKey(token)).Scan(&family, &used, &revoked)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", nil, ErrNotFound
	case err != nil:
		return "", nil, fmt.Errorf("store: use refresh token: %w", err)
	case used.Valid || revoked.Valid:
		return family, nil, ErrReused
	default:
		return "", nil, ErrNotFound // expired
	}
}

// RevokeRefreshFamily revokes every refresh token of a family.
func (s *sqlStore) RevokeRefreshFamily(ctx context.Context, family string) error {
	_, err := s.c.exec(ctx, `UPDATE oauth_refresh_tokens SET revoked_at = ? WHERE family = ? AND revoked_at IS NULL`,
		time.Now().Unix(), family)
	if err != nil {
		return fmt.Errorf("store: revoke refresh family: %w", err)
	}
	return nil
}

// RefreshFamily returns the family of a refresh token, used or not (for revocation).
func (s *sqlStore) RefreshFamily(ctx context.Context, token string) (string, error) {
	var family string
	err := s.c.queryRow(ctx, `SELECT family FROM oauth_refresh_tokens WHERE token_hash = ?`, hashKey(token)).Scan(&family)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("store: refresh family: %w", err)
	}
	return family, nil
}

// SigningKeys returns all stored signing keys, newest first.
func (s *sqlStore) SigningKeys(ctx context.Context) ([]SigningKey, error) {
	rows, err := s.c.query(ctx, `SELECT kid, private_der, created_at FROM signing_keys ORDER BY created_at DESC, kid`+s.d.byteOrder)
	if err != nil {
		return nil, fmt.Errorf("store: signing keys: %w", err)
	}
	defer rows.Close()
	var out []SigningKey
	for rows.Next() {
		var k SigningKey
		var created int64
		if err := rows.Scan(&k.KID, &k.PrivateDER, &created); err != nil {
			return nil, fmt.Errorf("store: signing keys: %w", err)
		}
		k.Created = time.Unix(created, 0)
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: signing keys: %w", err)
	}
	return out, nil
}

// AddSigningKey stores a new signing key.
func (s *sqlStore) AddSigningKey(ctx context.Context, k SigningKey) error {
	_, err := s.c.exec(ctx, `INSERT INTO signing_keys (kid, private_der, created_at) VALUES (?, ?, ?)`, k.KID, k.PrivateDER, k.Created.Unix())
	if err != nil {
		return fmt.Errorf("store: add signing key: %w", err)
	}
	return nil
}

// DeleteExpired removes grants past their expiry and refresh tokens past theirs.
func (s *sqlStore) DeleteExpired(ctx context.Context) error {
	now := time.Now().Unix()
	if _, err := s.c.exec(ctx, `DELETE FROM oauth_grants WHERE expires_at < ?`, now); err != nil {
		return fmt.Errorf("store: delete expired grants: %w", err)
	}
	if _, err := s.c.exec(ctx, `DELETE FROM oauth_refresh_tokens WHERE expires_at < ?`, now); err != nil {
		return fmt.Errorf("store: delete expired refresh tokens: %w", err)
	}
	if _, err := s.c.exec(ctx, `DELETE FROM ended_sessions WHERE expires_at < ?`, now); err != nil {
		return fmt.Errorf("store: delete expired ended sessions: %w", err)
	}
	if _, err := s.c.exec(ctx, `DELETE FROM token_revocations WHERE expires_at < ?`, now); err != nil {
		return fmt.Errorf("store: delete expired revocations: %w", err)
	}
	return nil
}

// RefreshGrant returns the grant data of a refresh token, used or not.
func (s *sqlStore) RefreshGrant(ctx context.Context, token string) ([]byte, error) {
	var g string
	err := s.c.queryRow(ctx, `SELECT grant_data FROM oauth_refresh_tokens WHERE token_hash = ?`, hashKey(token)).Scan(&g)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: refresh grant: %w", err)
	}
	return []byte(g), nil
}

// Revoke adds r to the revocation list.
func (s *sqlStore) Revoke(ctx context.Context, r Revocation) error {
	_, err := s.c.exec(ctx, `INSERT INTO token_revocations (kind, id, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (kind, id) DO UPDATE SET expires_at = `+s.d.greatest+`(token_revocations.expires_at, excluded.expires_at)`,
		string(r.Kind), r.ID, r.Expires.Unix())
	if err != nil {
		return fmt.Errorf("store: revoke: %w", err)
	}
	return nil
}

// Revocations returns the live revocations.
func (s *sqlStore) Revocations(ctx context.Context) ([]Revocation, error) {
	rows, err := s.c.query(ctx, `SELECT kind, id, expires_at FROM token_revocations WHERE expires_at >= ?`, time.Now().Unix())
	if err != nil {
		return nil, fmt.Errorf("store: revocations: %w", err)
	}
	defer rows.Close()
	return scanRevocations(rows)
}

// RevocationsVersion identifies the revocation list's content. A row committed late with a
// lower seq still changes the count.
func (s *sqlStore) RevocationsVersion(ctx context.Context) (RevocationsVersion, error) {
	var v RevocationsVersion
	if err := s.c.queryRow(ctx, `SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM token_revocations`).Scan(&v.Count, &v.LastSeq); err != nil {
		return v, fmt.Errorf("store: revocations version: %w", err)
	}
	return v, nil
}
