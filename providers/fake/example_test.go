package fake_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/openkyc/kyc/providers"
	"github.com/openkyc/kyc/providers/fake"
)

func Example() {
	p, err := fake.New(fake.Config{Secret: "demo-secret", BaseURL: "http://127.0.0.1:8080/fake-provider"})
	if err != nil {
		panic(err)
	}
	// The host's webhook route: verify the raw body, then parse it.
	route := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := p.Verify(r.Header, body); err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		ds, _ := p.Parse(body)
		fmt.Println("route got:", ds[0].Outcome, ds[0].Final, ds[0].SubjectRef)
	}))
	defer route.Close()

	ctx := context.Background()
	session, _ := p.StartSession(ctx, providers.StartParams{SubjectRef: "demo-user-0001"})
	d, _ := p.Decide(session.ID, providers.OutcomeResubmissionRequested) // the forced outcome
	d.ReasonCodes = []string{"blurry"}
	status, err := p.Deliver(ctx, route.URL, d)
	fmt.Println(status, err)
	// Output:
	// route got: resubmission_requested false demo-user-0001
	// 200 <nil>
}
