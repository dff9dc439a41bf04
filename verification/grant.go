package verification

import "context"

// GrantLevelParams are the inputs of GrantLevel.
type GrantLevelParams struct {
	SubjectID int64
	// Level is the ID of the level to move the subject to (up or down).
	Level int
	// Reason is recorded on the grant; required.
	Reason string
	// AdminID is the admin granting it; required (positive).
	AdminID int64
}

// GrantLevel moves a subject to any level of the ladder, up or down, as an
// admin's decision recorded with its reason. Granting the current level is
// ErrConflict (nothing would change).
func (s *Service) GrantLevel(ctx context.Context, p GrantLevelParams) (Grant, error) {
	lvl, ok := s.ladder.Level(p.Level)
	var err error
	switch {
	case p.SubjectID <= 0:
		err = invalid("subjectId", "must be a positive integer")
	case !ok:
		err = invalid("level", "unknown level %d", p.Level)
	case p.Reason == "":
		err = invalid("reason", "is required")
	case len(p.Reason) > MaxReasonLen:
		err = invalid("reason", "must be at most %d characters", MaxReasonLen)
	case p.AdminID <= 0:
		err = invalid("adminId", "must be a positive integer")
	}
	if err != nil {
		return Grant{}, s.fail("GrantLevel", err)
	}
	var g Grant
	err = s.inTx(ctx, "GrantLevel", func(ctx context.Context, tx Store) error {
		sub, err := lockLive(ctx, tx, p.SubjectID)
		if err != nil {
			return err
		}
		if sub.Level == lvl.ID {
			return newErr(ErrConflict, "subject is already at level %d", lvl.ID)
		}
		g, err = s.addGrant(ctx, tx, &sub, lvl, s.Now(), grantArgs{reason: p.Reason, userID: p.AdminID})
		return err
	})
	return g, err
}

// Grants lists grants matching f (see GrantFilter): the history of level
// changes, in grant order (which is createTime order). Limit must be 0 to
// MaxListLimit and Offset non-negative.
func (s *Service) Grants(ctx context.Context, f GrantFilter) (GrantPage, error) {
	switch {
	case f.Limit < 0 || f.Limit > MaxListLimit:
		return GrantPage{}, s.fail("Grants", invalid("limit", "must be between 0 and %d", MaxListLimit))
	case f.Offset < 0:
		return GrantPage{}, s.fail("Grants", invalid("offset", "must not be negative"))
	case f.ClientID < 0:
		return GrantPage{}, s.fail("Grants", invalid("clientId", "must be a positive integer"))
	}
	page, err := s.store.ListGrants(ctx, f)
	if err != nil {
		return GrantPage{}, s.fail("Grants", err)
	}
	if page.Items == nil {
		page.Items = []Grant{}
	}
	return page, nil
}

// Grant returns one grant. When tags is non-nil the grant is visible only if
// its subject carries one of them (a tag-scoped admin); otherwise ErrNotFound,
// exactly as for an absent grant.
func (s *Service) Grant(ctx context.Context, id int64, tags []string) (Grant, error) {
	if id <= 0 {
		return Grant{}, s.fail("Grant", invalid("verificationId", "must be a positive integer"))
	}
	g, err := s.store.GetGrant(ctx, id)
	if err != nil {
		return Grant{}, s.fail("Grant", err)
	}
	if tags != nil {
		sub, err := s.store.GetSubject(ctx, g.ClientID)
		if err != nil {
			return Grant{}, s.fail("Grant", err)
		}
		if !sub.HasAnyTag(tags) {
			return Grant{}, s.fail("Grant", newErr(ErrNotFound, "grant %d not found", id))
		}
	}
	return g, nil
}
