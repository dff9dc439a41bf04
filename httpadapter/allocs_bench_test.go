package httpadapter

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/internal/cputime"
	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

// discardWriter is a reusable http.ResponseWriter that keeps nothing, so
// that a benchmark counts the handler's allocations, not a recorder's.
type discardWriter struct {
	h    http.Header
	code int
	n    int
}

func (w *discardWriter) Header() http.Header { return w.h }

func (w *discardWriter) WriteHeader(code int) { w.code = code }

func (w *discardWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = 200
	}
	w.n += len(p)
	return len(p), nil
}

// BenchmarkReadRoutes serves the read routes through the adapter's
// handler in process (no network, a reused writer and request) on the
// SQLite store and reports time and allocations per request, the store's
// share included: the status route for a new user (seed 000's two states)
// and a verified one (a state per requirement, all approved), the grant
// history, the pending request, the wizard resume (user token, and API
// key with X-User-Identifier) and the identity verification (three signed
// image URLs). Issue 19's target: at most 60 allocations
// per status request.
func BenchmarkReadRoutes(b *testing.B) {
	ctx := context.Background()
	store, svc := benchSQLiteService(b)
	ladder := svc.Ladder()
	newUser := benchNewUser(b, svc)
	verified, err := svc.CreateSubject(ctx, verification.CreateSubjectParams{Identifier: verificationtest.Identifier()})
	require.NoError(b, err)
	for _, r := range ladder.RequirementsUpTo(ladder.Top().ID) {
		require.NoError(b, store.PutRequirementState(ctx, verification.RequirementState{SubjectID: verified.ID, Name: r.Name, Status: levels.Approved}))
	}
	wizard, err := svc.CreateSubject(ctx, verification.CreateSubjectParams{Identifier: verificationtest.Identifier()})
	require.NoError(b, err)
	step, err := svc.InitWizard(ctx, wizard.ID) // opens the application: the resumes below write nothing
	require.NoError(b, err)
	require.False(b, step.Done())
	// The verified user's identity check: an approved session with its three images.
	now := time.Now().UTC().Truncate(time.Microsecond)
	for _, id := range []string{"bench-front", "bench-back", "bench-face"} {
		require.NoError(b, store.CreateFile(ctx, verification.File{ID: id, SubjectID: verified.ID, BlobKey: "blobs/" + id, ContentType: "image/png", Status: levels.Approved, CreatedAt: now}))
	}
	require.NoError(b, store.AddIDSession(ctx, verification.IDSession{ID: "bench-session", SubjectID: verified.ID, Provider: verification.ProviderManual,
		Status: verification.IDSessionApproved, CreatedAt: now, FrontFileID: "bench-front", BackFileID: "bench-back", FaceFileID: "bench-face"}))
	signer, err := documents.NewSigner([]documents.SigningKey{{ID: "k1", Secret: bytes.Repeat([]byte("s"), 32)}}, documents.SignerOptions{})
	require.NoError(b, err)
	auth, err := NewStaticAuthenticator(map[string]StaticToken{
		"new-token":      {Principal: Principal{Credential: User, SubjectID: newUser.ID, Scopes: allScopes}},
		"verified-token": {Principal: Principal{Credential: User, SubjectID: verified.ID, Scopes: allScopes}},
		"wizard-token":   {Principal: Principal{Credential: User, SubjectID: wizard.ID, Scopes: allScopes}},
		"api-key":        {Principal: Principal{Credential: APIKey}},
	}, nil)
	require.NoError(b, err)
	a, err := New(svc, Options{Authenticator: auth, Signer: signer, BaseURL: "https://kyc.example.com"})
	require.NoError(b, err)
	h := a.Handler("/kyc")
	for _, c := range []struct{ name, path, token, ident string }{
		{"status-new", "/api/v2/user/verification-status", "new-token", ""},
		{"status-verified", "/api/v2/user/verification-status", "verified-token", ""},
		{"grants", "/api/v2/my/verifications?limit=10&offset=0&sort_order=desc&sort_by=createTime", "verified-token", ""},
		{"pending", "/external/api/v1/me/pending_verification_request", "wizard-token", ""},
		{"wizard", "/api/v2/my/verifications/wizard", "wizard-token", ""},
		{"wizard-apikey", "/api/v2/my/verifications/wizard", "api-key", wizard.Identifier},
		{"idverify", "/api/v1/me/natural-person/id-verification", "verified-token", ""},
	} {
		b.Run(c.name, func(b *testing.B) {
			// Cancellable, as net/http's request contexts are (database/sql
			// and the driver then watch it during each query).
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, "GET", "/kyc"+c.path, nil)
			require.NoError(b, err)
			req.Header.Set("Authorization", "Bearer "+c.token)
			if c.ident != "" {
				req.Header.Set(HeaderUserIdentifier, c.ident)
			}
			w := &discardWriter{h: http.Header{}}
			h.ServeHTTP(w, req)
			require.Equal(b, 200, w.code)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				clear(w.h)
				w.code = 0
				h.ServeHTTP(w, req)
			}
			b.StopTimer()
			require.Equal(b, 200, w.code)
		})
	}
}

// BenchmarkAccessLog measures the access log's cost on the status route
// (seed 000's new user, SQLite, in process as BenchmarkReadRoutes): three
// adapters on one service, their loggers at warn (no line), at info (one
// JSON line per request to a file, as the demo server writes its standard
// error) and at info to io.Discard (the line formatted, no write(2): the
// adapter's and zerolog's share, without the host's writer). Each
// iteration serves a block of requests through each in turn, so all three
// see the same machine load; it reports their wall and CPU time
// (internal/cputime) per request and the ratios info/warn and
// info-discard/warn. Run it with -count 10 and read the ratios' spread
// with benchstat.
func BenchmarkAccessLog(b *testing.B) {
	ctx := context.Background()
	_, svc := benchSQLiteService(b)
	sub := benchAnsweredUser(b, svc)
	auth, err := NewStaticAuthenticator(map[string]StaticToken{"new-token": {Principal: Principal{Credential: User, SubjectID: sub.ID, Scopes: allScopes}}}, nil)
	require.NoError(b, err)
	logFile, err := os.Create(filepath.Join(b.TempDir(), "access.log"))
	require.NoError(b, err)
	b.Cleanup(func() { _ = logFile.Close() })
	ctx, cancel := context.WithCancel(ctx) // cancellable, as net/http's
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", "/kyc/api/v2/user/verification-status", nil)
	require.NoError(b, err)
	req.Header.Set("Authorization", "Bearer new-token")
	type variant struct {
		name string
		h    http.Handler
		wall time.Duration
		cpu  time.Duration
	}
	variants := []*variant{}
	for _, c := range []struct {
		name  string
		level zerolog.Level
		out   io.Writer
	}{
		{"warn", zerolog.WarnLevel, logFile},
		{"info", zerolog.InfoLevel, logFile},
		{"info-discard", zerolog.InfoLevel, io.Discard},
	} {
		log := zerolog.New(c.out).Level(c.level).With().Timestamp().Logger()
		a, err := New(svc, Options{Authenticator: auth, Logger: &log})
		require.NoError(b, err)
		variants = append(variants, &variant{name: c.name, h: a.Handler("/kyc")})
	}
	const block = 64 // requests per variant and iteration
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, v := range variants {
			t0, c0 := time.Now(), cputime.Process()
			for range block {
				clear(w.h)
				w.code = 0
				v.h.ServeHTTP(w, req)
			}
			v.wall += time.Since(t0)
			v.cpu += cputime.Process() - c0
		}
	}
	b.StopTimer()
	require.Equal(b, 200, w.code)
	n := float64(b.N * block)
	for _, v := range variants {
		b.ReportMetric(float64(v.wall)/n, v.name+"-ns/req")
		b.ReportMetric(float64(v.cpu)/n, v.name+"-cpu-ns/req")
	}
	b.ReportMetric(float64(variants[1].wall)/float64(variants[0].wall), "info/warn")
	b.ReportMetric(float64(variants[1].cpu)/float64(variants[0].cpu), "info/warn-cpu")
	b.ReportMetric(float64(variants[2].wall)/float64(variants[0].wall), "discard/warn")
	b.ReportMetric(float64(variants[2].cpu)/float64(variants[0].cpu), "discard/warn-cpu")
}
