package server

import (
	"net/http"
	"strconv"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/api"
)

// whoami tells the caller which organisation and token it is.
func (s *Server) whoami(w http.ResponseWriter, r *http.Request) error {
	p, _ := dnadb.PrincipalFrom(r.Context())
	writeJSON(w, http.StatusOK, api.WhoAmI{Org: p.Org, Token: p.Token})
	return nil
}

func (s *Server) listOrgs(w http.ResponseWriter, r *http.Request) error {
	orgs, err := s.store.Orgs(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.OrgList{Orgs: orgs})
	return nil
}

func (s *Server) createOrg(w http.ResponseWriter, r *http.Request) error {
	var n api.NewOrg
	if err := readJSON(w, r, DefaultMaxBodyBytes, &n); err != nil {
		return err
	}
	o, err := s.store.CreateOrg(r.Context(), n.Name, n.Kind)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, o)
	return nil
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	id, err := pathInt(r, "organisation")
	if err != nil {
		return err
	}
	if _, err := s.store.Org(r.Context(), id); err != nil {
		return err
	}
	tokens, err := s.store.Tokens(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.TokenList{Tokens: tokens})
	return nil
}

// createToken creates a token; its secret is in this answer and nowhere else.
func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	id, err := pathInt(r, "organisation")
	if err != nil {
		return err
	}
	var n api.NewToken
	if err := readJSON(w, r, DefaultMaxBodyBytes, &n); err != nil {
		return err
	}
	t, secret, err := s.store.CreateToken(r.Context(), dnadb.NewToken{
		OrgID: id, Name: n.Name, Roles: n.Roles, ExpiresAt: n.ExpiresAt,
	})
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, api.CreatedToken{Token: t, Secret: secret})
	return nil
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	id, err := pathInt(r, "token")
	if err != nil {
		return err
	}
	t, err := s.store.RevokeToken(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

// auditPage returns a page of the audit trail: after and limit as for items.
func (s *Server) auditPage(w http.ResponseWriter, r *http.Request) error {
	after, limit, err := queryPage(r)
	if err != nil {
		return err
	}
	entries, err := s.store.AuditEntries(r.Context(), after, int(limit))
	if err != nil {
		return err
	}
	page := api.AuditPage{Entries: entries}
	if len(entries) == int(limit) {
		page.NextAfter = entries[len(entries)-1].Seq
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (s *Server) stats(w http.ResponseWriter, r *http.Request) error {
	st, err := s.store.Stats(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// pathInt parses the {id} path value as the id of what.
func pathInt(r *http.Request, what string) (int64, error) {
	v := r.PathValue("id")
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, dnadb.Errorf(dnadb.ErrInvalid, "%s id %q is not a positive integer", what, v)
	}
	return id, nil
}
