package oauth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/vmcp-dev/vmcp/internal/store"
	"github.com/vmcp-dev/vmcp/internal/tokens"
	"github.com/vmcp-dev/vmcp/oauth/login"
)

// refreshGrant is what a refresh token stands for.
type refreshGrant struct {
	ClientID string     `json:"client_id"`
	Resource string     `json:"resource"`
	Scope    string     `json:"scope"`
	User     login.User `json:"user"`
	// SignedInAt (Unix seconds) is when the user signed in for this grant's family: the groups
	// in User are from then, so the family ends auth.sign_in_max_age later.
	SignedInAt int64 `json:"signed_in_at"`
	// Issuer is the issuer the client signed in with; its tokens keep it across refreshes.
	Issuer string `json:"issuer,omitempty"`
}

// token is the token endpoint (RFC 6749 §3.2): authorization_code with PKCE, refresh_token with
// rotation.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	setup := s.current(w)
	if setup == nil {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "malformed token request")
		return
	}
	cl, ok := s.authenticateClient(w, r, setup)
	if !ok {
		return
	}
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		s.exchangeCode(w, r, setup, cl)
	case "refresh_token":
		s.refresh(w, r, setup, cl)
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token")
	}
}

// authenticateClient identifies the client: a confidential client by its secret (Basic or form),
// a public client by its id alone — PKCE then binds the code to it.
func (s *Server) authenticateClient(w http.ResponseWriter, r *http.Request, setup *setup) (*client, bool) {
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "client_id is required")
		return nil, false
	}
	cl, err := s.lookupClient(r.Context(), setup, id)
	if err != nil {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "unknown client")
		return nil, false
	}
	if cl.secretHash != nil && !cl.checkSecret(secret) {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return nil, false
	}
	return cl, true
}

func (s *Server) exchangeCode(w http.ResponseWriter, r *http.Request, setup *setup, cl *client) {
	f := r.PostForm
	raw, err := s.store.TakeGrant(r.Context(), "code", f.Get("code"))
	if err != nil {
		// Unknown, expired, or already redeemed: a code works once (RFC 6749 §4.1.2).
		oauthError(w, http.StatusBadRequest, "invalid_grant", "the authorization code is invalid, expired or already used")
		return
	}
	var g codeGrant
	if err := json.Unmarshal(raw, &g); err != nil {
		oauthError(w, http.StatusInternalServerError, "server_error", "stored grant unreadable")
		return
	}
	switch {
	case g.ClientID != cl.id:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "the code was issued to another client")
	case f.Get("redirect_uri") != "" && f.Get("redirect_uri") != g.RedirectURI:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri does not match the authorization request")
	case !pkceMatches(f.Get("code_verifier"), g.CodeChallenge):
		oauthError(w, http.StatusBadRequest, "invalid_grant", "code_verifier does not match the code_challenge")
	case f.Get("resource") != "" && strings.TrimSuffix(f.Get("resource"), "/") != g.Resource:
		oauthError(w, http.StatusBadRequest, "invalid_target", "resource differs from the authorization request")
	default:
		// A code lives a minute or so: its redemption time is the sign-in's, near enough.
		s.issueTokens(w, r, setup, refreshGrant{ClientID: g.ClientID, Resource: g.Resource, Scope: g.Scope, User: g.User, SignedInAt: s.now().Unix(), Issuer: g.Issuer}, randomToken())
	}
}

// pkceMatches checks S256 (RFC 7636 §4.6) in constant time. Verifiers are 43-128 characters.
func pkceMatches(verifier, challenge string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	return hmacEqual(base64.RawURLEncoding.EncodeToString(sum[:]), challenge)
}

func hmacEqual(a, b string) bool { return hmac.Equal([]byte(a), []byte(b)) }

// refresh rotates a refresh token. Presenting one that was already used means it leaked (or a
// client raced itself): the whole family is revoked, so neither copy keeps working.
func (s *Server) refresh(w http.ResponseWriter, r *http.Request, setup *setup, cl *client) {
	f := r.PostForm
	family, raw, err := s.store.UseRefreshToken(r.Context(), f.Get("refresh_token"))
	if errors.Is(err, store.ErrReused) {
		if rerr := s.revokeFamily(r.Context(), setup, family); rerr != nil {
			s.log.Error("oauth: revoke refresh family", zap.Error(rerr))
		}
		s.log.Warn("oauth: refresh token reused; family revoked", zap.String("client_id", cl.id))
		oauthError(w, http.StatusBadRequest, "invalid_grant", "refresh token was already used; sign in again")
		return
	}
	if err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "refresh token is invalid or expired")
		return
	}
	var g refreshGrant
	if err := json.Unmarshal(raw, &g); err != nil {
		oauthError(w, http.StatusInternalServerError, "server_error", "stored grant unreadable")
		return
	}
	if g.ClientID != cl.id {
		s.revokeFamily(r.Context(), setup, family)
		oauthError(w, http.StatusBadRequest, "invalid_grant", "the refresh token was issued to another client")
		return
	}
	if res := f.Get("resource"); res != "" && strings.TrimSuffix(res, "/") != g.Resource {
		oauthError(w, http.StatusBadRequest, "invalid_target", "a refresh token is bound to the resource it was issued for")
		return
	}
	if !s.now().Before(signInExpiry(g, setup)) {
		// The user's groups in this grant are as old as the sign-in. Signing in again reads
		// them from the identity provider (silently, if the user's session there is alive);
		// a grant stored before sign-in times were recorded has none and ends here too.
		if err := s.store.RevokeRefreshFamily(r.Context(), family); err != nil {
			s.log.Error("oauth: revoke refresh family", zap.Error(err))
		}
		s.log.Info("oauth: sign-in too old to refresh; the client must sign in again", zap.String("client_id", cl.id), zap.String("subject", g.User.Subject))
		oauthError(w, http.StatusBadRequest, "invalid_grant", "the sign-in behind this refresh token is too old; sign in again")
		return
	}
	s.issueTokens(w, r, setup, g, family)
}

// issueTokens mints an access token for the grant and a new refresh token in family.
func (s *Server) issueTokens(w http.ResponseWriter, r *http.Request, setup *setup, g refreshGrant, family string) {
	access, err := setup.viewOfIssuer(g.Issuer).minter.Mint(tokens.Claims{
		Subject: g.User.Subject, Email: g.User.Email, Groups: g.User.Groups,
		ClientID: g.ClientID, Scope: g.Scope, Audience: g.Resource, Family: familyDigest(family),
	})
	if err != nil {
		oauthError(w, http.StatusInternalServerError, "server_error", "could not issue a token")
		return
	}
	refreshToken := randomToken()
	raw, _ := json.Marshal(g)
	// A refresh token is useless after the sign-in limit, so the store may forget it then.
	expires := s.now().Add(setup.refreshTTL)
	if limit := signInExpiry(g, setup); limit.Before(expires) {
		expires = limit
	}
	if err := s.store.PutRefreshToken(r.Context(), refreshToken, family, raw, expires); err != nil {
		oauthError(w, http.StatusInternalServerError, "server_error", "could not issue a token")
		return
	}
	s.log.Info("oauth: tokens issued", zap.String("client_id", g.ClientID), zap.String("subject", g.User.Subject), zap.String("resource", g.Resource))
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(map[string]any{
		"access_token":  access,
		"token_type":    "Bearer",
		"expires_in":    int(setup.accessTTL.Seconds()),
		"refresh_token": refreshToken,
		"scope":         g.Scope,
	})
}

// revoke is RFC 7009. A refresh token revokes its whole family and every access token the family
// issued; an access token revokes itself. Either way every replica refuses the access tokens
// within about a second (authz reads the store's revocation list). The answer is 200 whether
// or not the token was known, as §2.2 requires, so it tells a prober nothing.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	setup := s.current(w)
	if setup == nil {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "malformed revocation request")
		return
	}
	cl, ok := s.authenticateClient(w, r, setup)
	if !ok {
		return
	}
	token := r.PostForm.Get("token")
	if family, err := s.store.RefreshFamily(r.Context(), token); err == nil {
		if s.tokenBelongsTo(r.Context(), token, cl) {
			if err := s.revokeFamily(r.Context(), setup, family); err != nil {
				oauthError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "try again")
				return
			}
			s.log.Info("oauth: refresh token revoked", zap.String("client_id", cl.id))
		}
	} else if claims, err := tokens.VerifySignature(s.keys.PublicSet(), token); err == nil && claims.ID != "" {
		// §2.1: a client may revoke only its own tokens.
		if claims.ClientID == cl.id && time.Now().Before(claims.Expiry) {
			if err := s.store.Revoke(r.Context(), store.Revocation{Kind: store.RevokedToken, ID: claims.ID, Expires: claims.Expiry.Add(revocationMargin)}); err != nil {
				oauthError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "try again")
				return
			}
			s.log.Info("oauth: access token revoked", zap.String("client_id", cl.id))
		}
	}
	w.WriteHeader(http.StatusOK)
}

// revocationMargin keeps a revocation past its tokens' expiry by more than any clock skew
// authz tolerates (auth.leeway), so a token is never accepted again in its leeway.
const revocationMargin = 10 * time.Minute

// revokeFamily revokes a refresh family and every access token it issued: those carry the
// family's digest (fid) and live at most one access token lifetime from now.
func (s *Server) revokeFamily(ctx context.Context, setup *setup, family string) error {
	if err := s.store.RevokeRefreshFamily(ctx, family); err != nil {
		return err
	}
	return s.store.Revoke(ctx, store.Revocation{Kind: store.RevokedFamily, ID: familyDigest(family), Expires: time.Now().Add(setup.accessTTL + revocationMargin)})
}

// familyDigest is the fid claim of a family's access tokens: a digest, so that the token (which
// the client can read) does not carry the family id the store keys refresh tokens by.
func familyDigest(family string) string {
	sum := sha256.Sum256([]byte("vmcp refresh family\x00" + family))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// tokenBelongsTo: a client may only revoke its own tokens (RFC 7009 §2.1).
func (s *Server) tokenBelongsTo(ctx context.Context, token string, cl *client) bool {
	raw, err := s.store.RefreshGrant(ctx, token)
	if err != nil {
		return false
	}
	var g refreshGrant
	return json.Unmarshal(raw, &g) == nil && g.ClientID == cl.id
}

// signInExpiry is when g's family stops refreshing: auth.sign_in_max_age after the sign-in.
func signInExpiry(g refreshGrant, setup *setup) time.Time {
	return time.Unix(g.SignedInAt, 0).Add(setup.signInMaxAge)
}
