package verification

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/openkyc/kyc/levels"
)

// Grant is an append-only record of a subject's level change (the
// verification history and admin history APIs). Grants are never updated or
// deleted.
type Grant struct {
	// ID is assigned by the store (positive, increasing in insertion order).
	ID int64
	// SubjectID is the subject whose level changed.
	SubjectID int64
	// Level is the level the subject moved to.
	Level LevelRef
	// Previous is the level it left; nil for the subject's first grant.
	Previous *LevelRef
	// Reason is "created", "Application: <id>", or an admin's or reviewer's reason.
	Reason string
	// AdminID is the admin who caused the grant; 0 when automatic.
	AdminID int64
	// CreatedAt is when the grant was made.
	CreatedAt time.Time
}

// LevelRef names a level by its ID and Name, as a grant records it: a
// plain reference, without the level's requirements (which may change
// after the grant).
type LevelRef struct {
	// ID is the level's ID in the ladder.
	ID int
	// Name is the level's name when the grant was made ("Level 1").
	Name string
}

// levelRef returns the reference of a ladder level.
func levelRef(l levels.Level) LevelRef { return LevelRef{ID: l.ID, Name: l.Name} }

// GrantLevelParams are the inputs of GrantLevel.
type GrantLevelParams struct {
	// SubjectID is the subject to move.
	SubjectID int64
	// Level is the ID of the level to move the subject to (up or down).
	Level int
	// Reason is recorded on the grant; required.
	Reason string
}

// GrantLevel moves a subject to any level of the ladder, up or down, as an
// admin's decision recorded with its reason. Granting the current level is
// ErrConflict (nothing would change). The actor must be an admin; a subject
// it may not see answers ER709.
func (s *Service) GrantLevel(ctx context.Context, actor Actor, p GrantLevelParams) (_ Grant, err error) {
	defer endCall(s.call(&ctx, "GrantLevel"), &err)
	if err := actor.may("GrantLevel", reviewers...); err != nil {
		return Grant{}, s.fail("GrantLevel", err)
	}
	lvl, ok := s.ladder.Level(p.Level)
	switch {
	case p.SubjectID <= 0:
		err = invalid("subjectId", "must be a positive integer")
	case !ok:
		err = invalid("level", "unknown level %d", p.Level)
	case p.Reason == "":
		err = invalid("reason", "is required")
	case len(p.Reason) > MaxReasonLen:
		err = invalid("reason", "must be at most %d characters", MaxReasonLen)
	}
	if err != nil {
		return Grant{}, s.fail("GrantLevel", err)
	}
	var g Grant
	err = s.inTx(ctx, "GrantLevel", func(ctx context.Context, tx Store) error {
		sub, err := lockVisible(ctx, tx, actor, p.SubjectID)
		if err != nil {
			return err
		}
		if sub.Level == lvl.ID {
			return newErr(ErrConflict, "subject is already at level %d", lvl.ID)
		}
		if g, err = s.addGrant(ctx, tx, &sub, lvl, s.Now(), grantArgs{reason: p.Reason, userID: actor.AdminID()}); err != nil {
			return err
		}
		sum := map[string]string{"level": itoa(g.Level.ID), "previousLevel": "0"}
		if g.Previous != nil {
			sum["previousLevel"] = itoa(g.Previous.ID)
		}
		return s.audit(ctx, tx, actor, auditArgs{action: AuditGrantManual, subjectID: sub.ID, entity: AuditEntityGrant, entityID: itoa(g.ID), summary: sum})
	})
	return g, err
}

// Grants lists grants matching f (see GrantFilter) as actor sees them: the
// history of level changes, in grant order (which is createTime order).
// Limit must be 0 to MaxPageSize and Offset non-negative. The Service sets
// f.Tags from the actor: an admin with tags lists only the grants of
// subjects carrying one of them (deleted subjects included: grants are
// audit history); a user lists only its own, and its subject must be live
// (ER709 otherwise).
func (s *Service) Grants(ctx context.Context, actor Actor, f GrantFilter) (Page[Grant], error) {
	if err := actor.may("Grants", readers...); err != nil {
		return Page[Grant]{}, s.fail("Grants", err)
	}
	switch {
	case f.Limit < 0 || f.Limit > MaxPageSize:
		return Page[Grant]{}, s.fail("Grants", invalid("limit", "must be between 0 and %d", MaxPageSize))
	case f.Offset < 0:
		return Page[Grant]{}, s.fail("Grants", invalid("offset", "must not be negative"))
	case f.SubjectID < 0:
		return Page[Grant]{}, s.fail("Grants", invalid("clientId", "must be a positive integer"))
	}
	f.Tags = nil
	switch {
	case actor.Kind == ActorUser && (f.SubjectID == 0 || f.SubjectID == actor.SubjectID()) && actor.SubjectID() > 0:
		// One round trip: the user's liveness with its page.
		sg, err := s.store.ListSubjectGrants(ctx, GrantFilter{SubjectID: actor.SubjectID(), Limit: f.Limit, Offset: f.Offset, Desc: f.Desc})
		if errors.Is(err, ErrNotFound) || err == nil && sg.Deleted {
			return Page[Grant]{}, s.fail("Grants", coded(CodeUserDeleted))
		}
		if err != nil {
			return Page[Grant]{}, s.fail("Grants", err)
		}
		if sg.Page.Items == nil {
			sg.Page.Items = []Grant{}
		}
		return sg.Page, nil
	case actor.Kind == ActorUser:
		own := actor.SubjectID()
		if _, err := s.subject(ctx, actor, own, "Grants"); err != nil {
			return Page[Grant]{}, err
		}
		if f.SubjectID != 0 && f.SubjectID != own {
			return Page[Grant]{Items: []Grant{}}, nil
		}
		f.SubjectID = own
	case actor.scoped():
		f.Tags = slices.Clone(actor.Tags)
		if f.Tags == nil {
			f.Tags = []string{}
		}
	}
	page, err := s.store.ListGrants(ctx, f)
	if err != nil {
		return Page[Grant]{}, s.fail("Grants", err)
	}
	if page.Items == nil {
		page.Items = []Grant{}
	}
	return page, nil
}

// Grant returns one grant as actor sees it: a grant of a subject the actor
// may not see is ErrNotFound, exactly as an absent one. A user's own
// subject must be live (ER709 otherwise).
func (s *Service) Grant(ctx context.Context, actor Actor, id int64) (Grant, error) {
	if err := actor.may("Grant", readers...); err != nil {
		return Grant{}, s.fail("Grant", err)
	}
	if actor.Kind == ActorUser {
		if _, err := s.subject(ctx, actor, actor.SubjectID(), "Grant"); err != nil {
			return Grant{}, err
		}
	}
	if id <= 0 {
		return Grant{}, s.fail("Grant", invalid("verificationId", "must be a positive integer"))
	}
	g, err := s.store.GetGrant(ctx, id)
	if err != nil {
		return Grant{}, s.fail("Grant", err)
	}
	if actor.Kind == ActorUser && g.SubjectID != actor.SubjectID() {
		return Grant{}, s.fail("Grant", newErr(ErrNotFound, "grant %d not found", id))
	}
	if actor.scoped() {
		sub, err := s.store.GetSubject(ctx, g.SubjectID)
		if err != nil {
			return Grant{}, s.fail("Grant", err)
		}
		if !actor.sees(sub) {
			return Grant{}, s.fail("Grant", newErr(ErrNotFound, "grant %d not found", id))
		}
	}
	return g, nil
}
