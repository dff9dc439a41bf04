// Package verificationtest helps hosts test code that uses the verification
// engine: a Service on the in-memory store with a settable clock and
// deterministic ids, the the verification status API ladder as a fixture, and assertion helpers,
// as rivertest does for River.
//
//	func TestOnboarding(t *testing.T) {
//		svc, clock := verificationtest.NewService(t, verificationtest.SeedLadder(t))
//		sub := verificationtest.CreateSubject(t, svc)
//		...
//		clock.Advance(25 * time.Hour)
//		verificationtest.RequireLevel(t, svc, sub.ID, 2)
//	}
package verificationtest

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/providers"
	"github.com/openkyc/kyc/storage/memory"
	"github.com/openkyc/kyc/verification"
)

// Clock is a settable clock for tests. The zero value is not usable; use NewClock.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Start is the time a NewClock starts at: 2024-01-14 12:00:00 UTC.
var Start = time.Date(2024, 1, 14, 12, 0, 0, 0, time.UTC)

// NewClock returns a clock reading t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time. Pass it as verification.Options.NowFunc.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// SequentialIDs returns an id generator yielding prefix-1, prefix-2, ...
// (safe for concurrent use). Pass it as verification.Options.NewIDFunc.
func SequentialIDs(prefix string) func() string {
	var n atomic.Int64
	return func() string { return fmt.Sprintf("%s-%d", prefix, n.Add(1)) }
}

//go:embed seed000.json
var seed000 []byte

// SeedLadder returns the ladder of the verification status API: Level 0 (no requirements),
// Level 1 (isBusiness, emailCode with review, nationality) and Level 2
// (AMLD5Questions, idDocument with review, verificationFlag set by the host),
// with the passport document type (id 2, sides front and back).
func SeedLadder(t testing.TB) *levels.Ladder {
	t.Helper()
	l, err := levels.Load(bytes.NewReader(seed000))
	require.NoError(t, err)
	return l
}

// NewService returns a Service over a fresh memory store, with a Clock
// starting at Start, sequential ids and document blobs in a temporary
// directory. opts may override anything; its NowFunc, NewIDFunc and Blobs
// are replaced only when nil.
func NewService(t testing.TB, ladder *levels.Ladder, opts ...verification.Options) (*verification.Service, *Clock) {
	t.Helper()
	return NewServiceOn(t, ladder, memory.New(), opts...)
}

// NewServiceOn is NewService over store, for tests that also read or
// write the store directly (the Service gives no access to it).
func NewServiceOn(t testing.TB, ladder *levels.Ladder, store verification.Store, opts ...verification.Options) (*verification.Service, *Clock) {
	t.Helper()
	var o verification.Options
	if len(opts) > 0 {
		o = opts[0]
	}
	clock := NewClock(Start)
	if o.NowFunc == nil {
		o.NowFunc = clock.Now
	}
	if o.NewIDFunc == nil {
		o.NewIDFunc = SequentialIDs("id")
	}
	if o.Blobs == nil {
		blobs, err := documents.NewFileStore(t.TempDir())
		require.NoError(t, err)
		o.Blobs = blobs
	}
	svc, err := verification.New(ladder, store, o)
	require.NoError(t, err)
	stores.Store(svc, store)
	t.Cleanup(func() { stores.Delete(svc) })
	return svc, clock
}

// stores remembers the store of every Service NewServiceOn made.
var stores sync.Map // *verification.Service -> verification.Store

// StoreOf returns the store of a Service made by NewService or
// NewServiceOn, for tests that inspect or arrange what the Service does not
// expose. It panics for any other Service.
func StoreOf(svc *verification.Service) verification.Store {
	st, ok := stores.Load(svc)
	if !ok {
		panic("verificationtest: StoreOf: the Service was not made by NewService or NewServiceOn")
	}
	return st.(verification.Store)
}

var identifiers atomic.Int64

// Identifier returns a fresh valid external identifier (36 alphanumerics).
func Identifier() string { return fmt.Sprintf("testsubject%025d", identifiers.Add(1)) }

// CreateSubject creates a subject with a fresh identifier and the given tags.
func CreateSubject(t testing.TB, svc *verification.Service, tags ...string) verification.Subject {
	t.Helper()
	sub, err := svc.CreateSubject(context.Background(), verification.CreateSubjectParams{Identifier: Identifier(), Tags: tags})
	require.NoError(t, err)
	return sub
}

// RequireStatus asserts the subject's outstanding requirements (for the top
// of the ladder) are exactly want, name -> status, in any order.
func RequireStatus(t testing.TB, svc *verification.Service, subjectID int64, want map[string]levels.Status) {
	t.Helper()
	res, err := svc.Status(context.Background(), subjectID, 0)
	require.NoError(t, err)
	got := make(map[string]levels.Status, len(res.Outstanding))
	for _, o := range res.Outstanding {
		got[o.Name] = o.Status
	}
	if want == nil {
		want = map[string]levels.Status{}
	}
	require.Equal(t, want, got, "outstanding requirements of subject %d", subjectID)
}

// RequireLevel asserts the subject's current level is the level with ID levelID.
func RequireLevel(t testing.TB, svc *verification.Service, subjectID int64, levelID int) {
	t.Helper()
	sub, err := svc.Subject(context.Background(), verification.SystemActor(), subjectID)
	require.NoError(t, err)
	require.Equal(t, levelID, sub.Level, "level of subject %d", subjectID)
}

// RequireEvents asserts the subject's outbox events have exactly these types, in order.
func RequireEvents(t testing.TB, svc *verification.Service, subjectID int64, want ...verification.EventType) {
	t.Helper()
	evs, err := svc.Events(context.Background(), verification.SystemActor(), verification.EventFilter{SubjectID: subjectID})
	require.NoError(t, err)
	got := make([]verification.EventType, len(evs))
	for i, e := range evs {
		got[i] = e.Type
	}
	require.Equal(t, want, got, "events of subject %d", subjectID)
}

// JPEG returns n bytes (n >= 4) that pass the JPEG magic-byte check.
func JPEG(n int) []byte {
	b := make([]byte, n)
	copy(b, []byte{0xFF, 0xD8, 0xFF, 0xE0})
	for i := 4; i < n; i++ {
		b[i] = byte(i)
	}
	return b
}

// Upload uploads a small JPEG for the subject and returns its File.
func Upload(t testing.TB, svc *verification.Service, subjectID int64, docType, side string) verification.File {
	t.Helper()
	f, err := svc.Upload(context.Background(), verification.UploadParams{SubjectID: subjectID, DocumentType: docType, Side: side, Body: bytes.NewReader(JPEG(1024))})
	require.NoError(t, err)
	return f
}

// RaceEnsureSubject calls EnsureSubject for one fresh identifier from many
// goroutines at once, spread over svcs (several Services on one database
// stand for several processes), and fails t unless every caller gets the
// same subject and exactly one subject.created event is recorded. Run it
// against your own store to check that ErrConflict from a racing insert is
// reported as the Store contract says.
func RaceEnsureSubject(t testing.TB, svcs ...*verification.Service) {
	t.Helper()
	require.NotEmpty(t, svcs, "RaceEnsureSubject needs at least one Service")
	ctx := context.Background()
	ident := Identifier()
	const callers = 16
	got := make([]verification.Subject, callers)
	errs := make([]error, callers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			<-start
			got[i], errs[i] = svcs[i%len(svcs)].EnsureSubject(ctx, ident, []string{"eu"})
		})
	}
	close(start)
	wg.Wait()
	for i := range callers {
		require.NoError(t, errs[i], "caller %d", i)
		require.Positive(t, got[i].ID)
		require.Equal(t, got[0].ID, got[i].ID, "caller %d got another subject", i)
		require.Equal(t, ident, got[i].Identifier)
	}
	evs, err := svcs[0].Events(ctx, verification.SystemActor(), verification.EventFilter{SubjectID: got[0].ID})
	require.NoError(t, err)
	created := 0
	for _, e := range evs {
		if e.Type == verification.EventSubjectCreated {
			created++
		}
	}
	require.Equal(t, 1, created, "one subject.created event for %d racing callers", callers)
}

// PersonalData is what SeedPersonalData wrote: a subject, its external
// identifier and the free texts reviewers and admins wrote about it, each
// unique enough to be searched for in a store's raw files.
type PersonalData struct {
	// Subject is the subject created.
	Subject verification.Subject
	// Identifier is its external identifier.
	Identifier string
	// FreeText are the reviewers' and admins' reasons recorded about it.
	FreeText []string
}

// SeedPersonalData creates a subject on svc (seed ladder) with a marked
// identifier, a rejected answer whose reason a reviewer wrote and a level
// granted by an admin with a reason: what Erase must remove. Search the
// store's files for Identifier and FreeText before and after the erasure.
func SeedPersonalData(t testing.TB, svc *verification.Service) PersonalData {
	t.Helper()
	ctx := context.Background()
	pd := PersonalData{
		Identifier: "ZqxMarkedIdentifier7f3a9c1e5b2d8046aa11",
		FreeText:   []string{"ReviewerNoteZqxBlurryScan", "AdminNoteZqxManualUpgrade"},
	}
	sub, err := svc.CreateSubject(ctx, verification.CreateSubjectParams{Identifier: pd.Identifier})
	require.NoError(t, err)
	pd.Subject = sub
	_, err = svc.Answer(ctx, sub.ID, "emailCode", json.RawMessage(`"123456"`))
	require.NoError(t, err)
	admin := verification.AdminActor(7, nil)
	_, err = svc.Review(ctx, admin, verification.ReviewParams{SubjectID: sub.ID, Requirement: "emailCode", Decision: verification.Reject, Reason: pd.FreeText[0]})
	require.NoError(t, err)
	_, err = svc.GrantLevel(ctx, admin, verification.GrantLevelParams{SubjectID: sub.ID, Level: 2, Reason: pd.FreeText[1]})
	require.NoError(t, err)
	return pd
}

// CheckErased checks, after Erase of pd.Subject, what the Service promises
// beyond the bytes: every write for the erased subject answers ER709 (an
// upload too), its audit facts are found under ErasedIdentifier, and the
// identifier onboards again as a new subject. Call it after searching the
// store's files: onboarding again writes the identifier anew.
func CheckErased(t testing.TB, svc *verification.Service, pd PersonalData) {
	t.Helper()
	ctx := context.Background()
	_, err := svc.Answer(ctx, pd.Subject.ID, "emailCode", json.RawMessage(`"654321"`))
	require.ErrorIs(t, err, verification.ErrDeleted, "an erased subject may not answer")
	_, err = svc.Upload(ctx, verification.UploadParams{SubjectID: pd.Subject.ID, DocumentType: "passport", Side: "front", Body: bytes.NewReader(JPEG(512))})
	require.ErrorIs(t, err, verification.ErrDeleted, "an erased subject may not upload")
	_, err = svc.SetTags(ctx, verification.SystemActor(), pd.Subject.ID, []string{"x"})
	require.ErrorIs(t, err, verification.ErrDeleted, "an erased subject may not be changed")
	old, err := svc.SubjectByIdentifier(ctx, verification.SystemActor(), svc.ErasedIdentifier(pd.Identifier))
	require.NoError(t, err, "the erased subject is found by the keyed digest")
	require.Equal(t, pd.Subject.ID, old.ID)
	require.False(t, old.RedactedAt.IsZero())
	again, err := svc.EnsureSubject(ctx, pd.Identifier, nil)
	require.NoError(t, err, "the identifier onboards again")
	require.NotEqual(t, pd.Subject.ID, again.ID, "as a new subject")
	require.True(t, again.RedactedAt.IsZero())
}

// RaceProviderDecision delivers one decision of provider (which every
// Service of svcs must be configured with) from many goroutines at once,
// twice over: about a subject it creates, and about no known subject. It
// fails t unless exactly one delivery of each is applied (or unmatched)
// and every other one is a duplicate, with one provider event recorded and
// one provider.decision.applied event. Run it against your own store to
// check that a racing AddProviderEvent is reported as ErrConflict.
func RaceProviderDecision(t testing.TB, provider string, svcs ...*verification.Service) {
	t.Helper()
	require.NotEmpty(t, svcs, "RaceProviderDecision needs at least one Service")
	ctx := context.Background()
	sub, err := svcs[0].EnsureSubject(ctx, Identifier(), nil)
	require.NoError(t, err)
	for _, ref := range []string{sub.Identifier, Identifier()} {
		d := providers.Decision{Provider: provider, EventKey: provider + ":race-" + ref, SessionID: "race-" + ref, SubjectRef: ref,
			Outcome: providers.OutcomeApproved, Final: true, OccurredAt: Start}
		const callers = 12
		got := make([]verification.ProviderReceipt, callers)
		errs := make([]error, callers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() {
				<-start
				got[i], errs[i] = svcs[i%len(svcs)].ApplyProviderDecision(ctx, d)
			})
		}
		close(start)
		wg.Wait()
		first := map[verification.ProviderResult]int{}
		for i := range callers {
			require.NoError(t, errs[i], "caller %d", i)
			first[got[i].Result]++
		}
		want := verification.ProviderApplied
		if ref != sub.Identifier {
			want = verification.ProviderUnmatched
		}
		require.Equal(t, map[verification.ProviderResult]int{want: 1, verification.ProviderDuplicate: callers - 1}, first,
			"one delivery of %d racing ones is %s, the others duplicates", callers, want)
	}
	evs, err := svcs[0].Events(ctx, verification.SystemActor(), verification.EventFilter{SubjectID: sub.ID})
	require.NoError(t, err)
	applied := 0
	for _, e := range evs {
		if e.Type == verification.EventProviderDecisionApplied {
			applied++
		}
	}
	require.Equal(t, 1, applied, "one provider.decision.applied event")
}

// RequireAuditBreak checks that svc.VerifyAudit fails with an
// *verification.AuditBreak naming entry seq (matching
// verification.ErrAuditBroken).
func RequireAuditBreak(t testing.TB, svc *verification.Service, seq int64) {
	t.Helper()
	_, err := svc.VerifyAudit(context.Background())
	require.ErrorIs(t, err, verification.ErrAuditBroken, "VerifyAudit must find the broken chain")
	var b *verification.AuditBreak
	require.ErrorAs(t, err, &b)
	require.Equal(t, seq, b.Seq, "VerifyAudit must name the first broken entry (%s)", b.Reason)
}
