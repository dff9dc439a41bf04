package demo

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/openkyc/kyc/httpadapter"
	"github.com/openkyc/kyc/verification"
)

// The demo credentials, documented in the README. Every one is sent as
// "Authorization: Bearer <token>".
const (
	TokenUser         = "demo-user-token"
	TokenPending      = "demo-pending-token"
	TokenVerified     = "demo-verified-token"
	TokenNoScope      = "demo-noscope-token"
	TokenAdmin        = "demo-admin-token"
	TokenAdminEU      = "demo-admin-eu-token"
	KeyAPI            = "sk-demo"
	KeyAgent          = "ak-demo"
	KeyAgentNoScope   = "ak-demo-noscope"
	scopePending      = "/external/me/r"
	scopeIDVerify     = "eprospera:person.id_verification.read"
	scopeAgentIDVerif = "agent:person.id_verification.read"
)

// demoAuthenticator maps the demo tokens to the demo subjects (looked up by
// their fixed identifiers, so it works on every start, not just the first).
// users reports whether the demo users exist (they do not when the data
// directory was made with -demo=false).
func demoAuthenticator(ctx context.Context, svc *verification.Service) (auth *httpadapter.StaticAuthenticator, users bool, err error) {
	tokens := map[string]httpadapter.StaticToken{
		TokenAdmin:   {Principal: httpadapter.Principal{Credential: httpadapter.Admin, AdminID: demoAdminID}},
		TokenAdminEU: {Principal: httpadapter.Principal{Credential: httpadapter.Admin, AdminID: demoAdminEUID, AdminTags: []string{"eu"}}},
		KeyAPI:       {Principal: httpadapter.Principal{Credential: httpadapter.APIKey}},
	}
	user := func(token, identifier string, kind httpadapter.CredentialKind, scopes ...string) error {
		sub, err := svc.SubjectByIdentifier(ctx, verification.SystemActor(), identifier)
		if errors.Is(err, verification.ErrNotFound) {
			return nil // no demo data in this database
		}
		if err != nil {
			return err
		}
		tokens[token] = httpadapter.StaticToken{Principal: httpadapter.Principal{Credential: kind, SubjectID: sub.ID, Scopes: scopes}}
		users = true
		return nil
	}
	for _, err := range []error{
		user(TokenUser, demoUserIdentifier, httpadapter.User, scopePending, scopeIDVerify),
		user(TokenPending, demoPendingIdentifier, httpadapter.User, scopePending, scopeIDVerify),
		user(TokenVerified, demoVerifiedIdentifier, httpadapter.User, scopePending, scopeIDVerify),
		user(TokenNoScope, demoVerifiedIdentifier, httpadapter.User),
		user(KeyAgent, demoVerifiedIdentifier, httpadapter.AgentKey, scopeAgentIDVerif),
		user(KeyAgentNoScope, demoVerifiedIdentifier, httpadapter.AgentKey),
	} {
		if err != nil {
			return nil, false, err
		}
	}
	auth, err = httpadapter.NewStaticAuthenticator(tokens, nil)
	return auth, users, err
}

// printDemo prints the demo credentials (on every start: they work on
// every start) and a few commands to try.
func printDemo(w io.Writer, base string, users bool) {
	if !users {
		fmt.Fprintf(w, `
openkyc demo server at %[1]s

No demo users in this data directory (it was made with -demo=false): only
these credentials work (send as "Authorization: Bearer <token>"):
  %-22[2]s an admin who sees every client
  %-22[3]s an admin who sees only clients tagged eu
  %-22[4]s an API key, for users your code creates (Service.CreateSubject)
Seed the demo users with -demo, or start fresh with -fresh.

`, base, TokenAdmin, TokenAdminEU, KeyAPI)
		return
	}
	fmt.Fprintf(w, `
openkyc demo server at %[1]s

Demo credentials (send as "Authorization: Bearer <token>"):
  %-22[2]s a new user at the first level, nothing submitted
  %-22[3]s a user whose application awaits review
  %-22[4]s a fully verified user (tag eu) with an approved identity check
  %-22[5]s the verified user's token without the pending-request and identity-verification scopes
  %-22[6]s an admin who sees every client
  %-22[7]s an admin who sees only clients tagged eu
  %-22[8]s an API key; name the user with X-User-Identifier: %[11]s
  %-22[9]s an agent key for the verified user (agent:person.id_verification.read)
  %-22[10]s the same agent key without scopes

Review console: %[1]s/console/  (sign in with %[6]s or %[7]s)

Try:
  curl -s %[1]s/api/v2/user/verification-status -H 'Authorization: Bearer %[2]s'
  curl -s %[1]s/api/v2/my/verifications/wizard -H 'Authorization: Bearer %[2]s'
  curl -s '%[1]s/api/v2/my/verifications?limit=10&offset=0&sort_order=desc&sort_by=createTime' -H 'Authorization: Bearer %[4]s'
  curl -s %[1]s/external/api/v1/me/pending_verification_request -H 'Authorization: Bearer %[3]s'
  curl -s %[1]s/api/v1/me/natural-person/id-verification -H 'Authorization: Bearer %[4]s'
  curl -s '%[1]s/api/v2/verifications?limit=10' -H 'Authorization: Bearer %[7]s'
  curl -s %[1]s/api/v2/user/verification-status -H 'Authorization: Bearer %[8]s' -H 'X-User-Identifier: %[11]s'

`, base, TokenUser, TokenPending, TokenVerified, TokenNoScope, TokenAdmin, TokenAdminEU, KeyAPI, KeyAgent, KeyAgentNoScope, demoUserIdentifier)
}
