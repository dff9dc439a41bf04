package httpadapter

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"

	"github.com/openkyc/kyc/verification"
)

// MaxIdempotencyKeyLen bounds the Idempotency-Key header.
const MaxIdempotencyKeyLen = 255

// maxReplayBody bounds the response kept for replay.
const maxReplayBody = 1 << 20

// idempotencyKey returns the request's Idempotency-Key ("" when absent),
// refusing a malformed one: 1-255 printable ASCII characters, sent once.
func idempotencyKey(r *http.Request) (string, error) {
	vs := r.Header.Values(HeaderIdempotencyKey)
	switch len(vs) {
	case 0:
		return "", nil
	case 1:
	default:
		return "", paramProblem(HeaderIdempotencyKey, "must be sent once")
	}
	k := vs[0]
	if k == "" || len(k) > MaxIdempotencyKeyLen {
		return "", paramProblem(HeaderIdempotencyKey, "must have 1 to %d characters", MaxIdempotencyKeyLen)
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return "", paramProblem(HeaderIdempotencyKey, "must be printable ASCII without spaces")
		}
	}
	return k, nil
}

// idemScope separates keys by caller and route: two callers (or two routes)
// may use the same key independently.
func (c *call) idemScope() string {
	who := ""
	switch {
	case c.principal.Credential == Admin:
		who = "admin:" + strconv.FormatInt(c.principal.AdminID, 10)
	default:
		who = "subject:" + strconv.FormatInt(c.subjectID, 10)
	}
	return who + "|" + c.rt.pattern
}

// fingerprint hashes the parts of a request that make it "the same request".
func fingerprint(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		var n [8]byte
		l := len(p)
		for i := range n {
			n[i] = byte(l >> (8 * i))
		}
		h.Write(n[:])
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// captureWriter keeps a copy of the response for replay.
type captureWriter struct {
	http.ResponseWriter
	status   int
	buf      bytes.Buffer
	overflow bool
}

func (w *captureWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *captureWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if !w.overflow {
		if w.buf.Len()+len(b) > maxReplayBody {
			w.overflow = true
			w.buf.Reset()
		} else {
			w.buf.Write(b)
		}
	}
	return w.ResponseWriter.Write(b)
}

func (w *captureWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// idemConflict reports that a record exists for the request's key.
type idemConflict struct {
	old verification.IdempotencyRecord
}

func (e *idemConflict) Error() string { return "httpadapter: idempotency key in use" }

// reservation is a reserved Idempotency-Key whose response is pending.
type reservation struct {
	c   *call
	ctx context.Context
	rec verification.IdempotencyRecord
}

// reserve reserves the request's Idempotency-Key for fingerprint fp. It
// returns a nil reservation when the request has no key, and an
// *idemConflict when the key is already in use. Call it after
// authentication and validation, with the subject resolved: it writes to
// the store.
func (c *call) reserve(fp string) (*reservation, error) {
	key, err := idempotencyKey(c.r)
	if err != nil {
		return nil, err
	}
	if key == "" {
		return nil, nil
	}
	ctx := context.WithoutCancel(c.ctx)
	now := c.a.now().UTC()
	rec := verification.IdempotencyRecord{Scope: c.idemScope(), Key: key, RequestHash: fp, CreatedAt: now, ExpiresAt: now.Add(c.a.ttl)}
	old, err := c.a.svc.ReserveIdempotency(ctx, rec)
	if errors.Is(err, verification.ErrConflict) {
		return nil, &idemConflict{old}
	}
	if err != nil {
		return nil, internalProblem(err)
	}
	return &reservation{c: c, ctx: ctx, rec: rec}, nil
}

// replayOrRefuse answers a request whose key is in use: refused while the
// first request runs (409, ER712) or when fp differs (409, ER718);
// otherwise the kept response is replayed with Idempotent-Replayed: true.
func (c *call) replayOrRefuse(old verification.IdempotencyRecord, fp string) error {
	switch {
	case old.Status == 0:
		return &problem{kind: pIdempotencyInProgress}
	case old.RequestHash != fp:
		return &problem{kind: pIdempotencyReuse}
	}
	h := c.w.Header()
	if old.ContentType != "" {
		h.Set("Content-Type", old.ContentType)
	}
	h.Set("Cache-Control", "no-store")
	h.Set(HeaderIdempotentReplayed, "true")
	c.w.WriteHeader(old.Status)
	_, _ = c.w.Write(old.Body)
	return nil
}

// run executes fn, answering its error itself, and keeps the response
// for replay, unless it is a 400 (a validation failure) or a 5xx: those,
// and panics, release the key so that the request can be retried.
// finalFP, when not nil, gives the request's real fingerprint after fn
// (uploads reserve with a placeholder); false means it is unknown and the
// response is not kept. When keeping fails the key is released too, so a
// retry is never refused as "in progress" for the whole TTL.
func (res *reservation) run(fn func() error, finalFP func() (string, bool)) error {
	c := res.c
	cw := &captureWriter{ResponseWriter: c.w}
	outer := c.w
	c.w = cw
	done := false
	defer func() {
		c.w = outer
		if !done {
			// A panic: let the next request with this key run.
			_ = res.c.a.svc.ReleaseIdempotency(res.ctx, res.rec.Scope, res.rec.Key)
		}
	}()
	if err := fn(); err != nil {
		c.fail(err)
	}
	done = true
	rec := res.rec
	// Kept: the answers of requests that ran. Released: validation
	// failures (400: the corrected request may reuse the key, as with
	// Stripe), server errors and oversized answers.
	keep := cw.status != 0 && cw.status != http.StatusBadRequest && cw.status < 500 && !cw.overflow
	if keep && finalFP != nil {
		var ok bool
		rec.RequestHash, ok = finalFP()
		keep = ok
	}
	if !keep {
		if err := res.c.a.svc.ReleaseIdempotency(res.ctx, rec.Scope, rec.Key); err != nil {
			c.a.log.Error().Err(err).Str("route", c.pattern).Msg("httpadapter: releasing an idempotency key")
		}
		return nil
	}
	rec.Status, rec.ContentType, rec.Body = cw.status, cw.Header().Get("Content-Type"), cw.buf.Bytes()
	var err error
	if rec.RequestHash == res.rec.RequestHash {
		err = res.c.a.svc.CompleteIdempotency(res.ctx, rec)
	} else {
		err = res.c.a.svc.RekeyIdempotency(res.ctx, rec)
	}
	if err != nil {
		c.a.log.Error().Err(err).Str("route", c.pattern).Msg("httpadapter: keeping an idempotent response")
		_ = res.c.a.svc.ReleaseIdempotency(res.ctx, rec.Scope, rec.Key)
	}
	return nil
}

// placeholderFingerprint reserves a key before the request's fingerprint
// is known; it matches no request.
func placeholderFingerprint() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "pending:" + hex.EncodeToString(b[:])
}

// idempotent runs fn under the request's Idempotency-Key, if any, with
// Stripe's semantics (see reserve, replayOrRefuse and run). fp is the
// request's fingerprint.
func (c *call) idempotent(fp string, fn func() error) error {
	res, err := c.reserve(fp)
	var ic *idemConflict
	switch {
	case errors.As(err, &ic):
		return c.replayOrRefuse(ic.old, fp)
	case err != nil:
		return err
	case res == nil:
		return fn()
	}
	return res.run(fn, nil)
}
