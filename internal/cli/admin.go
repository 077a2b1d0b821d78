package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/sqlstore"
)

// The admin commands work on the store directly, for the operator on the
// database's own machine: they bootstrap the first organisation and its admin
// token before any server has a token to check. The same acts exist in the API for
// admins. Each is audited as the operator's (organisation 0).
const adminUsage = `bootstrap --name NAME             create the centre and its first admin token
  org create --name NAME --kind KIND  add an organisation
  org list                            list organisations
  token create --org NAME --name N --roles R1,R2 [--expires 720h]
                                      add a token; its secret is printed once
  token list [--org NAME]             list tokens
  token revoke ID                     revoke a token`

func runAdmin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("admin: want one of:\n  %s", adminUsage)
	}
	verb := args[0]
	if len(args) > 1 && (verb == "org" || verb == "token") {
		verb += " " + args[1]
		args = args[1:]
	}
	fs := newFlags("admin "+verb, "[flags]", stderr)
	open := storeFlags(fs)
	name := fs.String("name", "", "organisation or token name")
	kind := fs.String("kind", "", "organisation kind: "+fmt.Sprint(dnadb.OrgKinds))
	org := fs.String("org", "", "organisation name")
	roles := fs.String("roles", "", "comma-separated roles: "+fmt.Sprint(dnadb.Roles))
	expires := fs.Duration("expires", 0, "token lifetime, such as 720h; 0 means no expiry")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}

	switch verb {
	case "bootstrap", "org create", "org list", "token create", "token list", "token revoke":
	default:
		return usagef("admin: unknown command %q; want one of:\n  %s", verb, adminUsage)
	}
	st, err := open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()

	switch verb {
	case "bootstrap":
		return bootstrap(ctx, st, *name, stdout)
	case "org create":
		o, err := st.CreateOrg(ctx, *name, dnadb.OrgKind(*kind))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d\t%s\t%s\n", o.ID, o.Name, o.Kind)
		return nil
	case "org list":
		orgs, err := st.Orgs(ctx)
		if err != nil {
			return err
		}
		for _, o := range orgs {
			fmt.Fprintf(stdout, "%d\t%s\t%s\n", o.ID, o.Name, o.Kind)
		}
		return nil
	case "token create":
		o, err := orgByName(ctx, st, *org)
		if err != nil {
			return err
		}
		rs, err := dnadb.ParseRoles(*roles)
		if err != nil {
			return usagef("--roles: %v", err)
		}
		nt := dnadb.NewToken{OrgID: o.ID, Name: *name, Roles: rs}
		if *expires > 0 {
			nt.ExpiresAt = time.Now().Add(*expires)
		}
		return createToken(ctx, st, nt, stdout)
	case "token list":
		var id int64
		if *org != "" {
			o, err := orgByName(ctx, st, *org)
			if err != nil {
				return err
			}
			id = o.ID
		}
		tokens, err := st.Tokens(ctx, id)
		if err != nil {
			return err
		}
		for _, t := range tokens {
			fmt.Fprintf(stdout, "%d\t%s/%s\t%s\t%s\n", t.ID, t.OrgName, t.Name,
				dnadb.JoinRoles(t.Roles), tokenState(t))
		}
		return nil
	case "token revoke":
		if fs.NArg() != 1 {
			return usagef("admin token revoke: want the token id")
		}
		id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
		if err != nil {
			return usagef("admin token revoke: token id %q is not a number", fs.Arg(0))
		}
		t, err := st.RevokeToken(ctx, id)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d\t%s/%s\t%s\n", t.ID, t.OrgName, t.Name, tokenState(t))
		return nil
	}
	return usagef("admin: unknown command %q; want one of:\n  %s", verb, adminUsage)
}

// bootstrap creates the centre organisation and its first admin token, once.
func bootstrap(ctx context.Context, st *sqlstore.Store, name string, stdout io.Writer) error {
	if name == "" {
		return usagef("admin bootstrap: --name is required (the centre's name)")
	}
	orgs, err := st.Orgs(ctx)
	if err != nil {
		return err
	}
	for _, o := range orgs {
		if o.Kind == dnadb.OrgCentre {
			return dnadb.Errorf(dnadb.ErrConflict,
				"admin bootstrap: the centre %q exists; use admin token create", o.Name)
		}
	}
	o, err := st.CreateOrg(ctx, name, dnadb.OrgCentre)
	if err != nil {
		return err
	}
	return createToken(ctx, st, dnadb.NewToken{OrgID: o.ID, Name: "admin",
		Roles: []dnadb.Role{dnadb.RoleAdmin}}, stdout)
}

// createToken creates a token and prints its secret, the only time it is shown.
func createToken(ctx context.Context, st *sqlstore.Store, nt dnadb.NewToken,
	stdout io.Writer) error {
	t, secret, err := st.CreateToken(ctx, nt)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "token %d for %s/%s (%s); its secret, shown only now:\n%s\n",
		t.ID, t.OrgName, t.Name, dnadb.JoinRoles(t.Roles), secret)
	return nil
}

func orgByName(ctx context.Context, st *sqlstore.Store, name string) (dnadb.Org, error) {
	if name == "" {
		return dnadb.Org{}, usagef("--org is required")
	}
	orgs, err := st.Orgs(ctx)
	if err != nil {
		return dnadb.Org{}, err
	}
	for _, o := range orgs {
		if o.Name == name {
			return o, nil
		}
	}
	return dnadb.Org{}, dnadb.Errorf(dnadb.ErrNotFound, "organisation %q not found", name)
}

func tokenState(t dnadb.Token) string {
	switch {
	case !t.RevokedAt.IsZero():
		return "revoked " + t.RevokedAt.Format(time.RFC3339)
	case !t.ExpiresAt.IsZero():
		return "expires " + t.ExpiresAt.Format(time.RFC3339)
	}
	return "active"
}

func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		return usagef("audit: want \"audit verify [--store S] [--audit-key F] [--anchor SEQ:HASH]\"")
	}
	fs := newFlags("audit verify", "[flags]", stderr)
	open := storeFlags(fs)
	anchor := fs.String("anchor", "", "an earlier head, SEQ:HASH, that the trail must still hold")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	var anchorSeq int64
	var anchorHash string
	if *anchor != "" {
		seq, hash, ok := strings.Cut(*anchor, ":")
		n, err := strconv.ParseInt(seq, 10, 64)
		if !ok || err != nil || n <= 0 || len(hash) != 64 {
			return usagef("--anchor %q: want SEQ:HASH as verify printed it", *anchor)
		}
		anchorSeq, anchorHash = n, hash
	}
	st, err := open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()

	// Walk the chain, then check the anchor, if one was given, against it.
	key, _ := readAuditKey(fs.Lookup("audit-key").Value.String())
	n, err := dnadb.VerifyAudit(ctx, st, key)
	if err == nil && anchorSeq > 0 {
		err = dnadb.VerifyAnchor(ctx, st, anchorSeq, anchorHash)
	}
	var ce *dnadb.ChainError
	if errors.As(err, &ce) {
		fmt.Fprintf(stdout, "BROKEN after %d good entries: %v\n", n, ce)
		return errReported
	}
	if err != nil {
		return err
	}
	seq, hash, err := st.AuditHead(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ok: %d entries, head %d:%s\n", n, seq, hash)
	if key == nil {
		fmt.Fprintf(stdout, "(no audit key: record the head elsewhere and check it later "+
			"with --anchor)\n")
	}
	return nil
}
