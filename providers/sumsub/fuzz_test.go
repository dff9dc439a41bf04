package sumsub_test

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"hash"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/openkyc/kyc/providers"
	"github.com/openkyc/kyc/providers/sumsub"
)

func addFixtures(f *testing.F, add func(body []byte)) {
	files, err := filepath.Glob(filepath.Join("testdata", "applicant_*.json"))
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

var algs = map[string]func() hash.Hash{"": sha256.New, "HMAC_SHA1_HEX": sha1.New, "HMAC_SHA256_HEX": sha256.New, "HMAC_SHA512_HEX": sha512.New}

// FuzzVerify checks that Verify never panics, fails only with
// ErrBadSignature, and accepts only a documented algorithm with the body's
// own digest under it.
func FuzzVerify(f *testing.F) {
	p := newProvider(f, sumsub.Config{})
	addFixtures(f, func(b []byte) {
		f.Add(b, "", hmacHex(sha256.New, testSecret, b))
		f.Add(b, "HMAC_SHA512_HEX", hmacHex(sha512.New, testSecret, b))
		f.Add(b, "HMAC_SHA1_HEX", hmacHex(sha1.New, testSecret, b))
	})
	f.Add([]byte{}, "HMAC_MD5_HEX", "00")
	f.Fuzz(func(t *testing.T, body []byte, alg, digest string) {
		h := http.Header{}
		h.Set("X-Payload-Digest", digest)
		h.Set("X-Payload-Digest-Alg", alg)
		err := p.Verify(h, body)
		if err != nil {
			if !errors.Is(err, providers.ErrBadSignature) {
				t.Fatalf("Verify failed outside its contract: %v", err)
			}
			return
		}
		hf, ok := algs[h.Get("X-Payload-Digest-Alg")]
		if !ok {
			t.Fatalf("accepted algorithm %q", alg)
		}
		if providers.VerifyHMAC(hf, []byte(testSecret), body, digest) != nil {
			t.Fatalf("accepted a digest that is not the body's")
		}
	})
}

// FuzzParse checks that Parse never panics, fails only with
// ErrMalformedPayload, returns only valid decisions and is deterministic.
func FuzzParse(f *testing.F) {
	p := newProvider(f, sumsub.Config{})
	addFixtures(f, func(b []byte) { f.Add(b) })
	f.Add([]byte(`{"type":"applicantReviewed","applicantId":"a","reviewResult":{"reviewAnswer":"RED"},"createdAtMs":1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ds, err := p.Parse(body)
		if err != nil {
			if !errors.Is(err, providers.ErrMalformedPayload) {
				t.Fatalf("Parse failed outside its contract: %v", err)
			}
			return
		}
		for _, d := range ds {
			if err := d.Validate(); err != nil || d.Provider != "sumsub" {
				t.Fatalf("invalid decision %v: %v", d, err)
			}
		}
		again, _ := p.Parse(body)
		if !reflect.DeepEqual(ds, again) {
			t.Fatalf("Parse is not deterministic")
		}
	})
}
