package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// The PostgreSQL twin of sqlite_oauth.go: the same statements in PostgreSQL's dialect. Single-use
// state is taken with one DELETE/UPDATE … RETURNING: under READ COMMITTED a second, concurrent
// statement waits for the first's row lock, re-checks its WHERE clause against the committed row
// and finds nothing, so exactly one caller wins on any replica.

func (s *pgStore) PutClient(ctx context.Context, clientID string, metadataJSON []byte, secretHash []byte) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO oauth_clients (client_id, metadata, secret_hash, created_at) VALUES ($1, $2, $3, $4)`,
		clientID, string(metadataJSON), secretHash, time.Now().Unix())
	if err != nil {
		return fmt.Errorf("store: put client: %w", err)
	}
	return nil
}

func (s *pgStore) Client(ctx context.Context, clientID string) (metadataJSON, secretHash []byte, err error) {
	var meta string
	err = s.pool.QueryRow(ctx, `SELECT metadata, secret_hash FROM oauth_clients WHERE client_id = $1`, clientID).Scan(&meta, &secretHash)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, ErrNotFound
	}
	if err != nil {
		return nil, nil, fmt.Errorf("store: get client: %w", err)
	}
	return []byte(meta), secretHash, nil
}

func (s *pgStore) PutGrant(ctx context.Context, kind, key string, value []byte, expires time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO oauth_grants (kind, key_hash, value, expires_at) VALUES ($1, $2, $3, $4)`,
		kind, hashKey(key), string(value), expires.Unix())
	if err != nil {
		return fmt.Errorf("store: put %s: %w", kind, err)
	}
	return nil
}

func (s *pgStore) Grant(ctx context.Context, kind, key string) ([]byte, error) {
	var v string
	err := s.pool.QueryRow(ctx, `SELECT value FROM oauth_grants WHERE kind = $1 AND key_hash = $2 AND expires_at >= $3`,
		kind, hashKey(key), time.Now().Unix()).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: get %s: %w", kind, err)
	}
	return []byte(v), nil
}

func (s *pgStore) TakeGrant(ctx context.Context, kind, key string) ([]byte, error) {
	var v string
	var expires int64
	err := s.pool.QueryRow(ctx, `DELETE FROM oauth_grants WHERE kind = $1 AND key_hash = $2 RETURNING value, expires_at`,
		kind, hashKey(key)).Scan(&v, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: take %s: %w", kind, err)
	}
	// An expired grant is deleted all the same: it can never be redeemed.
	if time.Now().Unix() > expires {
		return nil, ErrNotFound
	}
	return []byte(v), nil
}

func (s *pgStore) HasConsent(ctx context.Context, subject, clientID, resource string) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM oauth_consents WHERE subject = $1 AND client_id = $2 AND resource = $3)`,
		subject, clientID, resource).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("store: consent: %w", err)
	}
	return ok, nil
}

func (s *pgStore) PutConsent(ctx context.Context, subject, clientID, resource string) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO oauth_consents (subject, client_id, resource, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
		subject, clientID, resource, time.Now().Unix())
	if err != nil {
		return fmt.Errorf("store: put consent: %w", err)
	}
	return nil
}

func (s *pgStore) PutRefreshToken(ctx context.Context, token, family string, grant []byte, expires time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO oauth_refresh_tokens (token_hash, family, grant_data, expires_at) VALUES ($1, $2, $3, $4)`,
		hashKey(token), family, string(grant), expires.Unix())
	if err != nil {
		return fmt.Errorf("store: put refresh token: %w", err)
	}
	return nil
}

func (s *pgStore) UseRefreshToken(ctx context.Context, token string) (family string, grant []byte, err error) {
	now := time.Now().Unix()
	var g string
	err = s.pool.QueryRow(ctx, `UPDATE oauth_refresh_tokens SET used_at = $1
		WHERE token_hash = $2 AND used_at IS NULL AND revoked_at IS NULL AND expires_at >= $1
		RETURNING family, grant_data`, now, hashKey(token)).Scan(&family, &g)
	if err == nil {
		return family, []byte(g), nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return "", nil, fmt.Errorf("store: use refresh token: %w", err)
	}
	var used, revoked *int64
	err = s.pool.QueryRow(ctx, `SELECT family, used_at, revoked_at FROM oauth_refresh_tokens WHERE token_hash = $1`,
		hashKey(token)).Scan(&family, &used, &revoked)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return "", nil, ErrNotFound
	case err != nil:
		return "", nil, fmt.Errorf("store: use refresh token: %w", err)
	case used != nil || revoked != nil:
		return family, nil, ErrReused
	default:
		return "", nil, ErrNotFound // expired
	}
}

func (s *pgStore) RevokeRefreshFamily(ctx context.Context, family string) error {
	_, err := s.pool.Exec(ctx, `UPDATE oauth_refresh_tokens SET revoked_at = $1 WHERE family = $2 AND revoked_at IS NULL`,
		time.Now().Unix(), family)
	if err != nil {
		return fmt.Errorf("store: revoke refresh family: %w", err)
	}
	return nil
}

func (s *pgStore) RefreshFamily(ctx context.Context, token string) (string, error) {
	var family string
	err := s.pool.QueryRow(ctx, `SELECT family FROM oauth_refresh_tokens WHERE token_hash = $1`, hashKey(token)).Scan(&family)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("store: refresh family: %w", err)
	}
	return family, nil
}

func (s *pgStore) RefreshGrant(ctx context.Context, token string) ([]byte, error) {
	var g string
	err := s.pool.QueryRow(ctx, `SELECT grant_data FROM oauth_refresh_tokens WHERE token_hash = $1`, hashKey(token)).Scan(&g)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: refresh grant: %w", err)
	}
	return []byte(g), nil
}

func (s *pgStore) SigningKeys(ctx context.Context) ([]SigningKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT kid, private_der, created_at FROM signing_keys ORDER BY created_at DESC, kid COLLATE "C"`)
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

func (s *pgStore) AddSigningKey(ctx context.Context, k SigningKey) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO signing_keys (kid, private_der, created_at) VALUES ($1, $2, $3)`, k.KID, k.PrivateDER, k.Created.Unix())
	if err != nil {
		return fmt.Errorf("store: add signing key: %w", err)
	}
	return nil
}

func (s *pgStore) DeleteExpired(ctx context.Context) error {
	now := time.Now().Unix()
	if _, err := s.pool.Exec(ctx, `DELETE FROM oauth_grants WHERE expires_at < $1`, now); err != nil {
		return fmt.Errorf("store: delete expired grants: %w", err)
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM oauth_refresh_tokens WHERE expires_at < $1`, now); err != nil {
		return fmt.Errorf("store: delete expired refresh tokens: %w", err)
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM ended_sessions WHERE expires_at < $1`, now); err != nil {
		return fmt.Errorf("store: delete expired ended sessions: %w", err)
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM token_revocations WHERE expires_at < $1`, now); err != nil {
		return fmt.Errorf("store: delete expired revocations: %w", err)
	}
	return nil
}

// Revoke adds r to the revocation list.
func (s *pgStore) Revoke(ctx context.Context, r Revocation) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO token_revocations (kind, id, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (kind, id) DO UPDATE SET expires_at = GREATEST(token_revocations.expires_at, excluded.expires_at)`,
		string(r.Kind), r.ID, r.Expires.Unix())
	if err != nil {
		return fmt.Errorf("store: revoke: %w", err)
	}
	return nil
}

// Revocations returns the live revocations.
func (s *pgStore) Revocations(ctx context.Context) ([]Revocation, error) {
	rows, err := s.pool.Query(ctx, `SELECT kind, id, expires_at FROM token_revocations WHERE expires_at >= $1`, time.Now().Unix())
	if err != nil {
		return nil, fmt.Errorf("store: revocations: %w", err)
	}
	defer rows.Close()
	return scanRevocations(rows)
}

// RevocationsVersion identifies the revocation list's content. A row committed late with a
// lower seq still changes the count.
func (s *pgStore) RevocationsVersion(ctx context.Context) (RevocationsVersion, error) {
	var v RevocationsVersion
	if err := s.pool.QueryRow(ctx, `SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM token_revocations`).Scan(&v.Count, &v.LastSeq); err != nil {
		return v, fmt.Errorf("store: revocations version: %w", err)
	}
	return v, nil
}
