package httpadapter

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/storage/memory"
	"github.com/openkyc/kyc/verification"
)

func (b *testBundle) postKey(path, token, key, body string) resp {
	b.t.Helper()
	return b.do(req{method: "POST", path: path, token: token, body: []byte(body), header: map[string]string{HeaderIdempotencyKey: key}})
}

func TestIdempotentReplay(t *testing.T) {
	t.Parallel()
	b := setup(t)
	path := "/api/v2/user/requirements/nationality"
	first := b.postKey(path, tokOwner, "key-1", `{"answer":"NL"}`)
	require.Equal(t, 200, first.status, string(first.body))
	require.Empty(t, first.header.Get(HeaderIdempotentReplayed))
	// Without the key the same request conflicts (already approved); with
	// it the first answer is replayed.
	requireV2Error(t, b.post(path, tokOwner, `{"answer":"NL"}`), 409, CodeConflict)
	again := b.postKey(path, tokOwner, "key-1", `{"answer":"NL"}`)
	require.Equal(t, 200, again.status)
	require.Equal(t, first.body, again.body)
	require.Equal(t, "true", again.header.Get(HeaderIdempotentReplayed))
	require.Equal(t, "application/json", again.header.Get("Content-Type"))
	st, err := b.store.GetRequirementState(b.ctx, b.owner.ID, "nationality")
	require.NoError(t, err)
	require.Equal(t, 1, st.Attempts, "the replay did not run the request again")

	// The same key with another body is refused.
	requireCatalogText(t, b.postKey(path, tokOwner, "key-1", `{"answer":"DE"}`), 409, CodeIdempotencyReuse)
	// A key names one request: the same route with another path value is
	// another request.
	requireCatalogText(t, b.postKey("/api/v2/user/requirements/isBusiness", tokOwner, "key-1", `{"answer":true}`), 409, CodeIdempotencyReuse)
	// Keys are scoped per route: on another route the key is free.
	r := b.postKey("/api/v2/my/verifications", tokOwner, "key-1", `{"data":{"documents":{"type":2,"files":["f"]},"uuid":"nope"}}`)
	requireV2Error(t, r, 404, CodeNotFound)
	// Another user's identical key is independent.
	r = b.postKey(path, tokOther, "key-1", `{"answer":"NL"}`)
	require.Equal(t, 200, r.status)
	require.Empty(t, r.header.Get(HeaderIdempotentReplayed))
}

func TestIdempotencyKeepsRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t)
	path := "/api/v2/user/requirements/verificationFlag"
	// A refusal by the Service (4xx) is kept and replayed.
	r1 := b.postKey(path, tokOwner, "k", `{"answer":true}`)
	requireV2Error(t, r1, 403, CodeForbidden)
	r2 := b.postKey(path, tokOwner, "k", `{"answer":true}`)
	require.Equal(t, r1.body, r2.body)
	require.Equal(t, "true", r2.header.Get(HeaderIdempotentReplayed))
	// A request refused before it runs (bad body) reserves nothing: the
	// key stays free for the corrected request.
	requireParam(t, b.postKey("/api/v2/user/requirements/isBusiness", tokOwner, "k2", `{"answer":1}`), "answer")
	require.Equal(t, 200, b.postKey("/api/v2/user/requirements/isBusiness", tokOwner, "k2", `{"answer":true}`).status)
}

func TestIdempotencyInProgressAndTTL(t *testing.T) {
	t.Parallel()
	b := setup(t)
	store := b.store
	path := "/api/v2/user/requirements/emailCode"
	body := `{"answer":"123456"}`
	// A request still running holds the key.
	now := b.clock.Now()
	_, err := store.ReserveIdempotency(b.ctx, verification.IdempotencyRecord{
		Scope: fmt.Sprintf("subject:%d|%s", b.owner.ID, RouteAnswer), Key: "busy", RequestHash: fingerprint([]byte("emailCode"), []byte(body)),
		CreatedAt: now, ExpiresAt: now.Add(time.Hour),
	})
	require.NoError(t, err)
	r := b.postKey(path, tokOwner, "busy", body)
	requireV2Error(t, r, 409, CodeConflict)
	require.Contains(t, errorMessage(t, r, CodeConflict), "still being processed")

	// After the TTL a key is forgotten: the request runs again.
	first := b.postKey(path, tokOwner, "ttl", body)
	require.Equal(t, 200, first.status)
	b.clock.Advance(DefaultIdempotencyTTL - time.Second)
	require.Equal(t, "true", b.postKey(path, tokOwner, "ttl", body).header.Get(HeaderIdempotentReplayed))
	b.clock.Advance(2 * time.Second)
	requireV2Error(t, b.postKey(path, tokOwner, "ttl", body), 409, CodeConflict)
}

func TestIdempotencyKeyFormat(t *testing.T) {
	t.Parallel()
	b := setup(t)
	path := "/api/v2/user/requirements/isBusiness"
	for _, k := range []string{strings.Repeat("k", 256), "has space", "tab\tkey", "ключ"} {
		requireParam(t, b.postKey(path, tokOwner, k, `{"answer":true}`), HeaderIdempotencyKey)
	}
	r := b.do(req{method: "POST", path: path, token: tokOwner, body: []byte(`{"answer":true}`)})
	require.Equal(t, 200, r.status)
	// Two keys.
	r = b.do(req{method: "POST", path: "/api/v2/user/requirements/nationality", token: tokOwner, body: []byte(`{"answer":"NL"}`),
		multi: map[string][]string{HeaderIdempotencyKey: {"a", "b"}}})
	requireParam(t, r, HeaderIdempotencyKey)
}

// failingStore fails the next n transactions with an internal error.
type failingStore struct {
	*memory.Store
	fail atomic.Int32
}

func (s *failingStore) InTx(ctx context.Context, fn func(ctx context.Context, tx verification.Store) error) error {
	if s.fail.Add(-1) >= 0 {
		return errors.New("disk on fire")
	}
	return s.Store.InTx(ctx, fn)
}

func TestIdempotencyReleasesOnServerError(t *testing.T) {
	t.Parallel()
	fs := &failingStore{Store: memory.New()}
	b := setup(t, setupOpts{store: fs})
	fs.fail.Store(1)
	path := "/api/v2/user/requirements/isBusiness"
	r := b.postKey(path, tokOwner, "k", `{"answer":true}`)
	requireCatalogText(t, r, 500, CodeGeneral)
	require.Contains(t, b.logs.String(), "disk on fire")
	require.NotContains(t, string(r.body), "disk on fire")
	// The key was released: the retry runs.
	r = b.postKey(path, tokOwner, "k", `{"answer":true}`)
	require.Equal(t, 200, r.status, string(r.body))
	require.Empty(t, r.header.Get(HeaderIdempotentReplayed))
}

func TestIdempotentUpload(t *testing.T) {
	t.Parallel()
	b := setup(t)
	upload := func(key string, file []byte) resp {
		body, ct := multipartBody(t, [][2]string{{FieldDocumentType, "passport"}, {FieldSide, "front"}}, file)
		return b.do(req{method: "POST", path: "/api/v2/my/verifications/files", token: tokOwner, body: body, ctype: ct, header: map[string]string{HeaderIdempotencyKey: key}})
	}
	first := upload("u1", pngBytes)
	require.Equal(t, 201, first.status, string(first.body))
	// A retry (with a new multipart boundary) replays the same file id.
	again := upload("u1", pngBytes)
	require.Equal(t, 201, again.status)
	require.Equal(t, first.body, again.body)
	require.Equal(t, "true", again.header.Get(HeaderIdempotentReplayed))
	list, err := b.store.ListFiles(b.ctx, verification.FileFilter{SubjectID: b.owner.ID})
	require.NoError(t, err)
	require.Len(t, list, 1, "one file stored")
	// Other bytes under the same key are refused.
	other := append(append([]byte{}, pngBytes...), 'x')
	requireCatalogText(t, upload("u1", other), 409, CodeIdempotencyReuse)
	// A refused upload is kept too (its fingerprint covers the whole file).
	bad := upload("u2", []byte("GIF89a......"))
	requireV2Error(t, bad, 415, CodeUnsupportedMedia)
	require.Equal(t, "true", upload("u2", []byte("GIF89a......")).header.Get(HeaderIdempotentReplayed))
	// While the first upload runs, a duplicate is refused.
	now := b.clock.Now()
	_, err = b.store.ReserveIdempotency(b.ctx, verification.IdempotencyRecord{
		Scope: fmt.Sprintf("subject:%d|%s", b.owner.ID, RouteUpload), Key: "u3", RequestHash: placeholderFingerprint(), CreatedAt: now, ExpiresAt: now.Add(time.Hour),
	})
	require.NoError(t, err)
	requireV2Error(t, upload("u3", pngBytes), 409, CodeConflict)
}

func TestIdempotentAdminRoutes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	app := b.submittedApplication(b.owner.ID)
	path := fmt.Sprintf("/api/v2/applications/%d/decision", app.ID)
	first := b.postKey(path, tokAdmin, "d1", `{"decision":"approved"}`)
	require.Equal(t, 200, first.status)
	again := b.postKey(path, tokAdmin, "d1", `{"decision":"approved"}`)
	require.Equal(t, first.body, again.body)
	requireCatalogText(t, b.postKey(path, tokAdmin, "d1", `{"decision":"rejected","reason":"x"}`), 409, CodeIdempotencyReuse)
	// Another admin, same key: its own request (which conflicts now).
	requireV2Error(t, b.postKey(path, tokAdminEU, "d1", `{"decision":"approved"}`), 409, CodeConflict)
}
