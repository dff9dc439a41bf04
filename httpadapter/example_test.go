package httpadapter_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/openkyc/kyc/httpadapter"
	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/storage/memory"
	"github.com/openkyc/kyc/verification"
)

// newService returns a Service with a two-level ladder and one subject.
func newService() (*verification.Service, verification.Subject) {
	ladder, err := levels.New([]levels.Level{
		{ID: 1, Name: "Level 0"},
		{ID: 2, Name: "Level 1", Requirements: []levels.Requirement{{Name: "isBusiness", Type: levels.Boolean}}},
	})
	if err != nil {
		panic(err)
	}
	now := func() time.Time { return time.Date(2024, 1, 14, 12, 0, 0, 0, time.UTC) }
	svc, err := verification.New(ladder, memory.New(), verification.Options{NowFunc: now})
	if err != nil {
		panic(err)
	}
	sub, err := svc.CreateSubject(context.Background(), verification.CreateSubjectParams{Identifier: "exampleuser000000000000000000000000001"})
	if err != nil {
		panic(err)
	}
	return svc, sub
}

func show(h http.Handler, r *http.Request) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	fmt.Println(rec.Code, rec.Body.String())
}

func ExampleNew() {
	svc, sub := newService()
	auth, _ := httpadapter.NewStaticAuthenticator(map[string]httpadapter.StaticToken{
		"user-token": {Principal: httpadapter.Principal{Credential: httpadapter.User, SubjectID: sub.ID}},
	}, nil)
	a, err := httpadapter.New(svc, httpadapter.Options{Authenticator: auth})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	a.Register(mux, "/kyc")

	r := httptest.NewRequest("GET", "/kyc/api/v2/user/verification-status", nil)
	r.Header.Set("Authorization", "Bearer user-token")
	show(mux, r)
	show(mux, httptest.NewRequest("GET", "/kyc/api/v2/user/verification-status", nil))
	// Output:
	// 200 [{"name":"isBusiness","type":"boolean","status":"missing"}]
	// 401 {"errors":{"ER700":{"code":"ER700","message":"User authorization token not found.","solution":"Provide a user authorization token."}}}
}

func ExampleAdapter_Register() {
	svc, _ := newService()
	auth, _ := httpadapter.NewStaticAuthenticator(map[string]httpadapter.StaticToken{
		"admin-token": {Principal: httpadapter.Principal{Credential: httpadapter.Admin, AdminID: 1}},
	}, nil)
	a, _ := httpadapter.New(svc, httpadapter.Options{Authenticator: auth})
	// Public routes on the public router, admin routes on chi (an internal
	// listener, say): the same patterns work on both.
	public, internal := http.NewServeMux(), chi.NewRouter()
	a.Register(public, "/kyc")
	a.RegisterAdmin(internal, "/kyc")

	r := httptest.NewRequest("GET", "/kyc/api/v2/verifications?limit=1", nil)
	r.Header.Set("Authorization", "Bearer admin-token")
	show(internal, r)
	// Output:
	// 200 {"total":1,"data":[{"id":1,"clientId":1,"currentLevel":{"id":1,"name":"Level 0"},"previousLevel":null,"reason":{"name":"created"},"userId":null,"createTime":"2024-01-14T12:00:00+00:00"}]}
}

func ExampleContextAuthenticator() {
	svc, sub := newService()
	a, _ := httpadapter.New(svc, httpadapter.Options{Authenticator: httpadapter.ContextAuthenticator{}})
	// The host's middleware authenticates and stores the principal.
	kyc := a.Handler("/kyc")
	host := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Cookie") == "session=ok" {
			r = r.WithContext(httpadapter.WithPrincipal(r.Context(), httpadapter.Principal{Credential: httpadapter.User, SubjectID: sub.ID}))
		}
		kyc.ServeHTTP(w, r)
	})
	r := httptest.NewRequest("GET", "/kyc/api/v2/my/verifications/1", nil)
	r.Header.Set("Cookie", "session=ok")
	show(host, r)
	// Output:
	// 200 {"total":1,"data":[{"id":1,"clientId":1,"currentLevel":{"id":1,"name":"Level 0"},"previousLevel":null,"reason":{"name":"created"},"userId":null,"createTime":"2024-01-14T12:00:00+00:00"}]}
}
