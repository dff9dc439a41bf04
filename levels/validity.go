package levels

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration that a ladder file writes as a string: Go's
// duration syntax ("720h", "90m") or a whole number of days ("365d").
// MarshalJSON writes whole days as "<n>d" and anything else in Go's syntax,
// so a ladder survives a Load / MarshalJSON / Load round trip.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String returns the form MarshalJSON writes.
func (d Duration) String() string {
	const day = 24 * time.Hour
	if d != 0 && time.Duration(d)%day == 0 {
		return strconv.FormatInt(int64(time.Duration(d)/day), 10) + "d"
	}
	return time.Duration(d).String()
}

// MarshalJSON writes the duration as a string (see Duration).
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads "<n>d" or a Go duration string such as "720h".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"365d\" or \"720h\"")
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// ParseDuration reads "<n>d" (whole days) or a Go duration string.
func ParseDuration(s string) (Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok && n != "" {
		days, err := strconv.ParseInt(n, 10, 64)
		if err != nil || days < 0 || days > 100*366 {
			return 0, fmt.Errorf("invalid duration %q (want whole days such as \"365d\", at most 100 years)", s)
		}
		return Duration(time.Duration(days) * 24 * time.Hour), nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (want \"365d\" or a Go duration such as \"720h\")", s)
	}
	return Duration(v), nil
}

// ScreeningSources names the requirements whose answers make a screening
// requirement's query: the person's full name, birth date and nationality.
// Only Name is required. Each names a string or choice requirement of the
// same level as the screening requirement or of a level below it; the
// birth date's answer is read as YYYY-MM-DD, the nationality's as an ISO
// 3166-1 alpha-2 code.
type ScreeningSources struct {
	// Name is the requirement giving the full name (a string requirement).
	Name string `json:"name"`
	// BirthDate is the requirement giving the birth date; optional.
	BirthDate string `json:"birthDate,omitempty"`
	// Nationality is the requirement giving the nationality; optional.
	Nationality string `json:"nationality,omitempty"`
}

// names returns the declared source requirement names with their fields.
func (s *ScreeningSources) names() [][2]string {
	out := [][2]string{{"name", s.Name}}
	if s.BirthDate != "" {
		out = append(out, [2]string{"birthDate", s.BirthDate})
	}
	if s.Nationality != "" {
		out = append(out, [2]string{"nationality", s.Nationality})
	}
	return out
}

// Expires reports whether an approval of the requirement can stop
// counting: it declares ValidFor or UseDocumentExpiry. Screening
// requirements never expire: they are screened again (RescreenInterval).
func (r *Requirement) Expires() bool {
	return r.Type != Screening && (r.ValidFor > 0 || r.UseDocumentExpiry)
}

// Uses reports whether the screening requirement r reads its query from the
// answer of the requirement named name.
func (r *Requirement) Uses(name string) bool {
	if r.Type != Screening || r.Screening == nil {
		return false
	}
	for _, n := range r.Screening.names() {
		if n[1] == name {
			return true
		}
	}
	return false
}

// prepareValidity checks the validity and screening fields of r (f is its
// field path); the sources are checked against the ladder by checkSources.
func (r *Requirement) prepareValidity(f string) error {
	switch {
	case r.ValidFor < 0:
		return fieldErr(f+".validFor", "must not be negative")
	case r.ExpiryWarning < 0:
		return fieldErr(f+".expiryWarning", "must not be negative")
	case r.RescreenInterval < 0:
		return fieldErr(f+".rescreenInterval", "must not be negative")
	case r.UseDocumentExpiry && r.Type != Document:
		return fieldErr(f+".useDocumentExpiry", "is only allowed on document requirements")
	case r.Type == Screening && r.ValidFor != 0:
		return fieldErr(f+".validFor", "is not allowed on screening requirements (they are screened again every rescreenInterval)")
	case r.Type == Screening && r.ExpiryWarning != 0:
		return fieldErr(f+".expiryWarning", "is not allowed on screening requirements")
	case r.ExpiryWarning > 0 && !r.Expires():
		return fieldErr(f+".expiryWarning", "needs validFor or useDocumentExpiry")
	case r.ValidFor > 0 && r.ExpiryWarning >= r.ValidFor:
		return fieldErr(f+".expiryWarning", "must be shorter than validFor")
	case r.Screening != nil && r.Type != Screening:
		return fieldErr(f+".screening", "is only allowed on screening requirements")
	case r.RescreenInterval != 0 && r.Type != Screening:
		return fieldErr(f+".rescreenInterval", "is only allowed on screening requirements")
	}
	if r.Type != Screening {
		return nil
	}
	switch {
	case r.Screening == nil || r.Screening.Name == "":
		return fieldErr(f+".screening.name", "is required: the requirement whose answer gives the full name")
	case r.RescreenInterval == 0:
		return fieldErr(f+".rescreenInterval", "is required on screening requirements, e.g. \"30d\"")
	case r.RescreenInterval.D() < time.Hour:
		return fieldErr(f+".rescreenInterval", "must be at least one hour")
	case r.Review:
		return fieldErr(f+".review", "is not allowed on screening requirements (a hit always waits for a reviewer)")
	case r.SetBy != "" && r.SetBy != SetBySystem:
		return fieldErr(f+".setBy", "must be system (or empty) on screening requirements")
	}
	return nil
}

// checkSources checks that every screening requirement's sources name
// string or choice requirements at or below its own level.
func (l *Ladder) checkSources() error {
	for i, r := range l.reqs {
		if r.Type != Screening {
			continue
		}
		p := l.levelOf[i]
		f := fmt.Sprintf("levels[%d].requirements[%d].screening", p, i-l.firstReq[p])
		for _, src := range r.Screening.names() {
			j, ok := l.index[src[1]]
			switch {
			case !ok:
				return fieldErr(f+"."+src[0], fmt.Sprintf("unknown requirement %q", src[1]))
			case l.reqs[j].Type != String && l.reqs[j].Type != Choice:
				return fieldErr(f+"."+src[0], fmt.Sprintf("requirement %q is a %s requirement (want string or choice)", src[1], l.reqs[j].Type))
			case l.levelOf[j] > p:
				return fieldErr(f+"."+src[0], fmt.Sprintf("requirement %q belongs to a higher level", src[1]))
			}
		}
	}
	return nil
}
