package levels

import "encoding/json"

// Status is the state of one requirement for one subject.
type Status string

// Requirement statuses.
const (
	// Missing: not answered (or answered and reset).
	Missing Status = "missing"
	// Pending: answered, awaiting review or a code confirmation.
	Pending Status = "pending"
	// Rejected: reviewed and refused; needs a new answer.
	Rejected Status = "rejected"
	// Approved: counts toward levels.
	Approved Status = "approved"
)

// Valid reports whether s is one of the four statuses.
func (s Status) Valid() bool {
	switch s {
	case Missing, Pending, Rejected, Approved:
		return true
	}
	return false
}

// States maps a requirement name to a subject's status for it. A name that is
// absent is Missing.
type States map[string]Status

// Outstanding is a requirement that is not approved yet, in the wire shape of
// the verification status API's verification-status items.
type Outstanding struct {
	// Name is the requirement's name.
	Name string `json:"name"`
	// Type is the requirement's kind.
	Type AnswerType `json:"type"`
	// Status is the subject's status for it: never Approved.
	Status Status `json:"status"`
	// Data is the requirement's Data, omitted for boolean and string
	// requirements. It is shared with the ladder and must not be modified.
	Data json.RawMessage `json:"data,omitempty"`
}

// Result is what Evaluate concludes.
type Result struct {
	// Level is the highest level whose requirements (and those of every level
	// below it) are all approved.
	Level Level
	// Outstanding lists, in ladder order, every requirement up to the target
	// level that is not approved. Empty (never nil, so that it marshals as
	// []) means verified up to the target.
	Outstanding []Outstanding
}

// Verified reports whether nothing is outstanding for the target level.
func (r Result) Verified() bool { return len(r.Outstanding) == 0 }

// Evaluate computes a subject's earned level and what remains outstanding to
// reach target (a level ID; 0 means the top of the ladder). An unknown target
// is treated as the top. Evaluate is pure: it reads only its arguments.
func (l *Ladder) Evaluate(states States, target int) Result {
	tp := len(l.levels) - 1
	if target != 0 {
		if p := l.position(target); p >= 0 {
			tp = p
		}
	}
	reached := len(l.levels) - 1
	var out []Outstanding
	for i, r := range l.reqs {
		st := states[r.Name]
		if st == Approved {
			continue
		}
		if p := l.levelOf[i] - 1; p < reached {
			reached = p
		}
		if l.levelOf[i] > tp {
			if reached < tp {
				// Everything up to the target is already listed.
				break
			}
			continue
		}
		if st == "" {
			st = Missing
		}
		if out == nil {
			out = make([]Outstanding, 0, l.firstReq[tp+1]-i)
		}
		out = append(out, Outstanding{Name: r.Name, Type: r.Type, Status: st, Data: r.data})
	}
	if out == nil {
		// Non-nil so that json.Marshal writes the verification status API's [] rather than null;
		// a zero-length slice literal does not allocate.
		out = []Outstanding{}
	}
	return Result{Level: l.levelHead(reached), Outstanding: out}
}
