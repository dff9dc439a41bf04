package verification

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/providers"
)

// ProviderConfig configures one identity provider whose decisions the
// Service takes (Options.Providers).
type ProviderConfig struct {
	// Provider is the adapter; its Name keys the decisions. When it also
	// implements providers.MediaFetcher (Veriff does), an approval queues
	// the fetch of the session's images (see FetchProviderMedia).
	Provider providers.Provider
	// Requirements names the document requirements the provider's
	// decisions review: an approval approves them, a final decline rejects
	// them for good, a resubmission request or an expiry rejects them with
	// a retry, and started / submitted / review set them pending. Empty:
	// the decisions only record identity-verification sessions. The
	// provider's decisions own these requirements: each follows the
	// decision applied last, so a new session's progress (started) sets an
	// approved requirement pending again until that session is decided;
	// the level reached stays.
	Requirements []string
}

// providerConf is a configured provider as the Service uses it.
type providerConf struct {
	p     providers.Provider
	media providers.MediaFetcher // nil when the provider cannot fetch images
	reqs  []string
}

// Defaults of the media fetch.
const (
	// DefaultMediaAttempts bounds the fetch attempts of one session's images.
	DefaultMediaAttempts = 5
	// DefaultMediaBackoff is the wait before the first retry, doubling.
	DefaultMediaBackoff = 30 * time.Second
	// mediaLease is how long a claimed fetch is reserved for its fetcher.
	mediaLease = 5 * time.Minute
)

// Limits of the decision fields the Service stores.
const (
	maxProviderID    = 255
	maxReasonCodes   = 32
	maxReasonCodeLen = 64
)

// ProviderDocumentType is the File.DocumentType of the document images
// fetched from a provider (sides "front" and "back"); face images are
// SelfieType / SelfieSide.
const ProviderDocumentType = "provider_document"

// setupProviders validates Options.Providers.
func (s *Service) setupProviders(list []ProviderConfig, attempts int, backoff time.Duration) error {
	s.providers = map[string]*providerConf{}
	s.mediaWake = make(chan struct{}, 1)
	s.mediaAttempts, s.mediaBackoff = attempts, backoff
	if s.mediaAttempts == 0 {
		s.mediaAttempts = DefaultMediaAttempts
	}
	if s.mediaBackoff == 0 {
		s.mediaBackoff = DefaultMediaBackoff
	}
	if s.mediaAttempts < 0 || s.mediaBackoff < 0 {
		return invalid("MediaAttempts", "media attempts and backoff must not be negative")
	}
	for _, c := range list {
		if c.Provider == nil || c.Provider.Name() == "" {
			return invalid("Providers", "every provider needs a name")
		}
		name := c.Provider.Name()
		if _, dup := s.providers[name]; dup {
			return invalid("Providers", "duplicate provider %q", name)
		}
		for _, r := range c.Requirements {
			req, ok := s.ladder.Requirement(r)
			if !ok || req.Type != levels.Document {
				return invalid("Providers", "%s: %q is not a document requirement of the ladder", name, r)
			}
		}
		conf := &providerConf{p: c.Provider, reqs: append([]string(nil), c.Requirements...)}
		conf.media, _ = c.Provider.(providers.MediaFetcher)
		s.providers[name] = conf
	}
	return nil
}

// Provider returns the configured provider named name.
func (s *Service) Provider(name string) (providers.Provider, bool) {
	c, ok := s.providers[name]
	if !ok {
		return nil, false
	}
	return c.p, true
}

// ProviderReceipt says what ApplyProviderDecision did.
type ProviderReceipt struct {
	// Result is applied, stale, duplicate or unmatched.
	Result ProviderResult
	// SubjectID is the subject the decision is about; 0 when unmatched
	// (and for a duplicate of an unmatched one).
	SubjectID int64
	// IDSessionID is the identity-verification session the decision's
	// provider session maps onto; empty when unmatched.
	IDSessionID string
}

// checkDecisionInput validates a decision before any store call.
func (s *Service) checkDecisionInput(d providers.Decision) error {
	if err := d.Validate(); err != nil {
		return invalid("decision", "%s", strings.TrimPrefix(err.Error(), "providers: decision: "))
	}
	if _, ok := s.providers[d.Provider]; !ok {
		return invalid("provider", "%q is not a configured provider", d.Provider)
	}
	switch {
	case len(d.EventKey) > maxProviderID:
		return invalid("eventKey", "must be at most %d bytes", maxProviderID)
	case len(d.SessionID) > maxProviderID:
		return invalid("sessionId", "must be at most %d bytes", maxProviderID)
	case len(d.SubjectRef) > maxProviderID:
		return invalid("subjectRef", "must be at most %d bytes", maxProviderID)
	case len(d.ReasonCodes) > maxReasonCodes:
		return invalid("reasonCodes", "must be at most %d codes", maxReasonCodes)
	}
	for _, c := range d.ReasonCodes {
		if len(c) > maxReasonCodeLen {
			return invalid("reasonCodes", "each code must be at most %d bytes", maxReasonCodeLen)
		}
	}
	return nil
}

// clip shortens s to at most n bytes on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// ApplyProviderDecision records a decision an identity provider delivered
// and, when it is the newest word on its provider session, applies it, in
// one transaction:
//
//   - a decision whose (Provider, EventKey) is already recorded is a
//     duplicate: nothing changes;
//   - the session's subject is the one the host started it for
//     (StartProviderSession), else the subject whose external identifier
//     is d.SubjectRef; a decision about no live subject is recorded as
//     unmatched and changes nothing;
//   - if the session already has an applied decision that d does not
//     supersede (providers.Decision.Supersedes: older, or as old and lower
//     ranked), d is recorded as stale and not applied; so a later final
//     decline after an approval applies only if it is newer;
//   - otherwise d becomes the session's state: its identity-verification
//     session (one per provider session, provider type d.Provider, status
//     the outcome, date the decision time) is created or updated, the
//     document requirements of ProviderConfig.Requirements are reviewed
//     (approved; rejected for good on a final decline; rejected with a
//     retry on a resubmission request or an expiry; pending on started,
//     submitted and review), the document facts are kept, and an approval
//     by a provider that fetches media queues the fetch of its images
//     (done by FetchProviderMedia, outside this transaction).
//
// Events provider.decision.applied or provider.decision.stale record it
// (not for duplicates and unmatched decisions). An approval may grant a
// level; a later decline does not lower it (downgrades are an admin's
// decision, GrantLevel). The actor is the provider (ActorProvider).
// Applying any sequence of a session's decisions, in any order and with
// repeats, leaves the session, its identity session and the reviewed
// requirements as applying each once, in order, would.
func (s *Service) ApplyProviderDecision(ctx context.Context, d providers.Decision) (_ ProviderReceipt, err error) {
	defer endCall(s.call(&ctx, "ApplyProviderDecision"), &err)
	const op = "ApplyProviderDecision"
	if err := s.checkDecisionInput(d); err != nil {
		return ProviderReceipt{}, s.fail(op, err)
	}
	d.Reason = clip(d.Reason, MaxReasonLen)
	var (
		rec    ProviderReceipt
		queued bool
	)
	// Two first deliveries of one event about no known subject race on the
	// event's key; the loser's transaction fails with ErrConflict and its
	// second run sees the winner's record: a duplicate.
	for attempt := 0; ; attempt++ {
		err := s.inTx(ctx, op, func(ctx context.Context, tx Store) error {
			var err error
			rec, queued, err = s.applyDecisionTx(ctx, tx, d)
			return err
		})
		if errors.Is(err, ErrConflict) && attempt == 0 {
			continue
		}
		if err != nil {
			return ProviderReceipt{}, err
		}
		break
	}
	if queued {
		s.wakeMedia()
	}
	return rec, nil
}

// applyDecisionTx is ApplyProviderDecision's transaction.
func (s *Service) applyDecisionTx(ctx context.Context, tx Store, d providers.Decision) (ProviderReceipt, bool, error) {
	now := s.Now()
	if rec, dup, err := s.duplicate(ctx, tx, d); err != nil || dup {
		return rec, false, err
	}
	subjectID, err := s.decisionSubject(ctx, tx, d)
	if err != nil {
		return ProviderReceipt{}, false, err
	}
	ev := ProviderEvent{Provider: d.Provider, EventKey: d.EventKey, SessionID: d.SessionID, Outcome: d.Outcome, Final: d.Final,
		OccurredAt: d.OccurredAt.UTC().Truncate(time.Microsecond), ReceivedAt: now}
	if d.OccurredAt.IsZero() {
		ev.OccurredAt = time.Time{}
	}
	var sub Subject
	if subjectID != 0 {
		sub, err = lockLive(ctx, tx, subjectID)
		if errors.Is(err, ErrDeleted) {
			subjectID, err = 0, nil
		}
		if err != nil {
			return ProviderReceipt{}, false, err
		}
	}
	if subjectID == 0 {
		ev.Result = ProviderUnmatched
		return ProviderReceipt{Result: ProviderUnmatched}, false, tx.AddProviderEvent(ctx, &ev)
	}
	// Under the subject's lock, a concurrent delivery of the same event has
	// either committed (a duplicate now) or waits for this one.
	if rec, dup, err := s.duplicate(ctx, tx, d); err != nil || dup {
		return rec, false, err
	}
	ps, err := tx.GetProviderSession(ctx, d.Provider, d.SessionID)
	switch {
	case errors.Is(err, ErrNotFound):
		ps = ProviderSession{Provider: d.Provider, SessionID: d.SessionID, SubjectID: sub.ID, CreatedAt: now}
	case err != nil:
		return ProviderReceipt{}, false, err
	}
	ev.SubjectID = sub.ID
	if cur, ok := ps.current(); ok && !d.Supersedes(cur) {
		ev.Result = ProviderStale
		if err := tx.AddProviderEvent(ctx, &ev); err != nil {
			return ProviderReceipt{}, false, err
		}
		rec := ProviderReceipt{Result: ProviderStale, SubjectID: sub.ID, IDSessionID: ps.IDSessionID}
		return rec, false, s.emit(ctx, tx, &sub, now, &ProviderDecisionStalePayload{
			Provider: d.Provider, SessionID: d.SessionID, EventKey: d.EventKey, Outcome: d.Outcome, Final: d.Final,
			CurrentEventKey: cur.EventKey, CurrentOutcome: cur.Outcome})
	}
	ev.Result = ProviderApplied
	if err := tx.AddProviderEvent(ctx, &ev); err != nil {
		return ProviderReceipt{}, false, err
	}
	queued, err := s.applyToSession(ctx, tx, &sub, &ps, d, ev.OccurredAt, now)
	if err != nil {
		return ProviderReceipt{}, false, err
	}
	// The applied decision is the provider's act on the subject: its audit
	// entry is the transaction's last write.
	if err := s.audit(ctx, tx, ProviderActor(d.Provider), auditArgs{action: AuditProviderDecision, subjectID: sub.ID,
		entity: AuditEntityProviderSession, entityID: d.SessionID,
		summary: map[string]string{"outcome": string(d.Outcome), "final": strconv.FormatBool(d.Final)}}); err != nil {
		return ProviderReceipt{}, false, err
	}
	rec := ProviderReceipt{Result: ProviderApplied, SubjectID: sub.ID, IDSessionID: ps.IDSessionID}
	return rec, queued, nil
}

// duplicate reports whether d's event is already recorded, with the
// receipt of a duplicate.
func (s *Service) duplicate(ctx context.Context, tx Store, d providers.Decision) (ProviderReceipt, bool, error) {
	e, err := tx.GetProviderEvent(ctx, d.Provider, d.EventKey)
	if errors.Is(err, ErrNotFound) {
		return ProviderReceipt{}, false, nil
	}
	if err != nil {
		return ProviderReceipt{}, false, err
	}
	rec := ProviderReceipt{Result: ProviderDuplicate, SubjectID: e.SubjectID}
	if e.SubjectID != 0 {
		ps, err := tx.GetProviderSession(ctx, d.Provider, d.SessionID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return ProviderReceipt{}, false, err
		}
		rec.IDSessionID = ps.IDSessionID
	}
	return rec, true, nil
}

// decisionSubject finds the subject a decision is about: the one its
// provider session was started or first seen for, else the subject whose
// external identifier is d.SubjectRef; 0 when there is none.
func (s *Service) decisionSubject(ctx context.Context, tx Store, d providers.Decision) (int64, error) {
	ps, err := tx.GetProviderSession(ctx, d.Provider, d.SessionID)
	if err == nil {
		return ps.SubjectID, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return 0, err
	}
	if !ValidIdentifier(d.SubjectRef) {
		return 0, nil
	}
	sub, err := tx.GetSubjectByIdentifier(ctx, d.SubjectRef)
	if errors.Is(err, ErrNotFound) {
		return 0, nil
	}
	return sub.ID, err
}

// applyToSession makes d the state of ps (inside tx, sub locked): the
// provider session, its identity-verification session, the reviewed
// requirements, the media queue and the applied event. It reports whether
// a media fetch was queued.
func (s *Service) applyToSession(ctx context.Context, tx Store, sub *Subject, ps *ProviderSession, d providers.Decision, at, now time.Time) (bool, error) {
	conf := s.providers[d.Provider]
	if at.IsZero() {
		at = now
	}
	idSess, err := s.upsertIDSession(ctx, tx, ps, string(d.Outcome), at)
	if err != nil {
		return false, err
	}
	ps.IDSessionID = idSess.ID
	ps.EventKey, ps.Outcome, ps.Final = d.EventKey, d.Outcome, d.Final
	ps.OccurredAt = d.OccurredAt.UTC().Truncate(time.Microsecond)
	if d.OccurredAt.IsZero() {
		ps.OccurredAt = time.Time{}
	}
	ps.ReasonCodes = append([]string(nil), d.ReasonCodes...)
	ps.Reason = d.Reason
	ps.Document = d.Document
	if !d.Document.ValidUntil.IsZero() {
		ps.Document.ValidUntil = d.Document.ValidUntil.UTC().Truncate(time.Microsecond)
	}
	queued := false
	switch {
	case d.Outcome == providers.OutcomeApproved && conf.media != nil && s.blobs != nil:
		ps.MediaStatus, ps.MediaAttempts, ps.MediaNextAt = MediaPending, 0, now
		queued = true
	case d.Outcome != providers.OutcomeApproved && ps.MediaStatus == MediaPending:
		ps.MediaStatus, ps.MediaAttempts, ps.MediaNextAt = MediaNone, 0, time.Time{}
	}
	ps.UpdatedAt = now
	if err := tx.PutProviderSession(ctx, *ps); err != nil {
		return false, err
	}
	for _, name := range conf.reqs {
		if err := s.reviewByProvider(ctx, tx, sub, name, d); err != nil {
			return false, err
		}
	}
	return queued, s.emit(ctx, tx, sub, now, &ProviderDecisionAppliedPayload{
		Provider: d.Provider, SessionID: d.SessionID, EventKey: d.EventKey, Outcome: d.Outcome, Final: d.Final,
		ReasonCodes: ps.ReasonCodes, IDSessionID: idSess.ID})
}

// upsertIDSession creates the identity-verification session of ps, or
// updates its status and date, keeping its images.
func (s *Service) upsertIDSession(ctx context.Context, tx Store, ps *ProviderSession, status string, at time.Time) (IDSession, error) {
	if ps.IDSessionID != "" {
		list, err := tx.ListIDSessions(ctx, ps.SubjectID)
		if err != nil {
			return IDSession{}, err
		}
		for _, x := range list {
			if x.ID == ps.IDSessionID {
				x.Status, x.CreatedAt = status, at
				return x, tx.UpdateIDSession(ctx, x)
			}
		}
	}
	x := IDSession{ID: s.newID(), SubjectID: ps.SubjectID, Provider: ps.Provider, Status: status, CreatedAt: at}
	return x, tx.AddIDSession(ctx, x)
}

// reviewByProvider applies d to the document requirement name (see
// ProviderConfig.Requirements). A requirement already in the state d asks
// for is left as it is.
func (s *Service) reviewByProvider(ctx context.Context, tx Store, sub *Subject, name string, d providers.Decision) error {
	st, err := s.loadState(ctx, tx, sub.ID, name)
	if err != nil {
		return err
	}
	v := verdict{requirement: name, provider: d.Provider}
	if exp := d.Document.ValidUntil; exp.After(s.Now()) {
		// The document's expiry ends the approval of a requirement with
		// useDocumentExpiry (see Validity); a date already past is not
		// used (the approval then lasts validFor), so a provider's
		// approval is never refused for it.
		v.validity = Validity{DocumentExpiry: exp}
	}
	switch d.Outcome {
	case providers.OutcomeApproved:
		v.decision = Approve
	case providers.OutcomeDeclined:
		v.decision, v.final = Reject, d.Final
	case providers.OutcomeResubmissionRequested, providers.OutcomeExpired:
		v.decision = Reject
	default: // started, submitted, review: the provider is on it
		if st.Status == levels.Pending {
			return nil
		}
		now := s.Now()
		st.Status, st.Reason, st.Final, st.UpdatedAt = levels.Pending, "", false, now
		if err := tx.PutRequirementState(ctx, st); err != nil {
			return err
		}
		return s.emit(ctx, tx, sub, now, &RequirementSubmittedPayload{Requirement: name, Status: st.Status})
	}
	if v.decision == Reject {
		v.reason = d.Reason
		if v.reason == "" {
			v.reason = fmt.Sprintf("%s: %s", d.Provider, d.Outcome)
		}
	}
	switch {
	case v.decision == Approve && st.Status == levels.Approved,
		v.decision == Reject && st.Status == levels.Rejected && st.Final == v.final && st.Reason == v.reason:
		return nil
	}
	return s.decide(ctx, tx, sub, &st, v)
}

// ProviderSessions returns the subject's provider sessions as actor sees
// the subject, oldest first.
func (s *Service) ProviderSessions(ctx context.Context, actor Actor, subjectID int64) ([]ProviderSession, error) {
	if _, err := s.Subject(ctx, actor, subjectID); err != nil {
		return nil, err
	}
	list, err := s.store.ListProviderSessions(ctx, ProviderSessionFilter{SubjectID: subjectID})
	return list, s.fail("ProviderSessions", err)
}

// StartProviderSessionParams are the inputs of StartProviderSession.
type StartProviderSessionParams struct {
	// SubjectID is the subject to verify.
	SubjectID int64
	// Provider names a configured provider.
	Provider string
	// ReturnURL is where the provider sends the user back; optional.
	ReturnURL string
	// Timeout bounds the provider call; 0 means 15 s.
	Timeout time.Duration
}

// DefaultStartTimeout bounds StartProviderSession's provider call.
const DefaultStartTimeout = 15 * time.Second

// StartProviderSession starts a hosted session at a provider for a subject
// and returns it (Session.URL is where to send the user). The provider is
// called outside any transaction, bounded by p.Timeout; the session is
// then recorded so that its decisions find the subject even when they do
// not carry its identifier. A provider that does not answer is
// ErrUnavailable (try later); one that refuses is ErrUnavailable too (the
// user cannot fix it). The actor is the subject itself, the host, the
// system or an admin who may see the subject.
func (s *Service) StartProviderSession(ctx context.Context, actor Actor, p StartProviderSessionParams) (providers.Session, error) {
	const op = "StartProviderSession"
	if err := actor.may(op, ActorUser, ActorAdmin, ActorHost, ActorSystem); err != nil {
		return providers.Session{}, s.fail(op, err)
	}
	conf, ok := s.providers[p.Provider]
	if !ok {
		return providers.Session{}, s.fail(op, newErr(ErrNotFound, "provider %q is not configured", p.Provider))
	}
	sub, err := s.subject(ctx, actor, p.SubjectID, op)
	if err != nil {
		return providers.Session{}, err
	}
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = DefaultStartTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	sess, err := conf.p.StartSession(cctx, providers.StartParams{SubjectRef: sub.Identifier, ReturnURL: p.ReturnURL})
	cancel()
	switch {
	case errors.Is(err, providers.ErrInvalidParams):
		return providers.Session{}, s.fail(op, &Error{Sentinel: ErrInvalid, Field: "returnUrl", Message: "the provider refuses these parameters", cause: err})
	case err != nil && ctx.Err() != nil:
		return providers.Session{}, s.fail(op, ctx.Err())
	case err != nil:
		return providers.Session{}, s.fail(op, &Error{Sentinel: ErrUnavailable, Message: "the identity provider is unavailable; try again later", cause: err})
	case sess.ID == "" || len(sess.ID) > maxProviderID:
		return providers.Session{}, s.fail(op, &Error{Sentinel: ErrUnavailable, Message: "the identity provider answered without a usable session"})
	}
	err = s.inTx(ctx, op, func(ctx context.Context, tx Store) error {
		if _, err := lockLive(ctx, tx, sub.ID); err != nil {
			return err
		}
		now := s.Now()
		ps, err := tx.GetProviderSession(ctx, p.Provider, sess.ID)
		switch {
		case errors.Is(err, ErrNotFound):
			ps = ProviderSession{Provider: p.Provider, SessionID: sess.ID, SubjectID: sub.ID, CreatedAt: now}
		case err != nil:
			return err
		case ps.SubjectID != sub.ID:
			return newErr(ErrConflict, "the provider reused a session id of another subject")
		}
		ps.URL, ps.UpdatedAt = sess.URL, now
		return tx.PutProviderSession(ctx, ps)
	})
	if err != nil {
		return providers.Session{}, err
	}
	return sess, nil
}
