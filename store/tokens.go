package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Roles of a token.
const (
	RoleAdmin   = "admin"
	RoleAnalyst = "analyst"
	RoleReader  = "reader"
	RoleIngest  = "ingest"
)

// Roles lists the valid roles.
var Roles = []string{RoleAdmin, RoleAnalyst, RoleReader, RoleIngest}

// TokenPrefix starts every token secret, so that secret scanners and
// people can recognise one.
const TokenPrefix = "vigil_"

// Token describes an API token. The secret itself is never stored, only
// its SHA-256.
type Token struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	Role string `json:"role"`
	// Subscriptions the token may see; empty means all of them.
	Subscriptions []string  `json:"subscriptions"`
	Created       time.Time `json:"created"`
	Revoked       time.Time `json:"revoked,omitzero"`
}

// Active reports whether the token is not revoked.
func (t Token) Active() bool { return t.Revoked.IsZero() }

func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// CreateToken makes a token with 32 random bytes of secret and returns it
// with the secret, which is shown this once: only its hash is kept.
func (s *Store) CreateToken(ctx context.Context, name, role string, subscriptions []string) (Token, string, error) {
	if !slices.Contains(Roles, role) {
		return Token{}, "", fmt.Errorf("store: token: %w: role %q is not one of %s", ErrInvalid, role, strings.Join(Roles, ", "))
	}
	for _, sub := range subscriptions {
		if strings.TrimSpace(sub) == "" {
			return Token{}, "", fmt.Errorf("store: token: %w: empty subscription", ErrInvalid)
		}
	}
	var raw [32]byte
	var id [6]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return Token{}, "", fmt.Errorf("store: token: %w", err)
	}
	rand.Read(id[:])
	secret := TokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	subs := slices.Clone(subscriptions)
	if subs == nil {
		subs = []string{}
	}
	slices.Sort(subs)
	subs = slices.Compact(subs)
	t := Token{ID: hex.EncodeToString(id[:]), Name: name, Role: role, Subscriptions: subs, Created: s.now().UTC()}
	sj, _ := json.Marshal(subs)
	if _, err := s.db.ExecContext(ctx, `INSERT INTO tokens (id, name, hash, role, subscriptions, created_ns) VALUES (?, ?, ?, ?, ?, ?)`,
		t.ID, t.Name, hashSecret(secret), t.Role, string(sj), t.Created.UnixNano()); err != nil {
		return Token{}, "", fmt.Errorf("store: token: %w", err)
	}
	return t, secret, nil
}

const tokenCols = "id, name, role, subscriptions, created_ns, revoked_ns"

func scanToken(sc interface{ Scan(...any) error }) (Token, error) {
	var t Token
	var subs string
	var created int64
	var revoked sql.NullInt64
	if err := sc.Scan(&t.ID, &t.Name, &t.Role, &subs, &created, &revoked); err != nil {
		return t, err
	}
	if err := json.Unmarshal([]byte(subs), &t.Subscriptions); err != nil {
		return t, err
	}
	t.Created = fromNS(created)
	t.Revoked = fromNS(revoked.Int64)
	return t, nil
}

// Authenticate returns the token whose secret is given. An unknown secret
// gives ErrNotFound, a revoked one ErrRevoked.
func (s *Store) Authenticate(ctx context.Context, secret string) (Token, error) {
	t, err := scanToken(s.db.QueryRowContext(ctx, "SELECT "+tokenCols+" FROM tokens WHERE hash = ?", hashSecret(secret)))
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, fmt.Errorf("store: token: %w", ErrNotFound)
	}
	if err != nil {
		return Token{}, fmt.Errorf("store: token: %w", err)
	}
	if !t.Active() {
		return t, fmt.Errorf("store: token %s: %w", t.ID, ErrRevoked)
	}
	return t, nil
}

// Tokens lists every token, revoked ones included, oldest first.
func (s *Store) Tokens(ctx context.Context) ([]Token, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+tokenCols+" FROM tokens ORDER BY created_ns, id")
	if err != nil {
		return nil, fmt.Errorf("store: tokens: %w", err)
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("store: tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken revokes a token by id. Revoking twice keeps the first time.
func (s *Store) RevokeToken(ctx context.Context, id string) (Token, error) {
	if _, err := s.db.ExecContext(ctx, "UPDATE tokens SET revoked_ns = coalesce(revoked_ns, ?) WHERE id = ?",
		s.now().UnixNano(), id); err != nil {
		return Token{}, fmt.Errorf("store: revoke %s: %w", id, err)
	}
	t, err := scanToken(s.db.QueryRowContext(ctx, "SELECT "+tokenCols+" FROM tokens WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, fmt.Errorf("store: revoke %s: %w", id, ErrNotFound)
	}
	return t, err
}
