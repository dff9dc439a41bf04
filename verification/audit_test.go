package verification_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

// auditLog reads the whole trail as the system sees it.
func auditLog(t *testing.T, svc *verification.Service) []verification.AuditEntry {
	t.Helper()
	var out []verification.AuditEntry
	require.NoError(t, svc.ExportAudit(context.Background(), verification.SystemActor(), verification.AuditFilter{}, func(e verification.AuditEntry) error {
		out = append(out, e)
		return nil
	}))
	return out
}

// TestEveryAdminActWritesOneAuditEntry performs each audited act once and
// checks that it wrote exactly one entry, naming the act, its actor, its
// subject and its object; that the trail verifies; that every action is
// covered; and that no entry holds personal data.
func TestEveryAdminActWritesOneAuditEntry(t *testing.T) {
	t.Parallel()
	const day = 24 * time.Hour
	sealed, _ := sealedBlobs(t, t.TempDir())
	b := docSetup(t, verification.Options{ImageRetention: 30 * day, Blobs: sealed})
	ctx := b.ctx
	admin := verification.AdminActor(7, nil)
	const secretReason = "ReasonTextThatMustNotBeAudited"
	operator := verification.Actor{Kind: verification.ActorHost, ID: "alice"}

	type act struct {
		name   string
		do     func(t *testing.T) (subjectID int64, entity, entityID string)
		actor  verification.Actor
		action verification.AuditAction
	}
	sub := verificationtest.CreateSubject(t, b.svc, "eu")
	var front, back verification.File
	var app verification.Application
	var dead verification.Event
	dispatcher := newDispatcher(t, b.svc, verification.DispatcherOptions{
		Sinks:       []verification.Sink{verification.SubscriberFunc("crm", func(context.Context, verification.Event) error { return errors.New("down") })},
		MaxAttempts: 1,
		NowFunc:     b.clock.Now,
	})
	require.NoError(t, dispatcher.Register(ctx))
	acts := []act{
		{"Review", func(t *testing.T) (int64, string, string) {
			_, err := b.svc.Answer(ctx, sub.ID, "emailCode", raw(`"123456"`))
			require.NoError(t, err)
			_, err = b.svc.Review(ctx, admin, verification.ReviewParams{SubjectID: sub.ID, Requirement: "emailCode", Decision: verification.Reject, Reason: secretReason})
			require.NoError(t, err)
			return sub.ID, verification.AuditEntityRequirement, "emailCode"
		}, admin, verification.AuditReviewDecided},
		{"ReviewFile", func(t *testing.T) (int64, string, string) {
			front, back = b.passport(t, sub.ID)
			b.answerPassport(t, sub.ID, front, back)
			b.reviewFile(t, front.ID, verification.Approve, "")
			return sub.ID, verification.AuditEntityFile, front.ID
		}, verification.AdminActor(8, nil), verification.AuditReviewDecided},
		{"OpenFile by an admin", func(t *testing.T) (int64, string, string) {
			_, rc, err := b.svc.OpenFile(ctx, admin, back.ID)
			require.NoError(t, err)
			_, err = io.Copy(io.Discard, rc)
			require.NoError(t, err)
			require.NoError(t, rc.Close())
			return sub.ID, verification.AuditEntityFile, back.ID
		}, admin, verification.AuditDocumentViewed},
		{"DecideApplication", func(t *testing.T) (int64, string, string) {
			other := verificationtest.CreateSubject(t, b.svc)
			app = b.submitLevel1(t, other.ID)
			_, err := b.svc.DecideApplication(ctx, admin, verification.DecideApplicationParams{ApplicationID: app.ID, Decision: verification.Approve})
			require.NoError(t, err)
			return other.ID, verification.AuditEntityApplication, fmt.Sprint(app.ID)
		}, admin, verification.AuditApplicationDecided},
		{"AuditClaim claimed", func(t *testing.T) (int64, string, string) {
			require.NoError(t, verificationtest.StoreOf(b.svc).InTx(ctx, func(ctx context.Context, tx verification.Store) error {
				return b.svc.AuditClaim(ctx, tx, admin, app, true)
			}))
			return app.SubjectID, verification.AuditEntityApplication, fmt.Sprint(app.ID)
		}, admin, verification.AuditApplicationClaimed},
		{"AuditClaim released", func(t *testing.T) (int64, string, string) {
			require.NoError(t, verificationtest.StoreOf(b.svc).InTx(ctx, func(ctx context.Context, tx verification.Store) error {
				return b.svc.AuditClaim(ctx, tx, admin, app, false)
			}))
			return app.SubjectID, verification.AuditEntityApplication, fmt.Sprint(app.ID)
		}, admin, verification.AuditApplicationReleased},
		{"GrantLevel", func(t *testing.T) (int64, string, string) {
			g, err := b.svc.GrantLevel(ctx, admin, verification.GrantLevelParams{SubjectID: sub.ID, Level: 3, Reason: secretReason})
			require.NoError(t, err)
			return sub.ID, verification.AuditEntityGrant, fmt.Sprint(g.ID)
		}, admin, verification.AuditGrantManual},
		{"SetRequirement", func(t *testing.T) (int64, string, string) {
			_, err := b.svc.SetRequirement(ctx, admin, verification.SetRequirementParams{SubjectID: sub.ID, Requirement: "verificationFlag", Value: raw(`true`)})
			require.NoError(t, err)
			return sub.ID, verification.AuditEntityRequirement, "verificationFlag"
		}, admin, verification.AuditRequirementSet},
		{"SetRequirement by a provider", func(t *testing.T) (int64, string, string) {
			_, err := b.svc.SetRequirement(ctx, verification.ProviderActor("veriff"), verification.SetRequirementParams{SubjectID: sub.ID, Requirement: "nationality", Value: raw(`"NL"`)})
			require.NoError(t, err)
			return sub.ID, verification.AuditEntityRequirement, "nationality"
		}, verification.ProviderActor("veriff"), verification.AuditProviderDecision},
		{"ResetRequirement", func(t *testing.T) (int64, string, string) {
			_, err := b.svc.ResetRequirement(ctx, admin, sub.ID, "emailCode", false)
			require.NoError(t, err)
			return sub.ID, verification.AuditEntityRequirement, "emailCode"
		}, admin, verification.AuditRequirementReset},
		{"RecordIDSession", func(t *testing.T) (int64, string, string) {
			sess, err := b.svc.RecordIDSession(ctx, admin, verification.RecordIDSessionParams{SubjectID: sub.ID, Provider: "veriff", FrontFileID: front.ID})
			require.NoError(t, err)
			return sub.ID, verification.AuditEntityIDSession, sess.ID
		}, admin, verification.AuditIDSessionRecorded},
		{"SetTags", func(t *testing.T) (int64, string, string) {
			_, err := b.svc.SetTags(ctx, verification.HostActor(), sub.ID, []string{"eu", "vip"})
			require.NoError(t, err)
			return sub.ID, verification.AuditEntitySubject, fmt.Sprint(sub.ID)
		}, verification.HostActor(), verification.AuditSubjectTags},
		{"SetLegalHold", func(t *testing.T) (int64, string, string) {
			_, err := b.svc.SetLegalHold(ctx, admin, sub.ID, false)
			require.NoError(t, err)
			return sub.ID, verification.AuditEntitySubject, fmt.Sprint(sub.ID)
		}, admin, verification.AuditSubjectHold},
		{"ApplyRetention", func(t *testing.T) (int64, string, string) {
			b.clock.Advance(31 * day)
			rep, err := b.svc.ApplyRetention(ctx)
			require.NoError(t, err)
			require.Positive(t, rep.Purged)
			return 0, verification.AuditEntityRetention, ""
		}, verification.SystemActor(), verification.AuditRetentionRun},
		{"Replay", func(t *testing.T) (int64, string, string) {
			n, err := dispatcher.DispatchOnce(ctx)
			require.NoError(t, err)
			require.Positive(t, n)
			page, err := dispatcher.DeadLetters(ctx, "crm", 1, 0)
			require.NoError(t, err)
			require.NotEmpty(t, page.Items)
			dead = page.Items[0].Event
			require.NoError(t, dispatcher.Replay(ctx, admin, dead.ID, "crm"))
			return dead.SubjectID, verification.AuditEntityDelivery, dead.ID
		}, admin, verification.AuditDeliveryReplayed},
		{"ExpireDueAs", func(t *testing.T) (int64, string, string) {
			_, err := b.svc.ExpireDueAs(ctx, operator)
			require.NoError(t, err)
			return 0, verification.AuditEntityMaintenance, verification.JobApplicationExpiry
		}, operator, verification.AuditApplicationsExpire},
		{"Runner.RunAs", func(t *testing.T) (int64, string, string) {
			r, err := b.svc.Maintenance(verification.MaintenanceOptions{})
			require.NoError(t, err)
			reps, err := r.RunAs(ctx, operator, verification.JobApplicationExpiry, verification.JobDeletionSweep)
			require.NoError(t, err)
			require.Len(t, reps, 2)
			return 0, verification.AuditEntityMaintenance, ""
		}, operator, verification.AuditMaintenanceRun},
		{"RewrapKeys", func(t *testing.T) (int64, string, string) {
			rep, err := b.svc.RewrapKeys(ctx, operator)
			require.NoError(t, err)
			require.Positive(t, rep.Current)
			return 0, verification.AuditEntityKeyring, "k1"
		}, operator, verification.AuditKeysRewrapped},
		{"DeleteSubject", func(t *testing.T) (int64, string, string) {
			require.NoError(t, b.svc.DeleteSubject(ctx, admin, sub.ID))
			return sub.ID, verification.AuditEntitySubject, fmt.Sprint(sub.ID)
		}, admin, verification.AuditSubjectDeleted},
		{"Erase", func(t *testing.T) (int64, string, string) {
			require.NoError(t, b.svc.Erase(ctx, admin, sub.ID))
			return sub.ID, verification.AuditEntitySubject, fmt.Sprint(sub.ID)
		}, admin, verification.AuditSubjectErased},
	}
	covered := map[verification.AuditAction]bool{}
	for _, a := range acts {
		before := auditLog(t, b.svc)
		subjectID, entity, entityID := a.do(t)
		after := auditLog(t, b.svc)
		require.Len(t, after, len(before)+1, "%s must write exactly one audit entry", a.name)
		e := after[len(after)-1]
		require.Equal(t, a.action, e.Action, a.name)
		require.Equal(t, verification.Actor{Kind: a.actor.Kind, ID: a.actor.ID}, e.Actor, "%s: the actor", a.name)
		require.Equal(t, subjectID, e.SubjectID, "%s: the subject", a.name)
		require.Equal(t, entity, e.Entity, "%s: the entity", a.name)
		require.Equal(t, entityID, e.EntityID, "%s: the entity id", a.name)
		require.Equal(t, b.clock.Now().UTC().Truncate(time.Microsecond), e.At, "%s: at the Service's clock", a.name)
		covered[a.action] = true
	}
	for _, action := range verification.AuditActions {
		require.True(t, covered[action], "no act of the test writes %s", action)
	}

	// Reads by the subject itself and through signed URLs (the system) are
	// not admin reads; a failed act writes nothing.
	n := len(auditLog(t, b.svc))
	other := verificationtest.CreateSubject(t, b.svc)
	f := verificationtest.Upload(t, b.svc, other.ID, "passport", "front")
	readAll(t, b.svc, f.ID)
	_, rc, err := b.svc.OpenFile(ctx, verification.UserActor(other.ID), f.ID)
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	_, err = b.svc.GrantLevel(ctx, admin, verification.GrantLevelParams{SubjectID: other.ID, Level: 1, Reason: "same level"})
	require.ErrorIs(t, err, verification.ErrConflict)
	_, err = b.svc.SetTags(ctx, verification.AdminActor(9, []string{"us"}), other.ID, []string{"x"})
	require.Error(t, err)
	require.Len(t, auditLog(t, b.svc), n, "reads by the subject or the system and refused acts write no entry")

	head, err := b.svc.VerifyAudit(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(n), head.Seq)

	// Erasure kept the trail; no entry holds the identifier or a reason.
	all, err := json.Marshal(auditLog(t, b.svc))
	require.NoError(t, err)
	require.NotContains(t, string(all), sub.Identifier)
	require.NotContains(t, string(all), secretReason)
}

// TestAuditScopeAndFilters checks that an admin with tags sees only the
// entries about subjects carrying one of them, that users may not read the
// trail, and that malformed filters are refused.
func TestAuditScopeAndFilters(t *testing.T) {
	t.Parallel()
	b := appSetup(t)
	ctx := b.ctx
	eu := verificationtest.CreateSubject(t, b.svc, "eu")
	us := verificationtest.CreateSubject(t, b.svc, "us")
	root := verification.AdminActor(1, nil)
	for _, id := range []int64{eu.ID, us.ID, eu.ID} {
		_, err := b.svc.SetLegalHold(ctx, root, id, true)
		require.NoError(t, err)
	}
	_, err := b.svc.ApplyRetention(ctx) // retention off: no run, no entry
	require.NoError(t, err)

	seqs := func(actor verification.Actor, f verification.AuditFilter) []int64 {
		t.Helper()
		f.Limit = verification.MaxPageSize
		es, err := b.svc.AuditEntries(ctx, actor, f)
		require.NoError(t, err)
		out := []int64{}
		for _, e := range es {
			out = append(out, e.Seq)
		}
		return out
	}
	require.Equal(t, []int64{1, 2, 3}, seqs(root, verification.AuditFilter{}))
	require.Equal(t, []int64{1, 3}, seqs(verification.AdminActor(2, []string{"eu"}), verification.AuditFilter{}), "an eu admin sees the eu subject's entries")
	require.Equal(t, []int64{}, seqs(verification.AdminActor(2, []string{"eu"}), verification.AuditFilter{SubjectID: us.ID}), "and not another subject's, even by id")
	require.Equal(t, []int64{}, seqs(verification.AdminActor(2, []string{}), verification.AuditFilter{}), "an admin with an empty tag list sees nothing")
	require.Equal(t, []int64{3}, seqs(root, verification.AuditFilter{AfterSeq: 2}))
	require.Equal(t, []int64{2}, seqs(root, verification.AuditFilter{SubjectID: us.ID}))

	_, err = b.svc.AuditEntries(ctx, verification.UserActor(eu.ID), verification.AuditFilter{Limit: 10})
	require.ErrorIs(t, err, verification.ErrForbidden, "users may not read the trail")
	_, err = b.svc.AuditEntries(ctx, verification.ProviderActor("veriff"), verification.AuditFilter{Limit: 10})
	require.ErrorIs(t, err, verification.ErrForbidden, "providers may not read the trail")
	for _, f := range []verification.AuditFilter{
		{Limit: 0},
		{Limit: verification.MaxPageSize + 1},
		{Limit: 10, SubjectID: -1},
		{Limit: 10, ActorKind: "robot"},
		{Limit: 10, ActorID: "7"},
		{Limit: 10, Action: "subject.renamed"},
		{Limit: 10, Since: verificationtest.Start, Until: verificationtest.Start},
		{Limit: 10, AfterSeq: -1},
	} {
		_, err := b.svc.AuditEntries(ctx, root, f)
		require.ErrorIs(t, err, verification.ErrInvalid, "%+v", f)
	}
}

// TestAuditClaimRefusals checks the console's claim helper: admins only,
// and only on applications they may see.
func TestAuditClaimRefusals(t *testing.T) {
	t.Parallel()
	b := appSetup(t)
	sub := verificationtest.CreateSubject(t, b.svc, "eu")
	app := b.submitLevel1(t, sub.ID)
	store := verificationtest.StoreOf(b.svc)
	for _, tc := range []struct {
		actor verification.Actor
		app   verification.Application
		want  error
	}{
		{verification.HostActor(), app, verification.ErrForbidden},
		{verification.AdminActor(1, []string{"us"}), app, verification.ErrNotFound},
		{verification.AdminActor(1, nil), verification.Application{}, verification.ErrInvalid},
	} {
		err := store.InTx(b.ctx, func(ctx context.Context, tx verification.Store) error {
			return b.svc.AuditClaim(ctx, tx, tc.actor, tc.app, true)
		})
		require.ErrorIs(t, err, tc.want, "%+v", tc.actor)
	}
	require.Empty(t, auditLog(t, b.svc))
}

// TestAuditEntryHashIsReproducible pins the canonical JSON and the hash of
// one entry: another implementation of the documented rules must get the
// same bytes.
func TestAuditEntryHashIsReproducible(t *testing.T) {
	t.Parallel()
	e := verification.AuditEntry{
		Seq: 2, At: time.Date(2024, 1, 15, 12, 0, 0, 123456000, time.UTC), Actor: verification.AdminActor(7, []string{"eu"}),
		Action: verification.AuditReviewDecided, SubjectID: 42, Entity: "requirement", EntityID: "emailCode",
		Summary: map[string]string{"decision": "rejected", "attempt": "2", "note": "<&>"}, PrevHash: strings.Repeat("ab", 32),
	}
	want := `{"action":"review.decided","actor":{"id":"7","kind":"admin"},"at":"2024-01-15T12:00:00.123456Z","entity":"requirement","entityId":"emailCode","prevHash":"` +
		strings.Repeat("ab", 32) + `","seq":2,"subjectId":42,"summary":{"attempt":"2","decision":"rejected","note":"<&>"}}`
	require.Equal(t, want, string(e.CanonicalJSON()))
	sum := sha256.Sum256([]byte(e.PrevHash + want))
	require.Equal(t, hex.EncodeToString(sum[:]), e.ComputeHash(), "hash = hex(SHA-256(prevHash || canonical JSON))")
	e.Summary = nil
	require.Contains(t, string(e.CanonicalJSON()), `"summary":{}`, "an empty summary is {}")
}
