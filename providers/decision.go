package providers

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Outcome is where a provider session stands after a decision: the
// provider-neutral reading of Veriff's status codes, Onfido's workflow run
// statuses and Sumsub's review answers.
type Outcome string

// The outcomes, from the least to the most decisive (see Outcome.Rank).
const (
	// OutcomeStarted: the user opened the provider's flow.
	OutcomeStarted Outcome = "started"
	// OutcomeSubmitted: the user handed everything in; the provider is checking.
	OutcomeSubmitted Outcome = "submitted"
	// OutcomeReview: a human at the provider (or the host) must look at it.
	OutcomeReview Outcome = "review"
	// OutcomeResubmissionRequested: the attempt failed in a way the user can
	// fix (a blurred photo); a new attempt is expected in the same session.
	OutcomeResubmissionRequested Outcome = "resubmission_requested"
	// OutcomeExpired: the session expired or was abandoned before a decision.
	OutcomeExpired Outcome = "expired"
	// OutcomeDeclined: the provider refused the identity.
	OutcomeDeclined Outcome = "declined"
	// OutcomeApproved: the provider verified the identity.
	OutcomeApproved Outcome = "approved"
)

// Outcomes lists every outcome in rank order, least decisive first.
var Outcomes = []Outcome{
	OutcomeStarted,
	OutcomeSubmitted,
	OutcomeReview,
	OutcomeResubmissionRequested,
	OutcomeExpired,
	OutcomeDeclined,
	OutcomeApproved,
}

// Rank orders outcomes for decisions that happened at the same instant:
//
//	started 1 < submitted 2 < review 3 < resubmission_requested 4
//	  < expired 5 < declined 6 < approved 7
//
// The final outcomes (expired, declined, approved) rank above every
// non-final one, and approved ranks above declined: when a provider reports
// an approval and a decline with the same timestamp, the approval stands,
// because an out-of-order delivery must never turn an approved user into a
// rejected one; a decline that is really later carries a later time and
// wins on time. An unknown outcome ranks 0.
func (o Outcome) Rank() int {
	for i, known := range Outcomes {
		if o == known {
			return i + 1
		}
	}
	return 0
}

// Valid reports whether o is one of the seven outcomes.
func (o Outcome) Valid() bool { return o.Rank() > 0 }

// Final reports whether o ends a session by default: approved, declined and
// expired. Adapters set Decision.Final from the provider's own semantics,
// which usually, but not always, agree (a provider may flag an automatic
// approval as provisional until a human confirms it).
func (o Outcome) Final() bool {
	return o == OutcomeApproved || o == OutcomeDeclined || o == OutcomeExpired
}

// String returns the outcome's name.
func (o Outcome) String() string { return string(o) }

// DocumentFacts are what a provider read from the identity document. Number
// is personal data: never log it (Decision.String redacts it).
type DocumentFacts struct {
	// Type is the provider's document type, as sent ("PASSPORT",
	// "DRIVERS_LICENSE", "ID_CARD"...).
	Type string
	// Country is the issuing country as the provider sends it (Veriff: ISO
	// 3166-1 alpha-2, e.g. "EE").
	Country string
	// Number is the document number.
	Number string
	// ValidUntil is the expiry date (midnight UTC); zero when unknown.
	ValidUntil time.Time
}

// IsZero reports whether no fact is known.
func (f DocumentFacts) IsZero() bool {
	return f.Type == "" && f.Country == "" && f.Number == "" && f.ValidUntil.IsZero()
}

// Decision is one thing a provider told the host about one of its sessions,
// parsed from a verified webhook delivery. Several decisions may arrive for
// the same session, late, twice or out of order; EventKey de-duplicates
// them and Supersedes orders them.
type Decision struct {
	// Provider is the adapter's Name ("veriff", "onfido", "sumsub", "fake").
	Provider string
	// EventKey identifies the event for de-duplication: the same delivery
	// retried gives the same key, two different events give different keys.
	// It is unique per Provider. Adapters derive it with DeriveEventKey from
	// the payload fields listed in their package docs, since none of the
	// three providers sends an event id.
	EventKey string
	// SessionID is the provider's session id (Veriff verification id, Onfido
	// workflow run id, Sumsub applicant id): the unit decisions are ordered in.
	SessionID string
	// AttemptID identifies the attempt within the session when the provider
	// has attempts (Veriff); empty otherwise.
	AttemptID string
	// SubjectRef is the reference the provider echoes for the subject: the
	// host's external identifier (Veriff vendorData, Sumsub externalUserId),
	// or the provider's own applicant id (Onfido), exactly as
	// Session.SubjectRef said when the session was started. It may be empty
	// when the payload does not carry it; SessionID then identifies the
	// session the host started. Personal data: never log it in full.
	SubjectRef string
	// Outcome is where the session stands after this decision.
	Outcome Outcome
	// Final reports whether the provider considers the session decided.
	Final bool
	// ReasonCodes are the provider's machine-readable reasons (Veriff
	// reasonCode, Sumsub rejectLabels, Onfido workflow run reasons).
	ReasonCodes []string
	// Reason is the provider's human-readable reason, if any, meant to be
	// shown to the user (Veriff reason, Sumsub moderationComment).
	Reason string
	// Document holds the document facts the provider extracted, if it sent any.
	Document DocumentFacts
	// OccurredAt is when the provider says the decision was made. Zero when
	// the payload carries no time (Veriff's event webhook): such a decision
	// is older than any timed one, so it never overrides a decision that
	// has a time.
	OccurredAt time.Time
}

// Validate reports the first missing or invalid field, naming it. Adapters
// only return decisions that pass.
func (d Decision) Validate() error {
	switch {
	case d.Provider == "":
		return fmt.Errorf("providers: decision: provider is required")
	case d.EventKey == "":
		return fmt.Errorf("providers: decision: event key is required")
	case d.SessionID == "":
		return fmt.Errorf("providers: decision: session id is required")
	case !d.Outcome.Valid():
		return fmt.Errorf("providers: decision: unknown outcome %q", d.Outcome)
	}
	return nil
}

// SameSession reports whether d and other are about the same provider session.
func (d Decision) SameSession(other Decision) bool {
	return d.Provider == other.Provider && d.SessionID == other.SessionID
}

// Supersedes reports whether d, arriving after prev for the same provider
// session, should replace prev as the session's current state. It is the
// one ordering rule the Service applies; deliveries can then arrive in any
// order, any number of times, and the session ends in the same state as if
// they had arrived once each, in order.
//
// The rule, a strict total order on distinct events of one session:
//
//  1. a newer OccurredAt wins, an older one never does; so a final
//     decision is never superseded by an older non-final one, and a later
//     decline after an approval applies only if it is newer;
//  2. at the same instant the higher Outcome.Rank wins;
//  3. at the same instant and rank, a final decision wins over a
//     non-final one;
//  4. what is left (two different events equal in all of the above) is
//     settled by the larger EventKey, so the result never depends on
//     delivery order.
//
// Supersedes is false for the same event (equal EventKey: a duplicate is
// a no-op) and for decisions of different sessions or providers.
func (d Decision) Supersedes(prev Decision) bool {
	if !d.SameSession(prev) || d.EventKey == prev.EventKey {
		return false
	}
	if !d.OccurredAt.Equal(prev.OccurredAt) {
		return d.OccurredAt.After(prev.OccurredAt)
	}
	if r, pr := d.Outcome.Rank(), prev.Outcome.Rank(); r != pr {
		return r > pr
	}
	if d.Final != prev.Final {
		return d.Final
	}
	return d.EventKey > prev.EventKey
}

// String describes d for logs without personal data: the session id and
// the subject reference are shortened (Redact), the reason text and the
// document facts left out; the event key is a hash and kept whole.
func (d Decision) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s session %s: %s", d.Provider, Redact(d.SessionID), d.Outcome)
	if d.Final {
		b.WriteString(" (final)")
	}
	if d.SubjectRef != "" {
		fmt.Fprintf(&b, " subject %s", Redact(d.SubjectRef))
	}
	if len(d.ReasonCodes) > 0 {
		fmt.Fprintf(&b, " reasons %s", strings.Join(d.ReasonCodes, ","))
	}
	if !d.OccurredAt.IsZero() {
		fmt.Fprintf(&b, " at %s", d.OccurredAt.UTC().Format(time.RFC3339Nano))
	}
	fmt.Fprintf(&b, " event %s", d.EventKey)
	return b.String()
}

// Redact shortens an identifier for logs: its first four characters and
// "…", or "…" alone for identifiers of eight characters or fewer.
func Redact(id string) string {
	if len(id) <= 8 {
		return "…"
	}
	return id[:4] + "…"
}

// DeriveEventKey builds a de-duplication key for providers that send no
// event id: the provider name, a colon and the first 32 hex characters of
// the SHA-256 of the parts (each length-prefixed, so ("ab","c") and
// ("a","bc") differ). The same parts always give the same key; hashing keeps
// personal data that may be among the parts out of the key.
func DeriveEventKey(provider string, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	return provider + ":" + hex.EncodeToString(h.Sum(nil))[:32]
}
