package documents_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/openkyc/kyc/documents"
)

func ExampleSigner() {
	now := time.Date(2025, 1, 15, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	signer, err := documents.NewSigner([]documents.SigningKey{
		{ID: "2025-01", Secret: []byte("an example secret of at least 32 bytes")},
	}, documents.SignerOptions{Now: clock, TTL: time.Hour})
	if err != nil {
		panic(err)
	}

	link := signer.SignURL(http.MethodGet, "/api/v1/files/0123456789abcdef0123456789abcdef")
	fmt.Println(documents.Redact(link))

	// In the file handler: r.Method, r.URL.Path, r.URL.Query().
	u, _ := url.Parse(link)
	fmt.Println("now:", signer.Verify(http.MethodGet, u.Path, u.Query()))
	fmt.Println("other path:", signer.Verify(http.MethodGet, "/api/v1/files/other", u.Query()))

	now = now.Add(time.Hour)
	fmt.Println("after one hour:", signer.Verify(http.MethodGet, u.Path, u.Query()))
	now = now.Add(time.Second)
	err = signer.Verify(http.MethodGet, u.Path, u.Query())
	fmt.Println("one second later:", errors.Is(err, documents.ErrURLExpired))
	// Output:
	// /api/v1/files/0123456789abcdef0123456789abcdef?exp=1736946000&kid=2025-01&sig=REDACTED
	// now: <nil>
	// other path: documents: signed URL invalid: signature mismatch
	// after one hour: <nil>
	// one second later: true
}

func ExampleSniff() {
	upload := io.MultiReader(
		bytes.NewReader([]byte("\x89PNG\r\n\x1a\n")),
		strings.NewReader("...the rest of the image..."),
	)
	ct, body, err := documents.Sniff(upload, documents.DefaultAllowed)
	if err != nil {
		panic(err)
	}
	all, _ := io.ReadAll(body)
	fmt.Println(ct, len(all))

	// A client calling an HTML page "passport.jpg" gets a clear refusal.
	_, _, err = documents.Sniff(strings.NewReader("<html><body>"), documents.DefaultAllowed)
	fmt.Println(err)
	fmt.Println(errors.Is(err, documents.ErrUnsupportedContent))

	_, _, err = documents.Sniff(strings.NewReader(""), nil)
	fmt.Println(err)
	// Output:
	// image/png 35
	// documents: unsupported file content: detected unrecognised content, allowed image/jpeg, image/png, application/pdf
	// true
	// documents: file is empty
}

func ExampleRedact() {
	fmt.Println(documents.Redact("https://kyc.example.com/files/abc?exp=1736946000&kid=k1&sig=c2VjcmV0"))
	// Output:
	// https://kyc.example.com/files/abc?exp=1736946000&kid=k1&sig=REDACTED
}

func ExampleNewSealedStore() {
	ctx := context.Background()
	root, err := os.MkdirTemp("", "kyc-example-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(root)

	files, err := documents.NewFileStore(filepath.Join(root, "blobs"))
	if err != nil {
		panic(err)
	}
	dataKeys, err := documents.NewFileKeyStore(filepath.Join(root, "keys"))
	if err != nil {
		panic(err)
	}
	master, err := documents.GenerateMasterKey("2025-01") // in production: loaded from a secret manager
	if err != nil {
		panic(err)
	}
	keyring, err := documents.NewKeyring(master)
	if err != nil {
		panic(err)
	}
	store, err := documents.NewSealedStore(files, keyring, dataKeys)
	if err != nil {
		panic(err)
	}

	_, body, err := documents.Sniff(strings.NewReader("%PDF-1.7 a proof of address"), nil)
	if err != nil {
		panic(err)
	}
	blob, err := store.Put(ctx, "42", body, documents.DefaultMaxFileSize)
	if err != nil {
		panic(err)
	}
	rc, err := store.Open(ctx, blob.Key)
	if err != nil {
		panic(err)
	}
	content, _ := io.ReadAll(rc)
	_ = rc.Close()
	fmt.Printf("%d bytes: %s\n", blob.Size, content)

	// The subject is forgotten: its blobs can never be decrypted again.
	if err := store.EraseOwner(ctx, "42"); err != nil {
		panic(err)
	}
	_, err = store.Open(ctx, blob.Key)
	fmt.Println(errors.Is(err, documents.ErrErased))
	// Output:
	// 27 bytes: %PDF-1.7 a proof of address
	// true
}

func ExampleFileStore_Put() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "kyc-example-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	store, err := documents.NewFileStore(dir)
	if err != nil {
		panic(err)
	}

	_, err = store.Put(ctx, "42", strings.NewReader("0123456789"), 9)
	fmt.Println(errors.Is(err, documents.ErrTooLarge))

	_, err = store.Open(ctx, "../../etc/passwd")
	fmt.Println(errors.Is(err, documents.ErrInvalidKey))
	// Output:
	// true
	// true
}
