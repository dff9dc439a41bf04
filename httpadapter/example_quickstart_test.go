package httpadapter_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/httpadapter"
	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/storage/sqlite"
	"github.com/openkyc/kyc/verification"
)

// The code between the README markers is the README's "In Go" section,
// verbatim (TestREADMEQuickstart checks it).

// README: begin

// mountKYC builds the KYC service from your ladder, a SQLite file and a
// document directory under dir, and mounts its user routes on public and
// its reviewer routes on internal (e.g. a mux on an internal port). Close
// the store when your app stops.
func mountKYC(ctx context.Context, dir string, secret []byte, auth httpadapter.Authenticator, public, internal *http.ServeMux) (*verification.Service, *sqlite.Store, error) {
	ladder, err := levels.LoadFile("../examples/server/demo/ladder.json") // or levels.New(...) in Go
	if err != nil {
		return nil, nil, err
	}
	store, err := sqlite.Open(ctx, filepath.Join(dir, "kyc.db"), sqlite.Options{})
	if err != nil {
		return nil, nil, err
	}
	blobs, err := documents.NewFileStore(filepath.Join(dir, "documents"))
	if err != nil {
		return nil, nil, errors.Join(err, store.Close())
	}
	svc, err := verification.New(ladder, store, verification.Options{Blobs: blobs})
	if err != nil {
		return nil, nil, errors.Join(err, store.Close())
	}
	signer, err := documents.NewSigner([]documents.SigningKey{{ID: "k1", Secret: secret}}, documents.SignerOptions{})
	if err != nil {
		return nil, nil, errors.Join(err, store.Close())
	}
	kyc, err := httpadapter.New(svc, httpadapter.Options{Authenticator: auth, Signer: signer})
	if err != nil {
		return nil, nil, errors.Join(err, store.Close())
	}
	kyc.Register(public, "/kyc")        // GET /kyc/api/v2/user/verification-status, ...
	kyc.RegisterAdmin(internal, "/kyc") // GET /kyc/api/v2/verifications, ... (reviewers only)
	return svc, store, nil
}

// sessionAuth is your authentication: a bearer token your app issued to one
// of your users, mapped to the user's KYC subject id (svc.CreateSubject
// returns it when the user signs up).
type sessionAuth map[string]int64

func (s sessionAuth) Authenticate(r *http.Request) (httpadapter.Principal, error) {
	token, err := httpadapter.Credential(r) // the Bearer token, X-API-Key or access_token
	if err != nil {
		return httpadapter.Principal{}, err
	}
	id, ok := s[token]
	if !ok {
		return httpadapter.Principal{}, httpadapter.ErrCredentialsInvalid
	}
	return httpadapter.Principal{Credential: httpadapter.User, SubjectID: id}, nil
}

// README: end

// Example mounts the library in an app of its own: a ladder from JSON,
// SQLite, your authenticator, public and internal muxes.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "kyc-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	secret := make([]byte, 32) // keep yours in a secret manager
	_, _ = rand.Read(secret)

	sessions := sessionAuth{}
	public, internal := http.NewServeMux(), http.NewServeMux()
	svc, store, err := mountKYC(ctx, dir, secret, sessions, public, internal)
	if err != nil {
		panic(err)
	}
	defer store.Close()

	// A user of your app signs up: give it a KYC subject and a session.
	sub, err := svc.CreateSubject(ctx, verification.CreateSubjectParams{Identifier: "user000000000000000000000000000000042"})
	if err != nil {
		panic(err)
	}
	sessions["session-token-42"] = sub.ID

	r := httptest.NewRequest("POST", "/kyc/api/v2/user/requirements/isBusiness", strings.NewReader(`{"answer": false}`))
	r.Header.Set("Authorization", "Bearer session-token-42")
	show(public, r)
	r = httptest.NewRequest("GET", "/kyc/api/v2/verifications", nil)
	r.Header.Set("Authorization", "Bearer session-token-42")
	rec := httptest.NewRecorder()
	public.ServeHTTP(rec, r)
	fmt.Println("admin route on the public mux:", rec.Code)
	// Output:
	// 200 {"name":"isBusiness","type":"boolean","status":"approved","attempts":1}
	// admin route on the public mux: 404
}
