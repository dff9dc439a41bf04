package sumsub_test

import (
	"fmt"
	"net/http"

	"github.com/openkyc/kyc/providers/sumsub"
)

func ExampleProvider_Verify() {
	p, err := sumsub.New(sumsub.Config{WebhookSecret: "webhook-secret"})
	if err != nil {
		panic(err)
	}
	body := []byte(`{"applicantId":"5cb56e8e0a975a35f333cb83","inspectionId":"5cb56e8e0a975a35f333cb84",` +
		`"correlationId":"req-a260b669","externalUserId":"user-0002","type":"applicantReviewed",` +
		`"reviewResult":{"reviewAnswer":"RED","reviewRejectType":"RETRY","rejectLabels":["BAD_PROOF_OF_IDENTITY"]},` +
		`"reviewStatus":"completed","createdAtMs":"2020-02-21 13:23:19.321"}`)

	digest, _ := p.Sign("HMAC_SHA512_HEX", body) // what Sumsub sends
	h := http.Header{}
	h.Set("X-Payload-Digest", digest)
	h.Set("X-Payload-Digest-Alg", "HMAC_SHA512_HEX")
	if err := p.Verify(h, body); err != nil {
		panic(err) // answer 401
	}
	ds, err := p.Parse(body)
	if err != nil {
		panic(err)
	}
	fmt.Println(ds[0].Outcome, ds[0].Final, ds[0].ReasonCodes, ds[0].OccurredAt)
	// Output:
	// resubmission_requested false [BAD_PROOF_OF_IDENTITY] 2020-02-21 13:23:19.321 +0000 UTC
}
