package onfido_test

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/openkyc/kyc/providers"
	"github.com/openkyc/kyc/providers/onfido"
)

func onfidoConfig() onfido.Config { return onfido.Config{WebhookToken: testToken} }

func addFixtures(f *testing.F, add func(body []byte)) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		add(b)
	}
}

// FuzzVerify checks that Verify never panics, fails only with
// ErrBadSignature and accepts only the body's own signature.
func FuzzVerify(f *testing.F) {
	p := newProvider(f, onfidoConfig())
	addFixtures(f, func(b []byte) { f.Add(b, hmacHex(testToken, b)) })
	f.Add([]byte{}, "")
	f.Add([]byte("{}"), "00")
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		h := http.Header{}
		h.Set("X-SHA2-Signature", sig)
		err := p.Verify(h, body)
		if err != nil {
			if !errors.Is(err, providers.ErrBadSignature) {
				t.Fatalf("Verify failed outside its contract: %v", err)
			}
			return
		}
		if providers.VerifyHMAC(sha256.New, []byte(testToken), body, sig) != nil {
			t.Fatalf("accepted a signature that is not the body's")
		}
	})
}

// FuzzParse checks that Parse never panics, fails only with
// ErrMalformedPayload, returns only valid decisions and is deterministic.
func FuzzParse(f *testing.F) {
	p := newProvider(f, onfidoConfig())
	addFixtures(f, func(b []byte) { f.Add(b) })
	f.Add([]byte(`{"payload":{"resource_type":"workflow_run","action":"workflow_run.completed","object":{"id":"r","status":"approved"}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ds, err := p.Parse(body)
		if err != nil {
			if !errors.Is(err, providers.ErrMalformedPayload) {
				t.Fatalf("Parse failed outside its contract: %v", err)
			}
			return
		}
		for _, d := range ds {
			if err := d.Validate(); err != nil || d.Provider != "onfido" {
				t.Fatalf("invalid decision %v: %v", d, err)
			}
		}
		again, _ := p.Parse(body)
		if !reflect.DeepEqual(ds, again) {
			t.Fatalf("Parse is not deterministic")
		}
	})
}
