package screening

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"
)

// Sentinel errors. Screeners wrap them with details written for logs; the
// details never include the screened name or birth date.
var (
	// ErrInvalidQuery is returned when a Query cannot be screened: no name,
	// a name with no letters or digits, or a country that is not two ASCII
	// letters. Retrying the same query cannot succeed.
	ErrInvalidQuery = errors.New("screening: invalid query")

	// ErrUnavailable is returned when the screener could not answer: the
	// list service was unreachable, timed out or kept failing (5xx) after
	// its retries. The subject's screening stays pending; try again later.
	ErrUnavailable = errors.New("screening: screener unavailable")

	// ErrBadAnswer is returned when the screener answered something that
	// cannot be trusted: malformed JSON, a missing field, a score outside
	// 0..1, or a status that says the request itself was refused (a 4xx
	// from a misconfigured base URL). Retrying rarely helps; the screener's
	// operator must look. Nothing of such an answer is used.
	ErrBadAnswer = errors.New("screening: malformed answer from screener")
)

// Query is what is screened: one natural person. Only FullName is required;
// every other field narrows the match when the list holds the same fact.
type Query struct {
	// FullName is the person's name as the subject gave it or as it reads
	// on their document, in any case, with or without accents, given names
	// and family names in any order ("García Márquez, José" and "Jose
	// Garcia Marquez" screen alike). Required.
	FullName string

	// BirthDate is the date of birth; the zero time means unknown. Only its
	// calendar date (BirthDate.Date(), in the time's own location) is used,
	// so a date parsed with time.Parse("2006-01-02", ...) is read as written.
	BirthDate time.Time

	// Country is the person's nationality (or, when that is unknown, the
	// country of the identity document) as an ISO 3166-1 alpha-2 code such
	// as "NL"; empty means unknown. Case does not matter.
	Country string
}

// HasBirthDate reports whether the query carries a birth date.
func (q Query) HasBirthDate() bool { return !q.BirthDate.IsZero() }

// BirthDateString returns the birth date as YYYY-MM-DD, or "" when unknown.
func (q Query) BirthDateString() string {
	if !q.HasBirthDate() {
		return ""
	}
	return q.BirthDate.Format(time.DateOnly)
}

// CountryCode returns Country trimmed and in upper case ("nl " -> "NL").
func (q Query) CountryCode() string {
	return strings.ToUpper(strings.TrimSpace(q.Country))
}

// Validate returns an error matching ErrInvalidQuery when the query cannot
// be screened. The message names the field, never its value.
func (q Query) Validate() error {
	name := strings.TrimSpace(q.FullName)
	if name == "" {
		return fmt.Errorf("%w: full name is empty", ErrInvalidQuery)
	}
	if !strings.ContainsFunc(name, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) {
		return fmt.Errorf("%w: full name has no letters", ErrInvalidQuery)
	}
	if c := q.CountryCode(); c != "" {
		if len(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' {
			return fmt.Errorf("%w: country must be an ISO 3166-1 alpha-2 code", ErrInvalidQuery)
		}
	}
	return nil
}

// Hit is one list entry that resembles the screened person.
type Hit struct {
	// List names the list the entry comes from: a Watchman source list such
	// as "us_ofac", or the name a local list was loaded with.
	List string

	// EntityID identifies the entry within List (Watchman's sourceID, the
	// local list's id column). With List it is the key a reviewer's decision
	// about a false positive is kept under.
	EntityID string

	// Name is the list's name for the entry that matched (the primary name
	// or one of its aliases), as the list writes it.
	Name string

	// Score is how close the match is, from 0 (nothing in common) to 1 (the
	// same name, and the same birth date and country where both are known).
	// Scores from different screeners are not comparable.
	Score float64

	// Programmes are the sanctions programmes or list categories the entry
	// is listed under ("SDGT", "PEP"), as the list names them; may be empty.
	Programmes []string
}

// Key returns List and EntityID joined by a slash: the identity of the
// listed entry, stable across re-screens of the same list.
func (h Hit) Key() string { return h.List + "/" + h.EntityID }

// Result is the answer of one screen.
type Result struct {
	// Hits are the entries that resemble the person, best first. Empty
	// when nothing on the list comes close.
	Hits []Hit

	// ListVersion identifies the list contents the screen ran against (a
	// content hash). When a screener's ListVersion moves past it, the
	// person is due for a re-screen.
	ListVersion string

	// ScreenedAt is when the screen ran. Screeners leave it zero: the caller
	// sets it from its own clock (Run does).
	ScreenedAt time.Time
}

// Above returns the hits whose score is at or above threshold, in the
// order of Result.Hits. A threshold that is NaN or below 0 counts as 0, one
// above 1 counts as 1.
func (r Result) Above(threshold float64) []Hit {
	switch {
	case math.IsNaN(threshold) || threshold < 0:
		threshold = 0
	case threshold > 1:
		threshold = 1
	}
	var out []Hit
	for _, h := range r.Hits {
		if h.Score >= threshold {
			out = append(out, h)
		}
	}
	return out
}

// Screener screens one person against sanctions and PEP lists.
// Implementations must be safe for concurrent use, honour ctx (return
// promptly with an error wrapping ctx.Err() once it is done) and never log
// the query.
type Screener interface {
	// Screen returns the list entries that resemble q. An error matches
	// ErrInvalidQuery, ErrUnavailable, ErrBadAnswer or the context's error.
	Screen(ctx context.Context, q Query) (Result, error)
}

// ScreenerFunc adapts a function to the Screener interface, as
// http.HandlerFunc does for handlers: handy for tests and for wrapping a
// screener with the host's own logic.
type ScreenerFunc func(ctx context.Context, q Query) (Result, error)

// Screen calls f(ctx, q).
func (f ScreenerFunc) Screen(ctx context.Context, q Query) (Result, error) { return f(ctx, q) }

// ListVersioner is an optional capability of a Screener: the version of the
// list it screens against right now, the same value Result.ListVersion
// carries. The Service compares it with the version stored with each
// subject's last screen and re-screens the subjects whose version differs.
// Detect it with a type assertion:
//
//	if v, ok := screener.(screening.ListVersioner); ok { ... }
type ListVersioner interface {
	// ListVersion returns the current list version. Errors match
	// ErrUnavailable, ErrBadAnswer or the context's error.
	ListVersion(ctx context.Context) (string, error)
}

// Run validates q, screens it with s and returns the result with its hits
// sorted best first (then by List and EntityID, so equal scores keep a
// stable order) and ScreenedAt set to at. It refuses, with ErrBadAnswer, a
// result whose hits have a score outside 0..1 or no EntityID, whatever the
// screener, so the caller can store every result it gets.
func Run(ctx context.Context, s Screener, q Query, at time.Time) (Result, error) {
	if err := q.Validate(); err != nil {
		return Result{}, err
	}
	res, err := s.Screen(ctx, q)
	if err != nil {
		return Result{}, err
	}
	for i, h := range res.Hits {
		if math.IsNaN(h.Score) || h.Score < 0 || h.Score > 1 {
			return Result{}, fmt.Errorf("%w: hit %d has score %v outside 0..1", ErrBadAnswer, i, h.Score)
		}
		if h.EntityID == "" {
			return Result{}, fmt.Errorf("%w: hit %d has no entity id", ErrBadAnswer, i)
		}
	}
	SortHits(res.Hits)
	res.ScreenedAt = at
	return res, nil
}

// SortHits sorts hits best first, then by List and EntityID.
func SortHits(hits []Hit) {
	slices.SortStableFunc(hits, func(a, b Hit) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		if c := strings.Compare(a.List, b.List); c != 0 {
			return c
		}
		return strings.Compare(a.EntityID, b.EntityID)
	})
}

// Outcome is what a screen means for the subject's screening requirement.
type Outcome string

const (
	// Clear: no hit reaches the threshold; the requirement can be approved.
	Clear Outcome = "clear"
	// NeedsReview: at least one hit reaches the threshold; the requirement
	// stays pending until a reviewer dismisses the hits as false positives
	// or confirms one (a final rejection).
	NeedsReview Outcome = "needs_review"
)

// DefaultThreshold is a starting point for Decide's threshold with the
// local list screener's scores: names that differ by one letter or a
// transliteration reach it, different given names with the same family
// name do not. Tune it on your own data; Watchman's documentation suggests
// 0.80 for its scores.
const DefaultThreshold = 0.90

// Decide is the screening policy: NeedsReview when any hit scores at or
// above threshold, Clear otherwise (no hit, or only weaker ones). A
// threshold that is NaN or below 0 counts as 0, so a misconfiguration sends
// every hit to a reviewer rather than letting one through; one above 1
// counts as 1, so an exact hit is never cleared.
func Decide(r Result, threshold float64) Outcome {
	if len(r.Above(threshold)) > 0 {
		return NeedsReview
	}
	return Clear
}
