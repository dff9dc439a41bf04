package documents

import "net/url"

// URLSigner issues and checks the signed URLs that grant access to one
// document file without a session (the image links of the identity verification API). Signer,
// the HMAC-SHA256 implementation of this package, is the default; a host
// implements URLSigner to sign with its own key service (a KMS, an HSM) or to
// hand out URLs of another origin, such as S3 presigned URLs.
//
// Implementations must be safe for concurrent use and must not log or return
// in errors the signatures they check.
type URLSigner interface {
	// SignURL returns a URL granting method on path, the decoded request path
	// of the file route ("/kyc/api/v1/files/0123..."). A root-relative result
	// ("/kyc/api/v1/files/...?exp=...") is served by the adapter's file route,
	// which calls Verify; an absolute result ("https://bucket.example/...")
	// is handed to the client as is and never reaches Verify.
	SignURL(method, path string) string

	// Verify checks a request to the file route: its method, its decoded
	// path (r.URL.Path) and its query. It returns nil for a genuine, unexpired
	// URL, an error matching ErrURLExpired for a genuine URL past its expiry
	// (the client should fetch a fresh one), and any other error (ErrURLInvalid,
	// ErrURLUnknownKey) for everything else.
	Verify(method, path string, query url.Values) error
}

var _ URLSigner = (*Signer)(nil)
