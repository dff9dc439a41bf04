package verification

import (
	"slices"
	"strconv"
)

// ActorKind says who performs a Service call.
type ActorKind string

// The kinds of actor.
const (
	// ActorAdmin is a reviewer or operator: a person with an admin id,
	// optionally limited to the subjects carrying one of its tags.
	ActorAdmin ActorKind = "admin"
	// ActorHost is the host application's own backend acting on its own
	// authority (an email code it checked, an API key acting for a user).
	ActorHost ActorKind = "host"
	// ActorSystem is the library itself or a scheduled job (expiry,
	// retention, signed-URL downloads, the demo seeder).
	ActorSystem ActorKind = "system"
	// ActorProvider is an identity provider reporting a decision.
	ActorProvider ActorKind = "provider"
	// ActorUser is a subject acting for itself.
	ActorUser ActorKind = "user"
)

// Actor is who performs a Service call. Every admin and reader call takes
// one, and the Service alone decides from it what the caller may see or
// change:
//
//   - an admin sees the subjects carrying at least one of its Tags (every
//     subject when Tags is nil, none when it is empty but not nil); a
//     subject it may not see looks exactly like an absent one;
//   - a user sees only its own subject;
//   - host, system and provider actors see every subject.
//
// Reviewer decisions (Review, ReviewFile, DecideApplication,
// ResetRequirement, GrantLevel) need an admin: its id is recorded on the
// grants, reviews and applications it decides.
type Actor struct {
	// Kind says who acts.
	Kind ActorKind
	// ID identifies the actor within its kind: an admin's user id and a
	// user's subject id as positive decimal integers, a provider's name
	// ("veriff"); empty for host and system actors.
	ID string
	// Tags limits an admin to the subjects carrying at least one of these
	// tags: nil sees every subject, an empty non-nil slice sees none.
	// Ignored for other kinds.
	Tags []string
}

// AdminActor returns the admin with user id id, limited to tags (nil: no
// limit; empty non-nil: sees no subject).
func AdminActor(id int64, tags []string) Actor {
	a := Actor{Kind: ActorAdmin, ID: strconv.FormatInt(id, 10)}
	if tags != nil {
		a.Tags = slices.Clone(tags)
		if a.Tags == nil {
			a.Tags = []string{}
		}
	}
	return a
}

// UserActor returns the subject with ID subjectID acting for itself.
func UserActor(subjectID int64) Actor {
	return Actor{Kind: ActorUser, ID: strconv.FormatInt(subjectID, 10)}
}

// HostActor returns the host's backend acting on its own authority.
func HostActor() Actor { return Actor{Kind: ActorHost} }

// SystemActor returns the library or a scheduled job.
func SystemActor() Actor { return Actor{Kind: ActorSystem} }

// ProviderActor returns the identity provider named name.
func ProviderActor(name string) Actor { return Actor{Kind: ActorProvider, ID: name} }

// number returns the actor's ID as a positive integer, or 0.
func (a Actor) number() int64 {
	n, err := strconv.ParseInt(a.ID, 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return n
}

// AdminID returns the admin's user id, or 0 when the actor is not an admin
// with a valid id.
func (a Actor) AdminID() int64 {
	if a.Kind != ActorAdmin {
		return 0
	}
	return a.number()
}

// SubjectID returns a user actor's subject id, or 0 for other actors.
func (a Actor) SubjectID() int64 {
	if a.Kind != ActorUser {
		return 0
	}
	return a.number()
}

// check reports what is wrong with the actor: an unknown kind, an admin or
// user without a positive id, a provider without a name.
func (a Actor) check() error {
	switch a.Kind {
	case ActorAdmin:
		if a.AdminID() == 0 {
			return invalid("actor", "an admin needs a positive integer id")
		}
	case ActorUser:
		if a.SubjectID() == 0 {
			return invalid("actor", "a user needs a positive integer subject id")
		}
	case ActorProvider:
		if a.ID == "" {
			return invalid("actor", "a provider needs a name")
		}
	case ActorHost, ActorSystem:
	default:
		return invalid("actor", "unknown actor kind %q", a.Kind)
	}
	return nil
}

// scoped reports whether the actor is an admin limited by tags.
func (a Actor) scoped() bool { return a.Kind == ActorAdmin && a.Tags != nil }

// sees reports whether the actor may see the subject: the one visibility
// rule of the library (see Actor).
func (a Actor) sees(sub Subject) bool {
	switch a.Kind {
	case ActorUser:
		return sub.ID == a.SubjectID()
	case ActorAdmin:
		return a.Tags == nil || sub.HasAnyTag(a.Tags)
	}
	return true
}

// may checks that the actor is valid and of one of kinds, answering
// ErrForbidden otherwise; op names the call in the message.
func (a Actor) may(op string, kinds ...ActorKind) error {
	if err := a.check(); err != nil {
		return err
	}
	if !slices.Contains(kinds, a.Kind) {
		return newErr(ErrForbidden, "%s: a %s actor may not do this", op, a.Kind)
	}
	return nil
}

// Who may call what: reviewer decisions need an admin; managing subjects
// and setting requirements an admin or the host's own systems.
var (
	reviewers = []ActorKind{ActorAdmin}
	managers  = []ActorKind{ActorAdmin, ActorHost, ActorSystem}
	setters   = []ActorKind{ActorAdmin, ActorHost, ActorSystem, ActorProvider}
	readers   = []ActorKind{ActorAdmin, ActorHost, ActorSystem, ActorProvider, ActorUser}
)
