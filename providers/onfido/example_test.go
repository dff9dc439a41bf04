package onfido_test

import (
	"fmt"
	"net/http"

	"github.com/openkyc/kyc/providers/onfido"
)

func ExampleProvider_Verify() {
	p, err := onfido.New(onfido.Config{WebhookToken: "webhook-token"})
	if err != nil {
		panic(err)
	}
	body := []byte(`{"payload":{"resource_type":"workflow_run","action":"workflow_run.completed",` +
		`"object":{"id":"2f152409-d6c4-4711-8750-48517f99a8d6","status":"approved","completed_at_iso8601":"2022-12-19T16:54:44Z"},` +
		`"resource":{"applicant_id":"7b0a9d0e-1c2f-4a3b-8c4d-5e6f70819203","reasons":[]}}}`)

	h := http.Header{}
	h.Set("X-SHA2-Signature", p.Sign(body)) // what Onfido sends
	if err := p.Verify(h, body); err != nil {
		panic(err) // answer 401
	}
	decisions, err := p.Parse(body)
	if err != nil {
		panic(err)
	}
	d := decisions[0]
	fmt.Println(d.SessionID, d.Outcome, d.Final, d.SubjectRef)

	// A tampered body no longer verifies.
	fmt.Println(p.Verify(h, append(body, ' ')))
	// Output:
	// 2f152409-d6c4-4711-8750-48517f99a8d6 approved true 7b0a9d0e-1c2f-4a3b-8c4d-5e6f70819203
	// providers: webhook signature invalid: mismatch
}
