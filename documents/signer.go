package documents

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Query parameters of a signed URL.
const (
	// ParamExpires is the expiry, in Unix seconds.
	ParamExpires = "exp"
	// ParamKeyID is the id of the signing key.
	ParamKeyID = "kid"
	// ParamSignature is the HMAC-SHA256 signature, unpadded base64url.
	ParamSignature = "sig"
)

// MinSigningSecretLen is the shortest accepted signing secret: 32 bytes.
const MinSigningSecretLen = 32

// DefaultURLTTL is the lifetime of signed URLs when SignerOptions.TTL is
// zero: one hour, as the identity verification API documents for identity-verification images.
const DefaultURLTTL = time.Hour

// redacted replaces signatures in Redact's output.
const redacted = "REDACTED"

// SigningKey is an HMAC-SHA256 key for signed URLs. Its String method prints
// only the id, so it is safe to log by accident.
type SigningKey struct {
	// ID names the key in signed URLs (the kid parameter): 1 to 64 ASCII
	// letters, digits, '-', '_' or '.'.
	ID string
	// Secret is at least 32 random bytes.
	Secret []byte
	// RetiredAt is when the key stopped signing; zero means the key is
	// active. A retired key never signs, and verifies only URLs expiring no
	// later than RetiredAt plus the TTL, that is URLs it signed before its
	// retirement. Once that moment has passed the key can be removed from
	// configuration.
	RetiredAt time.Time
}

// String returns the key id only, never the secret.
func (k SigningKey) String() string { return "SigningKey(" + k.ID + ")" }

// GoString returns the key id only, never the secret.
func (k SigningKey) GoString() string { return k.String() }

// SignerOptions configures a Signer.
type SignerOptions struct {
	// Now returns the current time; time.Now when nil. Tests inject a fixed
	// clock.
	Now func() time.Time
	// TTL is how long a signed URL stays valid: DefaultURLTTL when zero, at
	// least one second otherwise.
	TTL time.Duration
}

// Signer signs and verifies URLs that grant access to one path with one
// method until an expiry, without a session: the links to document images
// handed to clients (identity verification's images). It is independent of net/http: an HTTP
// adapter calls SignURL when rendering a response and Verify with
// r.Method, r.URL.Path and r.URL.Query() when serving the file.
//
// A signed URL is path?exp=<unix seconds>&kid=<key id>&sig=<signature> where
// the signature is HMAC-SHA256, keyed by the key's secret, of
//
//	method "\n" path "\n" exp "\n" kid
//
// encoded as unpadded base64url. The path is the decoded path, as in
// url.URL.Path. Expiry has a resolution of one second: a URL signed at t with
// a TTL of one hour is valid up to and including the second t+3600 s and
// refused from t+3601 s.
//
// Key rotation: list keys oldest first. The Signer signs with the last key
// that is not retired and verifies with any listed key. To rotate, append a
// new key and set RetiredAt on the old one to the time the new configuration
// is deployed; after RetiredAt+TTL the old key verifies nothing any more and
// can be deleted from the list.
//
// A Signer is immutable and safe for concurrent use.
type Signer struct {
	keys    map[string]signerKey
	current string
	now     func() time.Time
	ttl     time.Duration
}

// signerKey is a SigningKey as kept by a Signer.
type signerKey struct {
	secret []byte
	// lastExpiry is the latest expiry a URL signed with the key may carry,
	// in Unix seconds: RetiredAt+TTL for a retired key, unbounded otherwise.
	lastExpiry int64
	retired    bool
	// macs holds the key's HMAC states between uses (*keyedMAC): hmac.New
	// allocates six objects, and a route answering with three image links
	// signs three times per request.
	macs *sync.Pool
}

// keyedMAC is one HMAC-SHA256 state of a key, with the buffers of one
// signature.
type keyedMAC struct {
	h   hash.Hash
	msg []byte
	sum [sha256.Size]byte
}

// NewSigner returns a Signer using keys (oldest first). It fails if keys is
// empty, an id is invalid or repeated, a secret is shorter than
// MinSigningSecretLen, no key is active, or the TTL is below one second.
// Secrets are copied.
func NewSigner(keys []SigningKey, opts SignerOptions) (*Signer, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.TTL == 0 {
		opts.TTL = DefaultURLTTL
	}
	if opts.TTL < time.Second {
		return nil, fmt.Errorf("documents: signer: TTL %v is shorter than one second", opts.TTL)
	}
	if len(keys) == 0 {
		return nil, errors.New("documents: signer: at least one signing key is required")
	}
	s := &Signer{keys: make(map[string]signerKey, len(keys)), now: opts.Now, ttl: opts.TTL}
	for _, k := range keys {
		if err := validateKeyID(k.ID); err != nil {
			return nil, fmt.Errorf("documents: signer: %w", err)
		}
		if _, dup := s.keys[k.ID]; dup {
			return nil, fmt.Errorf("documents: signer: duplicate key id %q", k.ID)
		}
		if len(k.Secret) < MinSigningSecretLen {
			return nil, fmt.Errorf("documents: signer: key %q: secret is %d bytes, want at least %d", k.ID, len(k.Secret), MinSigningSecretLen)
		}
		sk := signerKey{secret: slices.Clone(k.Secret), lastExpiry: math.MaxInt64}
		secret := sk.secret
		sk.macs = &sync.Pool{New: func() any { return &keyedMAC{h: hmac.New(sha256.New, secret)} }}
		if !k.RetiredAt.IsZero() {
			sk.retired = true
			sk.lastExpiry = k.RetiredAt.Add(opts.TTL).Unix()
		} else {
			s.current = k.ID
		}
		s.keys[k.ID] = sk
	}
	if s.current == "" {
		return nil, errors.New("documents: signer: every key is retired; add an active key (zero RetiredAt)")
	}
	return s, nil
}

// TTL returns the lifetime of the URLs the Signer signs.
func (s *Signer) TTL() time.Duration { return s.ttl }

// Sign returns the query parameters granting method on path until the
// returned expiry (now + TTL, truncated to the second, in UTC). The method is
// compared exactly by Verify ("GET" is not "get"); a method that is not a
// valid HTTP token yields parameters that never verify.
func (s *Signer) Sign(method, path string) (query url.Values, expires time.Time) {
	exp, expStr, sig := s.sign(method, path)
	return url.Values{
		ParamExpires:   {expStr},
		ParamKeyID:     {s.current},
		ParamSignature: {sig},
	}, time.Unix(exp, 0).UTC()
}

// sign returns the expiry of a URL signed now for method and path, as a
// number and as its parameter, and the signature parameter.
func (s *Signer) sign(method, path string) (exp int64, expStr, sig string) {
	exp = s.now().Add(s.ttl).Unix()
	expStr = strconv.FormatInt(exp, 10)
	mac := s.mac(s.keys[s.current], method, path, expStr, s.current)
	return exp, expStr, base64.RawURLEncoding.EncodeToString(mac[:])
}

// SignURL returns path, escaped, followed by the signed query:
// "/files/abc?exp=...&kid=...&sig=...". Prepend the scheme and host, if
// needed, without changing the path. The query is the one url.Values.Encode
// gives Sign's parameters (sorted by name), written without building them.
func (s *Signer) SignURL(method, path string) string {
	_, expStr, sig := s.sign(method, path)
	return (&url.URL{Path: path}).EscapedPath() + "?" + ParamExpires + "=" + expStr +
		"&" + ParamKeyID + "=" + url.QueryEscape(s.current) + "&" + ParamSignature + "=" + sig
}

// Verify checks that q (the query of a request, r.URL.Query()) is a valid
// signature of method and path (r.Method and r.URL.Path). It returns nil, or
// an error matching:
//
//   - ErrURLInvalid when a parameter is missing, repeated or malformed, when
//     any parameter other than exp, kid and sig is present (refused rather
//     than ignored, so a signed URL cannot be reused to smuggle parameters to
//     the handler), when the signature does not match, or when a retired key
//     signed past its retirement;
//   - ErrURLUnknownKey when kid names no configured key;
//   - ErrURLExpired when the URL is genuine but its expiry has passed.
//
// The signature is checked before the expiry, so ErrURLExpired reveals
// nothing about forged URLs. Signatures are compared in constant time.
func (s *Signer) Verify(method, path string, q url.Values) error {
	for name := range q {
		if name != ParamExpires && name != ParamKeyID && name != ParamSignature {
			return fmt.Errorf("%w: unexpected parameter %q", ErrURLInvalid, clip(name))
		}
	}
	for _, name := range []string{ParamExpires, ParamKeyID, ParamSignature} {
		switch n := len(q[name]); {
		case n == 0:
			return fmt.Errorf("%w: missing parameter %q", ErrURLInvalid, name)
		case n > 1:
			return fmt.Errorf("%w: repeated parameter %q", ErrURLInvalid, name)
		}
	}
	if !isToken(method) {
		return fmt.Errorf("%w: invalid method", ErrURLInvalid)
	}
	expStr, kid, sigStr := q.Get(ParamExpires), q.Get(ParamKeyID), q.Get(ParamSignature)
	exp, ok := parseUnix(expStr)
	if !ok {
		return fmt.Errorf("%w: malformed %q parameter", ErrURLInvalid, ParamExpires)
	}
	key, ok := s.keys[kid]
	if !ok {
		return fmt.Errorf("%w: %q", ErrURLUnknownKey, clip(kid))
	}
	sig, err := base64.RawURLEncoding.Strict().DecodeString(sigStr)
	if err != nil || len(sig) != sha256.Size {
		return fmt.Errorf("%w: malformed %q parameter", ErrURLInvalid, ParamSignature)
	}
	if mac := s.mac(key, method, path, expStr, kid); !hmac.Equal(sig, mac[:]) {
		return fmt.Errorf("%w: signature mismatch", ErrURLInvalid)
	}
	if exp > key.lastExpiry {
		return fmt.Errorf("%w: key %q signed after its retirement", ErrURLInvalid, kid)
	}
	if s.now().Unix() > exp {
		return fmt.Errorf("%w: at %s", ErrURLExpired, time.Unix(exp, 0).UTC().Format(time.RFC3339))
	}
	return nil
}

// mac computes the signature of a URL with key: HMAC-SHA256 of method
// "\n" path "\n" exp "\n" kid, on one of the key's pooled states.
func (s *Signer) mac(key signerKey, method, path, exp, kid string) [sha256.Size]byte {
	m := key.macs.Get().(*keyedMAC)
	m.h.Reset()
	m.msg = append(m.msg[:0], method...)
	m.msg = append(append(m.msg, '\n'), path...)
	m.msg = append(append(m.msg, '\n'), exp...)
	m.msg = append(append(m.msg, '\n'), kid...)
	m.h.Write(m.msg)
	m.h.Sum(m.sum[:0])
	sum := m.sum
	if cap(m.msg) > maxPooledMessage {
		m.msg = nil // a long path given to Verify: not kept
	}
	key.macs.Put(m)
	return sum
}

// maxPooledMessage bounds the message buffer a pooled HMAC state keeps.
const maxPooledMessage = 4 << 10

// Redact returns signedURL with the value of every sig parameter (in any
// letter case, escaped or padded with spaces) and of every parameter whose
// name cannot be unescaped replaced by "REDACTED", for logs. The rest of
// the URL is kept as is. It never fails: text that is not a URL is returned
// with the same treatment applied to whatever follows its first '?'.
func Redact(signedURL string) string {
	head, query, ok := strings.Cut(signedURL, "?")
	if !ok {
		return signedURL
	}
	query, fragment, hasFragment := strings.Cut(query, "#")
	var b strings.Builder
	b.Grow(len(signedURL))
	b.WriteString(head)
	b.WriteByte('?')
	for query != "" {
		end := strings.IndexAny(query, "&;")
		part, sep := query, ""
		if end >= 0 {
			part, sep, query = query[:end], query[end:end+1], query[end+1:]
		} else {
			query = ""
		}
		name, _, _ := strings.Cut(part, "=")
		if n, err := url.QueryUnescape(name); err != nil || strings.EqualFold(strings.TrimSpace(n), ParamSignature) {
			part = name + "=" + redacted
		}
		b.WriteString(part)
		b.WriteString(sep)
	}
	if hasFragment {
		b.WriteByte('#')
		b.WriteString(fragment)
	}
	return b.String()
}

// parseUnix parses a canonical non-negative decimal integer (no sign, no
// leading zero), so one expiry has exactly one spelling.
func parseUnix(s string) (int64, bool) {
	if s == "" || len(s) > 1 && s[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}

// isToken reports whether s is a valid HTTP method token (RFC 9110).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// clip shortens attacker-supplied text quoted in error messages.
func clip(s string) string {
	const limit = 40
	if len(s) > limit {
		return s[:limit] + "..."
	}
	return s
}
