package verification

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// The audit trail
//
// Every admin act (a decision, a grant, a change of what a reviewer may see,
// an erasure, a replay) and every read of a document's bytes by an admin or
// the host writes one AuditEntry, in the same store transaction as the
// change it records, so the trail holds exactly the acts that happened.
// Entries are append-only: no store offers an update or a delete, and
// erasure keeps them (they hold ids and non-personal facts only: never an
// identifier, a name, an answer or a free-text reason).
//
// The entries form a hash chain: each entry's Hash is
//
//	hex(SHA-256(PrevHash || CanonicalJSON(entry without Hash)))
//
// where PrevHash is the previous entry's Hash as its 64 hex characters (the
// empty string for the first entry, Seq 1) and || is byte concatenation.
// CanonicalJSON (see AuditEntry.CanonicalJSON) is reproducible in any
// language, so an auditor can check an export without this library.
// VerifyAudit walks the chain and names the first entry that does not
// match. The chain proves that no entry was changed, removed or inserted in
// the middle; that the newest entries were not cut off is proved by keeping
// the head (VerifyAudit's AuditHead) somewhere the database's operators
// cannot rewrite, e.g. in the host's logs or an external timestamping
// service, now and then.

// AuditAction names what an audit entry records.
type AuditAction string

// The audited actions. The entity each one names is given in brackets.
const (
	// AuditReviewDecided: an admin approved or rejected a pending
	// requirement [requirement, its name] or one side of a document [file,
	// its id]. Summary: decision, final (rejections).
	AuditReviewDecided AuditAction = "review.decided"
	// AuditApplicationDecided: an admin approved or rejected an application
	// [application]. Summary: decision, level.
	AuditApplicationDecided AuditAction = "application.decided"
	// AuditGrantManual: an admin moved a subject to a level by hand [grant].
	// Summary: level, previousLevel.
	AuditGrantManual AuditAction = "grant.manual"
	// AuditRequirementSet: a requirement was set directly by an admin, the
	// host or the system [requirement]. Summary: status, value (whether a
	// value was given), final.
	AuditRequirementSet AuditAction = "requirement.set"
	// AuditRequirementReset: an admin reset a requirement [requirement].
	// Summary: reopen, status (after the reset).
	AuditRequirementReset AuditAction = "requirement.reset"
	// AuditSubjectTags: a subject's tags were replaced [subject]. Summary:
	// tags (the new tags, comma-separated; tags are scope labels, not
	// personal data), previousTags.
	AuditSubjectTags AuditAction = "subject.tags"
	// AuditSubjectHold: a legal hold was placed or lifted [subject].
	// Summary: hold ("true" or "false").
	AuditSubjectHold AuditAction = "subject.hold"
	// AuditSubjectDeleted: a subject was marked deleted [subject].
	AuditSubjectDeleted AuditAction = "subject.deleted"
	// AuditSubjectErased: a subject's personal data was erased [subject].
	// Summary: files (how many file records were removed).
	AuditSubjectErased AuditAction = "subject.erased"
	// AuditIDSessionRecorded: an identity-verification session was recorded
	// [idsession]. Summary: provider, status.
	AuditIDSessionRecorded AuditAction = "idsession.recorded"
	// AuditProviderDecision: an identity provider's decision was applied
	// (ApplyProviderDecision) [providersession, the provider's session id;
	// summary: outcome, final], or a provider actor set a requirement
	// [requirement] or recorded an identity-verification session
	// [idsession] (summary as for AuditRequirementSet and
	// AuditIDSessionRecorded). Stale, duplicate and unmatched deliveries
	// change nothing and write no entry.
	AuditProviderDecision AuditAction = "provider.decision"
	// AuditRetentionRun: one ApplyRetention run [retention, empty id].
	// Summary: purged, held (counts), cutoff.
	AuditRetentionRun AuditAction = "retention.run"
	// AuditDeliveryReplayed: a dead-lettered delivery was put back in the
	// queue [delivery, the event id]. Summary: sink.
	AuditDeliveryReplayed AuditAction = "delivery.replayed"
	// AuditApplicationClaimed: a reviewer claimed an application to work on
	// it [application] (see AuditClaim).
	AuditApplicationClaimed AuditAction = "application.claimed"
	// AuditApplicationReleased: a reviewer released a claimed application
	// [application] (see AuditClaim).
	AuditApplicationReleased AuditAction = "application.released"
	// AuditDocumentViewed: an admin or the host read a document's bytes
	// [file]. Summary: documentType, side.
	AuditDocumentViewed AuditAction = "document.viewed"
	// AuditApplicationsExpire: an operator expired the open applications
	// past their TTL by hand (Service.ExpireDueAs) [maintenance,
	// "application-expiry"]. Summary: expired (count), complete ("false"
	// when the expiry failed part way).
	AuditApplicationsExpire AuditAction = "applications.expire"
	// AuditMaintenanceRun: an operator ran maintenance jobs by hand
	// (Runner.RunAs) [maintenance, empty id]. Summary: jobs (the names
	// run, comma-separated), failed (count), and each job's counts as
	// "JOB.KEY" (e.g. "retention.purged").
	AuditMaintenanceRun AuditAction = "maintenance.run"
	// AuditKeysRewrapped: an operator rewrapped the subjects' data keys
	// with the current master key (Service.RewrapKeys) [keyring, the
	// current master key's id]. Summary: rewrapped, current (already
	// wrapped by it), reerased (counts), complete.
	AuditKeysRewrapped AuditAction = "keys.rewrapped"
)

// AuditActions lists every audited action, in the order of the constants.
var AuditActions = []AuditAction{
	AuditReviewDecided, AuditApplicationDecided, AuditGrantManual, AuditRequirementSet, AuditRequirementReset,
	AuditSubjectTags, AuditSubjectHold, AuditSubjectDeleted, AuditSubjectErased, AuditIDSessionRecorded,
	AuditProviderDecision, AuditRetentionRun, AuditDeliveryReplayed, AuditApplicationClaimed,
	AuditApplicationReleased, AuditDocumentViewed, AuditApplicationsExpire, AuditMaintenanceRun,
	AuditKeysRewrapped,
}

// Valid reports whether a is one of AuditActions.
func (a AuditAction) Valid() bool { return slices.Contains(AuditActions, a) }

// Audit entities: what an entry's EntityID identifies.
const (
	AuditEntitySubject     = "subject"
	AuditEntityRequirement = "requirement"
	AuditEntityFile        = "file"
	AuditEntityApplication = "application"
	AuditEntityGrant       = "grant"
	AuditEntityIDSession   = "idsession"
	AuditEntityDelivery    = "delivery"
	AuditEntityRetention   = "retention"
	// AuditEntityMaintenance: the maintenance work an operator ran (the
	// job's name, or empty for a maintenance run).
	AuditEntityMaintenance = "maintenance"
	// AuditEntityKeyring: the master keys of the sealed documents (the
	// current key's id; ids are not secrets).
	AuditEntityKeyring = "keyring"
	// AuditEntityProviderSession: an identity provider's session (its id
	// at the provider).
	AuditEntityProviderSession = "providersession"
)

// AuditEntry is one record of the audit trail.
type AuditEntry struct {
	// Seq is the entry's position in the trail: 1, 2, 3, ... without gaps.
	Seq int64
	// At is when the act happened (the Service's clock, UTC, microseconds).
	At time.Time
	// Actor is who acted: its Kind and ID only (Tags are not stored).
	Actor Actor
	// Action is what was done.
	Action AuditAction
	// SubjectID is the subject acted on; 0 for acts on no one subject (a
	// retention run).
	SubjectID int64
	// Entity names the kind of object acted on (AuditEntitySubject, ...).
	Entity string
	// EntityID identifies that object (a requirement's name, a file's id, an
	// application's id, ...); empty when the entity has no id.
	EntityID string
	// Summary holds the non-personal facts of the change (a decision, a
	// level, a count), per action as documented on the AuditAction
	// constants; never identifiers, names, answers or free-text reasons.
	// Values are strings so that they round-trip exactly through every
	// store ("2", "true").
	Summary map[string]string
	// PrevHash is the previous entry's Hash; empty for the first entry.
	PrevHash string
	// Hash is hex(SHA-256(PrevHash || CanonicalJSON())).
	Hash string
}

// canonicalAudit is an entry's canonical JSON form: keys in byte order,
// fields never omitted.
type canonicalAudit struct {
	Action    AuditAction       `json:"action"`
	Actor     canonicalActor    `json:"actor"`
	At        string            `json:"at"`
	Entity    string            `json:"entity"`
	EntityID  string            `json:"entityId"`
	PrevHash  string            `json:"prevHash"`
	Seq       int64             `json:"seq"`
	SubjectID int64             `json:"subjectId"`
	Summary   map[string]string `json:"summary"`
}

type canonicalActor struct {
	ID   string    `json:"id"`
	Kind ActorKind `json:"kind"`
}

// CanonicalJSON returns the bytes the entry's hash covers: a JSON object
// of every field but Hash, with
//   - keys sorted byte-wise at every level: action, actor {id, kind}, at,
//     entity, entityId, prevHash, seq, subjectId, summary;
//   - no insignificant whitespace, every field present (empty strings as
//     "", an empty summary as {});
//   - at in UTC as RFC 3339 with the fraction trimmed of trailing zeros
//     (Go's time.RFC3339Nano: "2024-01-15T12:00:00.123456Z");
//   - seq and subjectId as plain integers;
//   - strings as JSON strings with only the escapes JSON requires ("\"",
//     "\\", control characters; no HTML escaping of <, > and &).
func (e AuditEntry) CanonicalJSON() []byte {
	c := canonicalAudit{
		Action: e.Action, Actor: canonicalActor{ID: e.Actor.ID, Kind: e.Actor.Kind},
		At: e.At.UTC().Format(time.RFC3339Nano), Entity: e.Entity, EntityID: e.EntityID,
		PrevHash: e.PrevHash, Seq: e.Seq, SubjectID: e.SubjectID, Summary: e.Summary,
	}
	if c.Summary == nil {
		c.Summary = map[string]string{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c); err != nil {
		// Only strings, integers and a map of strings: Encode cannot fail.
		panic("verification: encoding an audit entry: " + err.Error())
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// ComputeHash returns what the entry's Hash must be: the hex SHA-256 of
// PrevHash followed by CanonicalJSON.
func (e AuditEntry) ComputeHash() string {
	h := sha256.New()
	h.Write([]byte(e.PrevHash))
	h.Write(e.CanonicalJSON())
	return hex.EncodeToString(h.Sum(nil))
}

// AuditStore keeps the audit trail (part of Store). It has no update or
// delete: entries are permanent.
type AuditStore interface {
	// LastAudit returns the newest entry (the highest Seq), or ErrNotFound
	// when the trail is empty. Inside InTx it also holds the trail's append
	// lock until the transaction ends (as LockSubject does for a subject), so
	// that transactions appending entries, in this process or another, run
	// their appends one after the other and each sees the head the previous
	// one committed. Call it before AppendAudit.
	LastAudit(ctx context.Context) (AuditEntry, error)
	// AppendAudit inserts e as it is. e.Seq must be one more than the newest
	// entry's Seq (1 for the first entry), otherwise AppendAudit returns
	// ErrConflict and inserts nothing: the trail has no gaps and no forks.
	// The store does not check the hashes (VerifyAudit does).
	AppendAudit(ctx context.Context, e AuditEntry) error
	// ScanAudit calls fn with every entry matching f, in Seq order, and
	// stops at fn's first error, which it returns. Stores read the entries
	// in batches of a bounded size and call fn between batches' reads
	// (never while holding a cursor or a lock that fn's own store calls
	// would need), so a scan of any length uses constant memory.
	ScanAudit(ctx context.Context, f AuditFilter, fn func(AuditEntry) error) error
}

// ScanAuditPages implements the paging of AuditStore.ScanAudit for a store
// that reads the trail by keyset: page returns, in Seq order, up to limit
// entries matching f with Seq after after (each page read completely
// before fn runs). It asks for pages of up to size entries, and fewer
// when f.Limit leaves less room, until a short page or f.Limit entries;
// ctx is checked before each entry.
func ScanAuditPages(ctx context.Context, f AuditFilter, size int, page func(after int64, limit int) ([]AuditEntry, error), fn func(AuditEntry) error) error {
	next, sent := max(f.AfterSeq, 0), 0
	for {
		limit := size
		if f.Limit > 0 {
			limit = min(limit, f.Limit-sent)
		}
		batch, err := page(next, limit)
		if err != nil {
			return err
		}
		for _, e := range batch {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(e); err != nil {
				return err
			}
		}
		sent += len(batch)
		if len(batch) < limit || f.Limit > 0 && sent >= f.Limit {
			return nil
		}
		next = batch[len(batch)-1].Seq
	}
}

// AuditFilter selects audit entries. Zero fields do not filter.
type AuditFilter struct {
	// SubjectID keeps only the entries about that subject.
	SubjectID int64
	// Tags, when non-nil, keeps only the entries about subjects currently
	// carrying at least one of these tags (an empty non-nil slice matches
	// nothing; entries about no subject never match), as GrantFilter.Tags.
	Tags []string
	// ActorKind keeps only the entries of actors of that kind; ActorID, with
	// it, only those of that actor.
	ActorKind ActorKind
	ActorID   string
	// Action keeps only the entries of that action.
	Action AuditAction
	// Since keeps only the entries with At at or after it; Until those with
	// At strictly before it.
	Since, Until time.Time
	// AfterSeq keeps only the entries with Seq greater than it (a cursor).
	AfterSeq int64
	// Limit caps how many entries are returned; 0 means no limit.
	Limit int
}

// ErrAuditBroken: the audit trail's hash chain does not verify (see
// VerifyAudit and AuditBreak).
var ErrAuditBroken = errors.New("audit trail broken")

// AuditBreak names the first entry of the audit trail that does not verify.
// It matches ErrAuditBroken with errors.Is.
type AuditBreak struct {
	// Seq is the first entry that does not verify (for a missing entry,
	// the Seq expected at that place).
	Seq int64
	// Reason says what does not match.
	Reason string
}

// Error implements error.
func (b *AuditBreak) Error() string {
	return fmt.Sprintf("verification: audit trail broken at seq %d: %s", b.Seq, b.Reason)
}

// Unwrap makes the break match ErrAuditBroken.
func (b *AuditBreak) Unwrap() error { return ErrAuditBroken }

// AuditHead is the newest entry of a verified trail: keep it outside the
// database now and then, so that a later VerifyAudit also proves that no
// entry was cut off the end (the head's Seq and Hash must still be in the
// chain).
type AuditHead struct {
	// Seq is the newest entry's Seq (0 for an empty trail).
	Seq int64
	// Hash is the newest entry's Hash (empty for an empty trail).
	Hash string
}

// auditArgs is what an act's audit entry records besides the actor.
type auditArgs struct {
	action    AuditAction
	subjectID int64
	entity    string
	entityID  string
	summary   map[string]string
}

// appendAudit writes the entry of one act inside tx: it reads (and locks)
// the chain's head, links the entry to it and appends it. Callers make it
// the last write of their transaction, so the append lock is held briefly.
func appendAudit(ctx context.Context, tx Store, actor Actor, at time.Time, a auditArgs) error {
	e := AuditEntry{
		Seq: 1, At: at, Actor: Actor{Kind: actor.Kind, ID: actor.ID}, Action: a.action,
		SubjectID: a.subjectID, Entity: a.entity, EntityID: a.entityID, Summary: a.summary,
	}
	last, err := tx.LastAudit(ctx)
	switch {
	case err == nil:
		e.Seq, e.PrevHash = last.Seq+1, last.Hash
	case !errors.Is(err, ErrNotFound):
		return err
	}
	e.Hash = e.ComputeHash()
	return tx.AppendAudit(ctx, e)
}

// audit writes the entry of actor's act inside tx, at the Service's clock.
func (s *Service) audit(ctx context.Context, tx Store, actor Actor, a auditArgs) error {
	return appendAudit(ctx, tx, actor, s.Now(), a)
}

// itoa formats an integer for a Summary.
func itoa[T ~int | ~int64](n T) string { return strconv.FormatInt(int64(n), 10) }

// AuditClaim records, inside tx (a transaction of this Service's store that
// changes the claim), that actor claimed an application for review
// (claimed) or released it: the review console's claims write their entry
// in the same transaction as the claim itself. The actor must be an admin
// who may see the application's subject. Make it the transaction's last
// write, as every act of the Service does: it takes the chain's append
// lock, and taking that lock last keeps one lock order across acts.
func (s *Service) AuditClaim(ctx context.Context, tx Store, actor Actor, app Application, claimed bool) error {
	if err := actor.may("AuditClaim", reviewers...); err != nil {
		return s.fail("AuditClaim", err)
	}
	if app.ID <= 0 || app.SubjectID <= 0 {
		return s.fail("AuditClaim", invalid("applicationId", "must be a stored application"))
	}
	if err := s.checkApplicationVisible(ctx, tx, actor, app); err != nil {
		return s.fail("AuditClaim", err)
	}
	action := AuditApplicationReleased
	if claimed {
		action = AuditApplicationClaimed
	}
	return s.fail("AuditClaim", s.audit(ctx, tx, actor, auditArgs{action: action, subjectID: app.SubjectID,
		entity: AuditEntityApplication, entityID: itoa(app.ID), summary: map[string]string{"level": itoa(app.Level)}}))
}

// VerifyAudit walks the whole audit trail in Seq order and checks that the
// chain holds: Seqs 1, 2, 3, ... without a gap, each entry's PrevHash equal
// to the previous entry's Hash, and each Hash equal to ComputeHash. It
// returns the head of the verified trail, or an error matching
// ErrAuditBroken that is an *AuditBreak naming the first entry that does
// not verify. It reads in batches: memory use does not grow with the
// trail.
func (s *Service) VerifyAudit(ctx context.Context) (AuditHead, error) {
	var head AuditHead
	err := s.store.ScanAudit(ctx, AuditFilter{}, func(e AuditEntry) error {
		switch {
		case e.Seq != head.Seq+1:
			return &AuditBreak{Seq: head.Seq + 1, Reason: fmt.Sprintf("entry %d is missing (the next entry is %d)", head.Seq+1, e.Seq)}
		case e.PrevHash != head.Hash:
			return &AuditBreak{Seq: e.Seq, Reason: "its prevHash is not the previous entry's hash"}
		case e.ComputeHash() != e.Hash:
			return &AuditBreak{Seq: e.Seq, Reason: "its hash does not match its contents"}
		}
		head = AuditHead{Seq: e.Seq, Hash: e.Hash}
		return nil
	})
	var b *AuditBreak
	if errors.As(err, &b) {
		s.log.Error().Int64("seq", b.Seq).Msg("verification: audit trail broken")
		return head, b
	}
	return head, s.fail("VerifyAudit", err)
}

// checkAuditFilter validates a caller's filter.
func checkAuditFilter(f AuditFilter) error {
	switch {
	case f.SubjectID < 0:
		return invalid("clientId", "must be a positive integer")
	case f.ActorKind != "" && (Actor{Kind: f.ActorKind, ID: "1"}).check() != nil:
		return invalid("actor", "unknown actor kind %q", f.ActorKind)
	case f.ActorID != "" && f.ActorKind == "":
		return invalid("actor", "an actor id needs its kind")
	case f.Action != "" && !f.Action.Valid():
		return invalid("action", "unknown action %q", f.Action)
	case !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until):
		return invalid("since", "must be before until")
	case f.AfterSeq < 0:
		return invalid("afterSeq", "must not be negative")
	case f.Limit < 0:
		return invalid("limit", "must not be negative")
	}
	return nil
}

// scopeAudit sets f.Tags from the actor, as Grants does: an admin with tags
// sees only the entries about subjects carrying one of them.
func scopeAudit(actor Actor, f AuditFilter) AuditFilter {
	f.Tags = nil
	if actor.scoped() {
		f.Tags = slices.Clone(actor.Tags)
		if f.Tags == nil {
			f.Tags = []string{}
		}
	}
	return f
}

// ExportAudit calls fn with every audit entry matching f that actor may
// see, in Seq order, and stops at fn's first error (which it returns): the
// export streams with constant memory whatever the trail's length. Only
// admins and the host's or the system's own tools may read the trail; the
// Service sets f.Tags from the actor (an admin with tags sees only the
// entries about subjects carrying one of them, never the entries about no
// subject).
func (s *Service) ExportAudit(ctx context.Context, actor Actor, f AuditFilter, fn func(AuditEntry) error) error {
	if err := actor.may("ExportAudit", managers...); err != nil {
		return s.fail("ExportAudit", err)
	}
	if err := checkAuditFilter(f); err != nil {
		return s.fail("ExportAudit", err)
	}
	var fnErr error
	err := s.store.ScanAudit(ctx, scopeAudit(actor, f), func(e AuditEntry) error {
		if fnErr = fn(e); fnErr != nil {
			return fnErr
		}
		return nil
	})
	if fnErr != nil && errors.Is(err, fnErr) {
		return err // the caller's own error, unclassified
	}
	return s.fail("ExportAudit", err)
}

// AuditEntries returns up to f.Limit (1 to MaxPageSize) audit entries
// matching f that actor may see, in Seq order, scoped as ExportAudit:
// a subject's timeline is AuditFilter{SubjectID: id, Limit: n}, and the
// next page starts after the last entry's Seq (f.AfterSeq).
func (s *Service) AuditEntries(ctx context.Context, actor Actor, f AuditFilter) ([]AuditEntry, error) {
	if f.Limit < 1 || f.Limit > MaxPageSize {
		return nil, s.fail("AuditEntries", invalid("limit", "must be between 1 and %d", MaxPageSize))
	}
	out := make([]AuditEntry, 0, min(f.Limit, 64))
	err := s.ExportAudit(ctx, actor, f, func(e AuditEntry) error {
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
