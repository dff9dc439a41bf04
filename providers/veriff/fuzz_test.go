package veriff_test

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/openkyc/kyc/providers"
	"github.com/openkyc/kyc/providers/veriff"
)

var hmacSHA256 = sha256.New

func fuzzProvider(f *testing.F) *veriff.Provider {
	p, err := veriff.New(veriff.Config{APIKey: testKey, SharedSecret: testSecret})
	if err != nil {
		f.Fatal(err)
	}
	return p
}

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
// ErrBadSignature, and accepts a body only with the right API key and the
// body's own signature.
func FuzzVerify(f *testing.F) {
	p := fuzzProvider(f)
	addFixtures(f, func(b []byte) {
		f.Add(b, testKey, hmacHex(testSecret, b), "")
		f.Add(b, testKey, "", hmacHex(testSecret, b))
	})
	f.Add([]byte{}, "", "", "")
	f.Add([]byte("x"), testKey, "00", "zz")
	f.Fuzz(func(t *testing.T, body []byte, apiKey, sig, altSig string) {
		h := http.Header{}
		h.Set("X-AUTH-CLIENT", apiKey)
		h.Set("X-HMAC-SIGNATURE", sig)
		h.Set("VRF-HMAC-SIGNATURE", altSig)
		err := p.Verify(h, body)
		if err != nil {
			if !errors.Is(err, providers.ErrBadSignature) {
				t.Fatalf("Verify failed outside its contract: %v", err)
			}
			return
		}
		if apiKey != testKey {
			t.Fatalf("accepted API key %q", apiKey)
		}
		used := sig
		if used == "" {
			used = altSig
		}
		if providers.VerifyHMAC(hmacSHA256, []byte(testSecret), body, used) != nil {
			t.Fatalf("accepted a signature that is not the body's")
		}
	})
}

// FuzzParse checks that Parse never panics, fails only with
// ErrMalformedPayload, returns only valid decisions and is deterministic.
func FuzzParse(f *testing.F) {
	p := fuzzProvider(f)
	addFixtures(f, func(b []byte) { f.Add(b) })
	f.Add([]byte(`{"verification":{"id":"s","code":"9001"}}`))
	f.Add([]byte(`{"id":"s","action":"started"}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ds, err := p.Parse(body)
		if err != nil {
			if !errors.Is(err, providers.ErrMalformedPayload) {
				t.Fatalf("Parse failed outside its contract: %v", err)
			}
			return
		}
		for _, d := range ds {
			if err := d.Validate(); err != nil {
				t.Fatalf("invalid decision %v: %v", d, err)
			}
			if d.Provider != "veriff" {
				t.Fatalf("provider %q", d.Provider)
			}
		}
		again, _ := p.Parse(body)
		if !reflect.DeepEqual(ds, again) {
			t.Fatalf("Parse is not deterministic")
		}
	})
}
