package fake_test

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"reflect"
	"testing"

	"github.com/openkyc/kyc/providers"
	"github.com/openkyc/kyc/providers/fake"
)

var sha256New = sha256.New

// FuzzVerify checks that Verify never panics, fails only with
// ErrBadSignature and accepts only the body's own signature.
func FuzzVerify(f *testing.F) {
	p := newProvider(f, fake.Config{})
	body := []byte(`{"eventId":"e1","sessionId":"s1","outcome":"approved","final":true}`)
	f.Add(body, p.Sign(body))
	f.Add([]byte{}, "")
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		err := p.Verify(http.Header{"X-Fake-Signature": {sig}}, body)
		if err != nil {
			if !errors.Is(err, providers.ErrBadSignature) {
				t.Fatalf("Verify failed outside its contract: %v", err)
			}
			return
		}
		if providers.VerifyHMAC(sha256New, []byte(secret), body, sig) != nil {
			t.Fatalf("accepted a signature that is not the body's")
		}
	})
}

// FuzzParse checks that Parse never panics, fails only with
// ErrMalformedPayload, and that what it accepts encodes back to an
// equivalent body.
func FuzzParse(f *testing.F) {
	p := newProvider(f, fake.Config{})
	f.Add([]byte(`{"eventId":"e1","sessionId":"s1","outcome":"approved","final":true,"occurredAt":"2026-01-15T12:00:00Z","document":{"type":"PASSPORT","validUntil":"2030-01-31"}}`))
	f.Add([]byte(`{"eventId":"e1","sessionId":"s1","outcome":"started"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ds, err := p.Parse(body)
		if err != nil {
			if !errors.Is(err, providers.ErrMalformedPayload) {
				t.Fatalf("Parse failed outside its contract: %v", err)
			}
			return
		}
		if len(ds) != 1 || ds[0].Validate() != nil {
			t.Fatalf("invalid decisions %v", ds)
		}
		again, err := p.Encode(ds[0])
		if err != nil {
			t.Fatalf("cannot re-encode %v: %v", ds[0], err)
		}
		back, err := p.Parse(again)
		if err != nil || !reflect.DeepEqual(back[0].EventKey, ds[0].EventKey) || back[0].Outcome != ds[0].Outcome {
			t.Fatalf("round trip changed the decision: %v / %v (%v)", ds[0], back, err)
		}
	})
}
