package veriff_test

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"time"

	"github.com/openkyc/kyc/providers"
	"github.com/openkyc/kyc/providers/veriff"
	"github.com/openkyc/kyc/providers/veriff/verifftest"
)

func Example() {
	// A stand-in for Veriff's API; in production leave BaseURL empty.
	api := verifftest.NewServer("demo-veriff-key", "demo-veriff-secret")
	srv := httptest.NewServer(api)
	defer srv.Close()

	p, err := veriff.New(veriff.Config{APIKey: "demo-veriff-key", SharedSecret: "demo-veriff-secret", BaseURL: srv.URL})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()

	// 1. Send the user to Veriff.
	session, err := p.StartSession(ctx, providers.StartParams{SubjectRef: "demo-user-0001"})
	if err != nil {
		panic(err)
	}
	fmt.Println("session started for", session.SubjectRef)

	// 2. Veriff posts its decision to the webhook route: verify the raw
	// bytes first, parse them second.
	body := verifftest.DecisionBody(verifftest.Decision{
		SessionID: session.ID, AttemptID: "attempt-1", VendorData: "demo-user-0001",
		Status: "approved", DecisionTime: time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC),
	})
	req, _ := verifftest.NewWebhookRequest(ctx, "http://127.0.0.1/webhooks/providers/veriff", "demo-veriff-key", "demo-veriff-secret", body)
	raw, _ := io.ReadAll(req.Body)
	if err := p.Verify(req.Header, raw); err != nil {
		panic(err) // answer 401
	}
	decisions, err := p.Parse(raw)
	if err != nil {
		panic(err)
	}
	d := decisions[0]
	fmt.Println(d.Outcome, d.Final, d.SubjectRef, d.OccurredAt.Format(time.RFC3339))

	// 3. After an approval, fetch the images (in the background).
	media, err := p.ListMedia(ctx, d.SessionID)
	if err != nil {
		panic(err)
	}
	for _, m := range media {
		rc, err := p.OpenMedia(ctx, m)
		if err != nil {
			panic(err)
		}
		n, _ := io.Copy(io.Discard, rc) // in a host: BlobStore.Put(ctx, owner, rc, limit)
		rc.Close()
		fmt.Println(m.Kind, m.ContentType, n > 0)
	}
	// Output:
	// session started for demo-user-0001
	// approved true demo-user-0001 2026-01-15T12:00:00Z
	// front image/png true
	// back image/png true
	// face image/png true
}
