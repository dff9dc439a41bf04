package verification

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Subject is a verified party: a client, account or user of the host.
type Subject struct {
	// ID is the internal id (the verification history API's clientId), assigned by the store.
	ID int64
	// Identifier is the host's external identifier: 36-255 ASCII letters and
	// digits, unique (catalog ER707 / ER706).
	Identifier string
	// Tags scope which admins see the subject (the admin history API); sorted, unique.
	Tags []string
	// Level is the ID of the subject's current level (its latest grant).
	Level int
	// DeletedAt is when the subject was deleted; zero if it is not.
	DeletedAt time.Time
	// LegalHold blocks erasure and retention purges.
	LegalHold bool
	// RedactedAt is when the subject's personal data was erased; zero if not.
	RedactedAt time.Time
	// EventSeq is the SubjectSeq of the subject's latest event (0 before
	// any): the Service numbers each subject's events from it.
	EventSeq int64
	// CreatedAt is when the subject was created.
	CreatedAt time.Time
	// UpdatedAt is when the subject last changed.
	UpdatedAt time.Time
}

// Deleted reports whether the subject has been deleted.
func (s Subject) Deleted() bool { return !s.DeletedAt.IsZero() }

// HasAnyTag reports whether s carries at least one of tags.
func (s Subject) HasAnyTag(tags []string) bool {
	return slices.ContainsFunc(tags, func(t string) bool { return slices.Contains(s.Tags, t) })
}

// Identifier limits (catalog ER707).
const (
	MinIdentifierLen = 36
	MaxIdentifierLen = 255
)

// ValidIdentifier reports whether id is a well-formed external identifier:
// 36 to 255 ASCII letters and digits (catalog ER707).
func ValidIdentifier(id string) bool {
	if len(id) < MinIdentifierLen || len(id) > MaxIdentifierLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// MaxTags and MaxTagLen bound a subject's tags.
const (
	MaxTags   = 32
	MaxTagLen = 64
)

// normalizeTags validates tags and returns them sorted and de-duplicated.
func normalizeTags(tags []string) ([]string, error) {
	if len(tags) > MaxTags {
		return nil, invalid("tags", "at most %d tags", MaxTags)
	}
	for _, t := range tags {
		if t == "" || len(t) > MaxTagLen || strings.TrimSpace(t) != t {
			return nil, invalid("tags", "each tag must be 1-%d characters without surrounding spaces", MaxTagLen)
		}
	}
	out := append([]string{}, tags...)
	slices.Sort(out)
	return slices.Compact(out), nil
}

// CreateSubjectParams are the inputs of CreateSubject.
type CreateSubjectParams struct {
	// Identifier is the host's external identifier (see ValidIdentifier).
	Identifier string
	// Tags scope which admins see the subject.
	Tags []string
}

// CreateSubject registers a subject at the ladder's first level, recording
// its first grant (reason "created"). A malformed identifier answers ER707,
// one already in use ER706.
func (s *Service) CreateSubject(ctx context.Context, p CreateSubjectParams) (Subject, error) {
	if !ValidIdentifier(p.Identifier) {
		e := coded(CodeIdentifierMalformed)
		e.Field = "identifier"
		return Subject{}, s.fail("CreateSubject", e)
	}
	tags, err := normalizeTags(p.Tags)
	if err != nil {
		return Subject{}, s.fail("CreateSubject", err)
	}
	now := s.Now()
	sub := Subject{Identifier: p.Identifier, Tags: tags, CreatedAt: now, UpdatedAt: now}
	err = s.inTx(ctx, "CreateSubject", func(ctx context.Context, tx Store) error {
		if err := tx.CreateSubject(ctx, &sub); err != nil {
			if errors.Is(err, ErrConflict) {
				e := coded(CodeIdentifierInUse)
				e.Field = "identifier"
				return e
			}
			return err
		}
		if err := s.emit(ctx, tx, &sub, now, &SubjectCreatedPayload{}); err != nil {
			return err
		}
		_, err := s.addGrant(ctx, tx, &sub, s.ladder.First(), now, grantArgs{reason: ReasonCreated})
		return err
	})
	if err != nil {
		return Subject{}, err
	}
	return sub, nil
}

// EnsureSubject returns the subject with the given external identifier,
// creating it with tags at the ladder's first level when there is none:
// the one call a host makes when a user logs in. It is safe for concurrent
// callers, in one process or many: when two create the same identifier at
// once, one insert wins and the other's ErrConflict turns into a read of
// the winner, so both get the same subject and one subject.created event
// is recorded. The tags of an existing subject are left as they are (see
// SetTags). A malformed identifier answers ER707, a deleted subject ER709.
func (s *Service) EnsureSubject(ctx context.Context, identifier string, tags []string) (Subject, error) {
	sub, err := s.SubjectByIdentifier(ctx, HostActor(), identifier)
	if !errors.Is(err, ErrNotFound) {
		return sub, err
	}
	sub, err = s.CreateSubject(ctx, CreateSubjectParams{Identifier: identifier, Tags: tags})
	if errors.Is(err, ErrConflict) {
		return s.SubjectByIdentifier(ctx, HostActor(), identifier)
	}
	return sub, err
}

// ReasonCreated is the reason of every subject's first grant (the verification history API).
const ReasonCreated = "created"

// Subject returns the subject with the given ID as actor sees it: a
// deleted or unknown one, or one the actor may not see, answers ER709.
func (s *Service) Subject(ctx context.Context, actor Actor, id int64) (Subject, error) {
	if err := actor.may("Subject", readers...); err != nil {
		return Subject{}, s.fail("Subject", err)
	}
	return s.subject(ctx, actor, id, "Subject")
}

// subject reads a live subject the actor may see (ER709 otherwise).
func (s *Service) subject(ctx context.Context, actor Actor, id int64, op string) (Subject, error) {
	if id <= 0 {
		return Subject{}, s.fail(op, invalid("clientId", "must be a positive integer"))
	}
	sub, err := s.store.GetSubject(ctx, id)
	return s.live(actor, sub, err, op)
}

// SubjectByIdentifier returns the subject with the given external
// identifier as actor sees it: ER707 if malformed, ER705 if no subject has
// it (or the actor may not see it), ER709 if it was deleted.
func (s *Service) SubjectByIdentifier(ctx context.Context, actor Actor, identifier string) (Subject, error) {
	if err := actor.may("SubjectByIdentifier", readers...); err != nil {
		return Subject{}, s.fail("SubjectByIdentifier", err)
	}
	if !ValidIdentifier(identifier) {
		return Subject{}, s.fail("SubjectByIdentifier", coded(CodeIdentifierMalformed))
	}
	sub, err := s.store.GetSubjectByIdentifier(ctx, identifier)
	if errors.Is(err, ErrNotFound) || err == nil && !actor.sees(sub) {
		return Subject{}, s.fail("SubjectByIdentifier", coded(CodeIdentifierNotLinked))
	}
	return s.live(actor, sub, err, "SubjectByIdentifier")
}

// live turns a subject read into the answer for actor: ER709 when it is
// absent, deleted or invisible to the actor.
func (s *Service) live(actor Actor, sub Subject, err error, op string) (Subject, error) {
	if errors.Is(err, ErrNotFound) || err == nil && (sub.Deleted() || !actor.sees(sub)) {
		return Subject{}, s.fail(op, coded(CodeUserDeleted))
	}
	if err != nil {
		return Subject{}, s.fail(op, err)
	}
	return sub, nil
}

// lockVisible locks a live subject the actor may see inside tx (ER709
// otherwise).
func lockVisible(ctx context.Context, tx Store, actor Actor, id int64) (Subject, error) {
	sub, err := lockLive(ctx, tx, id)
	if err == nil && !actor.sees(sub) {
		return Subject{}, coded(CodeUserDeleted)
	}
	return sub, err
}

// SetTags replaces the subject's tags.
func (s *Service) SetTags(ctx context.Context, actor Actor, id int64, tags []string) (Subject, error) {
	if err := actor.may("SetTags", managers...); err != nil {
		return Subject{}, s.fail("SetTags", err)
	}
	norm, err := normalizeTags(tags)
	if err != nil {
		return Subject{}, s.fail("SetTags", err)
	}
	var sub Subject
	err = s.inTx(ctx, "SetTags", func(ctx context.Context, tx Store) error {
		var err error
		if sub, err = lockVisible(ctx, tx, actor, id); err != nil {
			return err
		}
		prev := sub.Tags
		sub.Tags = norm
		sub.UpdatedAt = s.Now()
		if err := tx.UpdateSubject(ctx, sub); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, auditArgs{action: AuditSubjectTags, subjectID: sub.ID, entity: AuditEntitySubject, entityID: itoa(sub.ID),
			summary: map[string]string{"tags": strings.Join(norm, ","), "previousTags": strings.Join(prev, ",")}})
	})
	return sub, err
}

// SetLegalHold places or lifts a legal hold on the subject (deleted
// subjects included: a hold outlives the account).
func (s *Service) SetLegalHold(ctx context.Context, actor Actor, id int64, hold bool) (Subject, error) {
	if err := actor.may("SetLegalHold", managers...); err != nil {
		return Subject{}, s.fail("SetLegalHold", err)
	}
	var sub Subject
	err := s.inTx(ctx, "SetLegalHold", func(ctx context.Context, tx Store) error {
		var err error
		if sub, err = tx.LockSubject(ctx, id); err != nil {
			return err
		}
		if !actor.sees(sub) {
			return newErr(ErrNotFound, "subject %d not found", id)
		}
		sub.LegalHold = hold
		sub.UpdatedAt = s.Now()
		if err := tx.UpdateSubject(ctx, sub); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, auditArgs{action: AuditSubjectHold, subjectID: sub.ID, entity: AuditEntitySubject, entityID: itoa(sub.ID),
			summary: map[string]string{"hold": strconv.FormatBool(hold)}})
	})
	return sub, err
}

// DeleteSubject marks the subject deleted: later calls about it answer
// ER709. Its history (grants, reviews) stays for audit.
func (s *Service) DeleteSubject(ctx context.Context, actor Actor, id int64) error {
	if err := actor.may("DeleteSubject", managers...); err != nil {
		return s.fail("DeleteSubject", err)
	}
	return s.inTx(ctx, "DeleteSubject", func(ctx context.Context, tx Store) error {
		sub, err := lockVisible(ctx, tx, actor, id)
		if err != nil {
			return err
		}
		now := s.Now()
		sub.DeletedAt = now
		sub.UpdatedAt = now
		if err := s.emit(ctx, tx, &sub, now, &SubjectDeletedPayload{}); err != nil {
			return err
		}
		if err := tx.UpdateSubject(ctx, sub); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, auditArgs{action: AuditSubjectDeleted, subjectID: sub.ID, entity: AuditEntitySubject, entityID: itoa(sub.ID)})
	})
}
