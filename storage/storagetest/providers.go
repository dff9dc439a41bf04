package storagetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/providers"
	"github.com/openkyc/kyc/verification"
)

// RunProviders checks verification.ProviderStore: provider events keyed by
// (provider, event key), provider sessions keyed by (provider, session id)
// and the media-due filter.
func RunProviders(t *testing.T, newStore func(t *testing.T) verification.Store) {
	t.Helper()

	test(t, newStore, "EventRoundTripAndDuplicate", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice")
		e := providerEvent(sub.ID, "veriff", "k1", "sess-1", 1)
		require.NoError(t, s.AddProviderEvent(ctx, &e))
		require.Positive(t, e.ID, "AddProviderEvent must assign a positive ID")
		got, err := s.GetProviderEvent(ctx, "veriff", "k1")
		require.NoError(t, err)
		require.Equal(t, e, got, "GetProviderEvent must return the event as written")

		dup := providerEvent(sub.ID, "veriff", "k1", "sess-2", 2)
		require.ErrorIs(t, s.AddProviderEvent(ctx, &dup), verification.ErrConflict, "the same (provider, event key) twice must fail with ErrConflict")
		other := providerEvent(sub.ID, "sumsub", "k1", "sess-1", 3)
		require.NoError(t, s.AddProviderEvent(ctx, &other), "the same event key of another provider is another event")
		require.Greater(t, other.ID, e.ID, "IDs increase")

		_, err = s.GetProviderEvent(ctx, "veriff", "K1")
		require.ErrorIs(t, err, verification.ErrNotFound, "event keys compare exactly")
		_, err = s.GetProviderEvent(ctx, "onfido", "k1")
		require.ErrorIs(t, err, verification.ErrNotFound)
	})

	test(t, newStore, "UnmatchedEventWithoutSubject", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		e := providerEvent(0, "veriff", "k1", "sess-1", 1)
		e.Result = verification.ProviderUnmatched
		e.OccurredAt = time.Time{}
		require.NoError(t, s.AddProviderEvent(ctx, &e), "an unmatched event has no subject (0) and maybe no time")
		got, err := s.GetProviderEvent(ctx, "veriff", "k1")
		require.NoError(t, err)
		require.Equal(t, e, got)
	})

	test(t, newStore, "ListEventsFilters", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		alice := newSubject(t, s, "alice")
		bob := newSubject(t, s, "bob")
		for i, x := range []struct {
			sub           int64
			provider, key string
			session       string
		}{{alice.ID, "veriff", "a", "s1"}, {bob.ID, "veriff", "b", "s2"}, {alice.ID, "veriff", "c", "s1"}, {alice.ID, "sumsub", "d", "s1"}} {
			e := providerEvent(x.sub, x.provider, x.key, x.session, i)
			require.NoError(t, s.AddProviderEvent(ctx, &e))
		}
		keys := func(f verification.ProviderEventFilter) []string {
			list, err := s.ListProviderEvents(ctx, f)
			require.NoError(t, err)
			out := []string{}
			for _, e := range list {
				out = append(out, e.EventKey)
			}
			return out
		}
		require.Equal(t, []string{"a", "b", "c", "d"}, keys(verification.ProviderEventFilter{}), "no filter lists every event in ID order")
		require.Equal(t, []string{"a", "c"}, keys(verification.ProviderEventFilter{Provider: "veriff", SessionID: "s1"}))
		require.Equal(t, []string{"a", "c", "d"}, keys(verification.ProviderEventFilter{SubjectID: alice.ID}))
		require.Equal(t, []string{"a", "c"}, keys(verification.ProviderEventFilter{SubjectID: alice.ID, Limit: 2}))
		require.Equal(t, []string{}, keys(verification.ProviderEventFilter{Provider: "onfido"}))
	})

	test(t, newStore, "SessionPutGetReplace", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice")
		_, err := s.GetProviderSession(ctx, "veriff", "sess-1")
		require.ErrorIs(t, err, verification.ErrNotFound)

		ps := providerSession(sub.ID, "veriff", "sess-1", 1)
		require.NoError(t, s.PutProviderSession(ctx, ps))
		got, err := s.GetProviderSession(ctx, "veriff", "sess-1")
		require.NoError(t, err)
		require.Equal(t, ps, got, "GetProviderSession must return the session as written (times UTC, microseconds)")

		ps.Outcome, ps.Final, ps.EventKey = providers.OutcomeDeclined, true, "k2"
		ps.ReasonCodes = nil
		ps.Document = providers.DocumentFacts{}
		ps.MediaStatus, ps.MediaAttempts, ps.MediaNextAt = verification.MediaNone, 0, time.Time{}
		ps.OccurredAt = time.Time{}
		require.NoError(t, s.PutProviderSession(ctx, ps), "Put replaces")
		got, err = s.GetProviderSession(ctx, "veriff", "sess-1")
		require.NoError(t, err)
		if len(got.ReasonCodes) == 0 {
			got.ReasonCodes = nil
		}
		require.Equal(t, ps, got, "a replaced session reads back as replaced, zero fields included")

		_, err = s.GetProviderSession(ctx, "sumsub", "sess-1")
		require.ErrorIs(t, err, verification.ErrNotFound, "sessions are keyed by provider too")
		require.ErrorIs(t, s.PutProviderSession(ctx, providerSession(9999, "veriff", "sess-x", 1)), verification.ErrNotFound,
			"a session of an unknown subject is refused with ErrNotFound")
	})

	test(t, newStore, "SessionCopies", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice")
		ps := providerSession(sub.ID, "veriff", "sess-1", 1)
		require.NoError(t, s.PutProviderSession(ctx, ps))
		ps.ReasonCodes[0] = "changed"
		got, err := s.GetProviderSession(ctx, "veriff", "sess-1")
		require.NoError(t, err)
		require.Equal(t, "102", got.ReasonCodes[0], "the store must keep a copy of ReasonCodes")
	})

	test(t, newStore, "ListSessionsFilters", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		alice := newSubject(t, s, "alice")
		bob := newSubject(t, s, "bob")
		mk := func(sub int64, id string, created int, status verification.MediaStatus, next int) {
			ps := providerSession(sub, "veriff", id, created)
			ps.MediaStatus = status
			ps.MediaNextAt = time.Time{}
			if next >= 0 {
				ps.MediaNextAt = at(next)
			}
			require.NoError(t, s.PutProviderSession(ctx, ps))
		}
		mk(alice.ID, "s3", 3, verification.MediaPending, 5)
		mk(alice.ID, "s1", 1, verification.MediaPending, 10)
		mk(bob.ID, "s2", 2, verification.MediaFetched, 0)
		mk(bob.ID, "s4", 2, verification.MediaPending, 1)
		mk(bob.ID, "s0", 4, verification.MediaNone, -1)
		ids := func(f verification.ProviderSessionFilter) []string {
			list, err := s.ListProviderSessions(ctx, f)
			require.NoError(t, err)
			out := []string{}
			for _, ps := range list {
				out = append(out, ps.SessionID)
			}
			return out
		}
		require.Equal(t, []string{"s1", "s2", "s4", "s3", "s0"}, ids(verification.ProviderSessionFilter{}), "ordered by CreatedAt, then provider, then session id")
		require.Equal(t, []string{"s1", "s3"}, ids(verification.ProviderSessionFilter{SubjectID: alice.ID}))
		require.Equal(t, []string{"s4", "s3"}, ids(verification.ProviderSessionFilter{MediaDueBy: at(5)}), "media due: pending and next attempt not after the cut-off")
		require.Equal(t, []string{"s4"}, ids(verification.ProviderSessionFilter{MediaDueBy: at(5), Limit: 1}))
		require.Equal(t, []string{}, ids(verification.ProviderSessionFilter{MediaDueBy: at(0)}))
	})

	test(t, newStore, "RollbackAndCancellation", func(t *testing.T, s verification.Store) {
		ctx := t.Context()
		sub := newSubject(t, s, "alice")
		errRollback := errors.New("roll back")
		err := s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
			e := providerEvent(sub.ID, "veriff", "k1", "sess-1", 1)
			require.NoError(t, tx.AddProviderEvent(ctx, &e))
			require.NoError(t, tx.PutProviderSession(ctx, providerSession(sub.ID, "veriff", "sess-1", 1)))
			return errRollback
		})
		require.ErrorIs(t, err, errRollback)
		_, err = s.GetProviderEvent(ctx, "veriff", "k1")
		require.ErrorIs(t, err, verification.ErrNotFound, "a rolled-back AddProviderEvent leaves nothing")
		_, err = s.GetProviderSession(ctx, "veriff", "sess-1")
		require.ErrorIs(t, err, verification.ErrNotFound, "a rolled-back PutProviderSession leaves nothing")

		cctx := cancelledContext(t)
		e := providerEvent(sub.ID, "veriff", "k2", "sess-1", 1)
		require.Error(t, s.AddProviderEvent(cctx, &e))
		_, err = s.GetProviderSession(cctx, "veriff", "sess-1")
		require.ErrorIs(t, err, context.Canceled)
		_, err = s.ListProviderSessions(cctx, verification.ProviderSessionFilter{})
		require.ErrorIs(t, err, context.Canceled)
	})
}

func providerEvent(subjectID int64, provider, key, session string, minute int) verification.ProviderEvent {
	return verification.ProviderEvent{
		Provider: provider, EventKey: key, SessionID: session, SubjectID: subjectID,
		Outcome: providers.OutcomeApproved, Final: true, OccurredAt: at(minute), Result: verification.ProviderApplied, ReceivedAt: at(minute + 1),
	}
}

func providerSession(subjectID int64, provider, session string, minute int) verification.ProviderSession {
	return verification.ProviderSession{
		Provider: provider, SessionID: session, SubjectID: subjectID, IDSessionID: "id-" + session, URL: "https://magic.example/" + session,
		EventKey: "k1", Outcome: providers.OutcomeApproved, Final: true, OccurredAt: at(minute),
		ReasonCodes: []string{"102", "103"}, Reason: "looks fine",
		Document:    providers.DocumentFacts{Type: "PASSPORT", Country: "EE", Number: "B01234567", ValidUntil: time.Date(2030, 1, 31, 0, 0, 0, 0, time.UTC)},
		MediaStatus: verification.MediaPending, MediaAttempts: 2, MediaNextAt: at(minute + 5),
		CreatedAt: at(minute), UpdatedAt: at(minute + 2),
	}
}
