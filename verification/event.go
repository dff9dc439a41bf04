package verification

import "context"

// Events returns the outbox events matching f, in Seq order, as actor sees
// them: a user reads only its own subject's; an admin with tags must name a
// subject it may see (f.SubjectID), any other subject answers ER709.
func (s *Service) Events(ctx context.Context, actor Actor, f EventFilter) ([]Event, error) {
	if err := actor.may("Events", readers...); err != nil {
		return nil, s.fail("Events", err)
	}
	switch {
	case f.SubjectID < 0:
		return nil, s.fail("Events", invalid("subjectId", "must be a positive integer"))
	case f.Limit < 0 || f.Limit > MaxListLimit:
		return nil, s.fail("Events", invalid("limit", "must be between 0 and %d", MaxListLimit))
	case actor.Kind == ActorUser:
		if f.SubjectID != 0 && f.SubjectID != actor.SubjectID() {
			return nil, s.fail("Events", coded(CodeUserDeleted))
		}
		f.SubjectID = actor.SubjectID()
	case actor.scoped():
		if f.SubjectID == 0 {
			return nil, s.fail("Events", newErr(ErrForbidden, "an admin with tags lists the events of one subject at a time"))
		}
		sub, err := s.store.GetSubject(ctx, f.SubjectID)
		if err == nil && !actor.sees(sub) {
			err = coded(CodeUserDeleted)
		}
		if err != nil {
			return nil, s.fail("Events", err)
		}
	}
	evs, err := s.store.ListEvents(ctx, f)
	if err != nil {
		return nil, s.fail("Events", err)
	}
	return evs, nil
}
