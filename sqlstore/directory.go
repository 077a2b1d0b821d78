package sqlstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/dnadb/dnadb"
)

// tokenPrefix starts every token secret, so that a leaked one is easy to recognise
// in logs and by secret scanners.
const tokenPrefix = "dnadb_"

// orgName is what an organisation's name may look like: it appears in actors
// ("org/token") and in URLs, so it is kept to a safe alphabet.
var orgName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// CreateOrg adds an organisation.
func (s *Store) CreateOrg(ctx context.Context, name string, kind dnadb.OrgKind) (dnadb.Org,
	error) {
	if !orgName.MatchString(name) {
		return dnadb.Org{}, dnadb.Errorf(dnadb.ErrInvalid,
			"organisation name %q: want 1 to 63 of a-z, 0-9, '.', '_' and '-'", name)
	}
	if !kind.Valid() {
		return dnadb.Org{}, dnadb.Errorf(dnadb.ErrInvalid,
			"organisation kind %q is not one of %v", kind, dnadb.OrgKinds)
	}
	now := s.now().UTC().Truncate(time.Microsecond)

	var id int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var taken int
		err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM orgs WHERE name = $1`, name).
			Scan(&taken)
		if err != nil {
			return err
		}
		if taken > 0 {
			return dnadb.Errorf(dnadb.ErrConflict, "organisation %q exists", name)
		}

		// There is one centre: the commission that runs the database.
		if kind == dnadb.OrgCentre {
			var centre string
			err := tx.QueryRowContext(ctx, `SELECT name FROM orgs WHERE kind = $1`,
				dnadb.OrgCentre).Scan(&centre)
			if err == nil {
				return dnadb.Errorf(dnadb.ErrConflict,
					"the centre exists (%s); there is only one", centre)
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		err = tx.QueryRowContext(ctx, `
			INSERT INTO orgs (name, kind, created_at) VALUES ($1, $2, $3) RETURNING id`,
			name, kind, now.UnixMicro()).Scan(&id)
		if err != nil {
			return fmt.Errorf("insert organisation: %w", err)
		}
		return s.appendAudit(ctx, tx, dnadb.AuditFor(ctx, "org.create", orgTarget(id),
			dnadb.OutcomeOK))
	})
	if err != nil {
		return dnadb.Org{}, fmt.Errorf("create organisation: %w", err)
	}
	return dnadb.Org{ID: id, Name: name, Kind: kind, CreatedAt: now}, nil
}

// Orgs lists every organisation in id order.
func (s *Store) Orgs(ctx context.Context) ([]dnadb.Org, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT id, name, kind, created_at FROM orgs ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("organisations: %w", err)
	}
	defer rows.Close()
	out := []dnadb.Org{}
	for rows.Next() {
		var o dnadb.Org
		var created int64
		if err := rows.Scan(&o.ID, &o.Name, &o.Kind, &created); err != nil {
			return nil, fmt.Errorf("organisations: %w", err)
		}
		o.CreatedAt = fromMicros(created)
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("organisations: %w", err)
	}
	return out, nil
}

// Org returns one organisation.
func (s *Store) Org(ctx context.Context, id int64) (dnadb.Org, error) {
	var o dnadb.Org
	var created int64
	err := s.db.QueryRowContext(ctx,
		`SELECT id, name, kind, created_at FROM orgs WHERE id = $1`, id).
		Scan(&o.ID, &o.Name, &o.Kind, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return o, dnadb.Errorf(dnadb.ErrNotFound, "organisation %d not found", id)
	}
	if err != nil {
		return o, fmt.Errorf("organisation %d: %w", id, err)
	}
	o.CreatedAt = fromMicros(created)
	return o, nil
}

// CreateToken adds a token and returns it with its secret.
func (s *Store) CreateToken(ctx context.Context, nt dnadb.NewToken) (dnadb.Token, string,
	error) {
	if nt.Name == "" || len(nt.Name) > 100 || strings.Contains(nt.Name, "/") {
		return dnadb.Token{}, "", dnadb.Errorf(dnadb.ErrInvalid,
			"token name %q: want 1 to 100 bytes without '/'", nt.Name)
	}
	if err := dnadb.CheckText("token name", nt.Name); err != nil {
		return dnadb.Token{}, "", err
	}
	if len(nt.Roles) == 0 {
		return dnadb.Token{}, "", dnadb.Errorf(dnadb.ErrInvalid, "token has no roles")
	}
	roles, err := dnadb.ParseRoles(dnadb.JoinRoles(nt.Roles))
	if err != nil {
		return dnadb.Token{}, "", err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	if !nt.ExpiresAt.IsZero() && !nt.ExpiresAt.After(now) {
		return dnadb.Token{}, "", dnadb.Errorf(dnadb.ErrInvalid,
			"token expiry %s is not in the future", nt.ExpiresAt.Format(time.RFC3339))
	}
	org, err := s.Org(ctx, nt.OrgID)
	if err != nil {
		return dnadb.Token{}, "", err
	}
	for _, r := range roles {
		if !org.Kind.MayHold(r) {
			return dnadb.Token{}, "", dnadb.Errorf(dnadb.ErrInvalid,
				"organisation %s is a %s: it may not hold the %s role", org.Name, org.Kind, r)
		}
	}

	// The secret is 256 random bits; only its SHA-256 is kept, which is enough
	// for a secret that cannot be guessed.
	raw := make([]byte, 32)
	rand.Read(raw)
	secret := tokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	sum := sha256.Sum256([]byte(secret))

	t := dnadb.Token{OrgID: org.ID, OrgName: org.Name, Name: nt.Name, Roles: roles,
		CreatedAt: now, ExpiresAt: nt.ExpiresAt.UTC().Truncate(time.Microsecond)}
	if nt.ExpiresAt.IsZero() {
		t.ExpiresAt = time.Time{}
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `
			INSERT INTO tokens (org_id, name, roles, secret_hash, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
			org.ID, t.Name, dnadb.JoinRoles(roles), sum[:], now.UnixMicro(),
			micros(t.ExpiresAt)).Scan(&t.ID)
		if err != nil {
			return fmt.Errorf("insert token: %w", err)
		}
		return s.appendAudit(ctx, tx, dnadb.AuditFor(ctx, "token.create", tokenTarget(t.ID),
			dnadb.OutcomeOK))
	})
	if err != nil {
		return dnadb.Token{}, "", fmt.Errorf("create token: %w", err)
	}
	return t, secret, nil
}

// tokenColumns selects a token with its organisation's name.
const tokenColumns = `SELECT t.id, t.org_id, o.name, t.name, t.roles, t.created_at,
	t.expires_at, t.revoked_at FROM tokens t JOIN orgs o ON o.id = t.org_id `

// scanToken reads one row selected with tokenColumns.
func scanToken(row interface{ Scan(...any) error }) (dnadb.Token, error) {
	var t dnadb.Token
	var roles string
	var created, expires, revoked int64
	err := row.Scan(&t.ID, &t.OrgID, &t.OrgName, &t.Name, &roles, &created, &expires, &revoked)
	if err != nil {
		return t, err
	}
	if t.Roles, err = dnadb.ParseRoles(roles); err != nil {
		return t, fmt.Errorf("token %d: stored roles: %w", t.ID, err)
	}
	t.CreatedAt, t.ExpiresAt, t.RevokedAt = fromMicros(created), fromMicros(expires),
		fromMicros(revoked)
	return t, nil
}

// Tokens lists the tokens of org, or of every organisation when org is zero.
func (s *Store) Tokens(ctx context.Context, org int64) ([]dnadb.Token, error) {
	where, args := `ORDER BY t.id`, []any{}
	if org != 0 {
		where, args = `WHERE t.org_id = $1 ORDER BY t.id`, []any{org}
	}
	rows, err := s.db.QueryContext(ctx, tokenColumns+where, args...)
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	defer rows.Close()
	out := []dnadb.Token{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("tokens: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	return out, nil
}

// token reads one token by id.
func (s *Store) token(ctx context.Context, id int64) (dnadb.Token, error) {
	t, err := scanToken(s.db.QueryRowContext(ctx, tokenColumns+`WHERE t.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, dnadb.Errorf(dnadb.ErrNotFound, "token %d not found", id)
	}
	if err != nil {
		return t, fmt.Errorf("token %d: %w", id, err)
	}
	return t, nil
}

// RevokeToken revokes a token at once.
func (s *Store) RevokeToken(ctx context.Context, id int64) (dnadb.Token, error) {
	now := s.now().UTC().Truncate(time.Microsecond)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
			UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at = 0`,
			now.UnixMicro(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var exists int
			tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM tokens WHERE id = $1`, id).
				Scan(&exists)
			if exists == 0 {
				return dnadb.Errorf(dnadb.ErrNotFound, "token %d not found", id)
			}
			return dnadb.Errorf(dnadb.ErrConflict, "token %d is already revoked", id)
		}
		return s.appendAudit(ctx, tx, dnadb.AuditFor(ctx, "token.revoke", tokenTarget(id),
			dnadb.OutcomeOK))
	})
	if err != nil {
		return dnadb.Token{}, fmt.Errorf("revoke token: %w", err)
	}
	return s.token(ctx, id)
}

// Authenticate returns the principal a secret belongs to.
func (s *Store) Authenticate(ctx context.Context, secret string) (dnadb.Principal, error) {
	if !strings.HasPrefix(secret, tokenPrefix) {
		return dnadb.Principal{}, dnadb.Errorf(dnadb.ErrUnauthenticated,
			"not a dnadb token (it should start with %q)", tokenPrefix)
	}
	sum := sha256.Sum256([]byte(secret))
	var org dnadb.Org
	var orgCreated int64
	row := s.db.QueryRowContext(ctx, `
		SELECT t.id, t.org_id, o.name, t.name, t.roles, t.created_at, t.expires_at,
			t.revoked_at, o.kind, o.created_at
		FROM tokens t JOIN orgs o ON o.id = t.org_id WHERE t.secret_hash = $1`, sum[:])
	t, err := scanToken(scanExtra{row, []any{&org.Kind, &orgCreated}})
	if errors.Is(err, sql.ErrNoRows) {
		return dnadb.Principal{}, dnadb.Errorf(dnadb.ErrUnauthenticated, "unknown token")
	}
	if err != nil {
		return dnadb.Principal{}, fmt.Errorf("authenticate: %w", err)
	}
	now := s.now()
	switch {
	case !t.RevokedAt.IsZero():
		return dnadb.Principal{}, dnadb.Errorf(dnadb.ErrUnauthenticated,
			"token %d was revoked at %s", t.ID, t.RevokedAt.Format(time.RFC3339))
	case !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt):
		return dnadb.Principal{}, dnadb.Errorf(dnadb.ErrUnauthenticated,
			"token %d expired at %s", t.ID, t.ExpiresAt.Format(time.RFC3339))
	}
	org.ID, org.Name, org.CreatedAt = t.OrgID, t.OrgName, fromMicros(orgCreated)
	return dnadb.Principal{Org: org, Token: t}, nil
}

// scanExtra scans a row of tokenColumns followed by further columns into extra.
type scanExtra struct {
	row   *sql.Row
	extra []any
}

func (s scanExtra) Scan(dest ...any) error { return s.row.Scan(append(dest, s.extra...)...) }

func orgTarget(id int64) string   { return "org:" + strconv.FormatInt(id, 10) }
func tokenTarget(id int64) string { return "token:" + strconv.FormatInt(id, 10) }
