package levels

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/openkyc/kyc/documents"
)

// Level is one rung of a Ladder. Reaching a level needs every requirement of
// that level and of every level below it.
type Level struct {
	// ID identifies the level on the wire (the verification history's currentLevel.id). IDs are
	// positive and unique; they need not be consecutive.
	ID int `json:"id"`
	// Name is the human name, e.g. "Level 1".
	Name string `json:"name"`
	// Requirements lists what a subject must have approved to reach this level.
	// The first level of a ladder is where every subject starts and lists none.
	Requirements []Requirement `json:"requirements,omitempty"`
}

// Ladder is an ordered, validated set of levels and the document types their
// document requirements accept. A Ladder is immutable after New and safe for
// concurrent use.
type Ladder struct {
	levels []Level
	types  []documents.Type
	// reqs holds every requirement in ladder order; index[name] points into it.
	reqs  []*Requirement
	index map[string]int
	// levelOf[i] is the position in levels of the level that lists reqs[i].
	levelOf []int
	// firstReq[p] is the index in reqs of the first requirement of level p;
	// firstReq[len(levels)] == len(reqs).
	firstReq []int
}

// ladderJSON is the file format read by Load and written by MarshalJSON.
type ladderJSON struct {
	DocumentTypes []documents.Type `json:"documentTypes,omitempty"`
	Levels        []Level          `json:"levels"`
}

// New validates levels (in ladder order, lowest first) and the document types
// their document requirements refer to, and returns the Ladder. The error
// names the offending field, e.g. `levels[2].requirements[0].choices`.
func New(lvls []Level, types ...documents.Type) (*Ladder, error) {
	l := &Ladder{index: map[string]int{}}
	if len(lvls) == 0 {
		return nil, fieldErr("levels", "must list at least one level")
	}
	typeByName := make(map[string]int, len(types))
	typeIDs := make(map[int]bool, len(types))
	for i, t := range types {
		f := fmt.Sprintf("documentTypes[%d]", i)
		if err := t.Validate(); err != nil {
			return nil, fieldErr(f+typeField(t), err.Error())
		}
		if _, dup := typeByName[t.Name]; dup {
			return nil, fieldErr(f+".name", fmt.Sprintf("duplicate document type name %q", t.Name))
		}
		if typeIDs[t.ID] {
			return nil, fieldErr(f+".id", fmt.Sprintf("duplicate document type id %d", t.ID))
		}
		typeByName[t.Name] = i
		typeIDs[t.ID] = true
		l.types = append(l.types, cloneType(t))
	}
	levelIDs := map[int]bool{}
	levelNames := map[string]bool{}
	for p, lv := range lvls {
		f := fmt.Sprintf("levels[%d]", p)
		switch {
		case lv.ID <= 0:
			return nil, fieldErr(f+".id", "must be a positive integer")
		case levelIDs[lv.ID]:
			return nil, fieldErr(f+".id", fmt.Sprintf("duplicate level id %d", lv.ID))
		case lv.Name == "":
			return nil, fieldErr(f+".name", "is required")
		case levelNames[lv.Name]:
			return nil, fieldErr(f+".name", fmt.Sprintf("duplicate level name %q", lv.Name))
		case p == 0 && len(lv.Requirements) > 0:
			return nil, fieldErr(f+".requirements", "the first level is the starting level and must not list requirements")
		}
		levelIDs[lv.ID] = true
		levelNames[lv.Name] = true
		l.firstReq = append(l.firstReq, len(l.reqs))
		cp := Level{ID: lv.ID, Name: lv.Name}
		for i := range lv.Requirements {
			rf := fmt.Sprintf("%s.requirements[%d]", f, i)
			r := lv.Requirements[i].clone()
			if _, dup := l.index[r.Name]; dup {
				return nil, fieldErr(rf+".name", fmt.Sprintf("duplicate requirement name %q", r.Name))
			}
			if err := r.prepare(rf, l.types, typeByName); err != nil {
				return nil, err
			}
			l.index[r.Name] = len(l.reqs)
			l.reqs = append(l.reqs, r)
			l.levelOf = append(l.levelOf, p)
			cp.Requirements = append(cp.Requirements, *r)
		}
		l.levels = append(l.levels, cp)
	}
	l.firstReq = append(l.firstReq, len(l.reqs))
	return l, nil
}

// Load reads a ladder in JSON form:
//
//	{"documentTypes": [{"id": 2, "name": "passport", "description": "Passport",
//	                    "enabled": true, "sides": ["front", "back"]}],
//	 "levels": [{"id": 1, "name": "Level 0"},
//	            {"id": 2, "name": "Level 1", "requirements": [
//	               {"name": "isBusiness", "type": "boolean"},
//	               {"name": "emailCode", "type": "string", "rule": "required,numeric,len=6", "review": true}]}]}
//
// The full format is described in the package documentation. Unknown fields
// and trailing data are refused, and so is anything New refuses (with a
// *FieldError).
func Load(r io.Reader) (*Ladder, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var doc ladderJSON
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("levels: decoding ladder: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("levels: decoding ladder: trailing data after the ladder object")
	}
	return New(doc.Levels, doc.DocumentTypes...)
}

// LoadFile reads a ladder from a JSON file (see Load).
func LoadFile(path string) (*Ladder, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("levels: %w", err)
	}
	return Load(bytes.NewReader(b))
}

// MarshalJSON writes the ladder in the format Load reads.
func (l *Ladder) MarshalJSON() ([]byte, error) {
	return json.Marshal(ladderJSON{DocumentTypes: l.types, Levels: l.levels})
}

// Levels returns the ladder's levels, lowest first, with their requirements.
// The result is a deep copy: changing it does not change the ladder.
func (l *Ladder) Levels() []Level {
	out := make([]Level, len(l.levels))
	for i, lv := range l.levels {
		out[i] = Level{ID: lv.ID, Name: lv.Name}
		for _, r := range lv.Requirements {
			out[i].Requirements = append(out[i].Requirements, *r.clone())
		}
	}
	return out
}

// First returns the starting level every subject is granted when created.
func (l *Ladder) First() Level { return l.levelHead(0) }

// Top returns the highest level.
func (l *Ladder) Top() Level { return l.levelHead(len(l.levels) - 1) }

// Level returns the level with the given ID.
func (l *Ladder) Level(id int) (Level, bool) {
	p := l.position(id)
	if p < 0 {
		return Level{}, false
	}
	return l.levelHead(p), true
}

// Next returns the level directly above the level with the given ID, or
// false when id is the top (or unknown).
func (l *Ladder) Next(id int) (Level, bool) {
	p := l.position(id)
	if p < 0 || p+1 >= len(l.levels) {
		return Level{}, false
	}
	return l.levelHead(p + 1), true
}

// Position returns the 0-based rank of the level with the given ID, or -1.
func (l *Ladder) Position(id int) int { return l.position(id) }

// Requirement returns the named requirement. The pointer is shared with the
// ladder (and with every other caller): read it, never modify it.
func (l *Ladder) Requirement(name string) (*Requirement, bool) {
	i, ok := l.index[name]
	if !ok {
		return nil, false
	}
	return l.reqs[i], true
}

// RequirementLevel returns the level that lists the named requirement.
func (l *Ladder) RequirementLevel(name string) (Level, bool) {
	i, ok := l.index[name]
	if !ok {
		return Level{}, false
	}
	return l.levelHead(l.levelOf[i]), true
}

// RequirementsUpTo returns the requirements needed to reach the level with the
// given ID (those of every level up to and including it), in ladder order, or
// nil for an unknown ID. Appending to the result never writes into the ladder;
// the pointers are shared (see Requirement).
func (l *Ladder) RequirementsUpTo(id int) []*Requirement {
	p := l.position(id)
	if p < 0 {
		return nil
	}
	n := l.firstReq[p+1]
	return l.reqs[:n:n]
}

// RequirementsOf returns the requirements listed by the level with the given
// ID, or nil for an unknown ID. Appending to the result never writes into the
// ladder; the pointers are shared (see Requirement).
func (l *Ladder) RequirementsOf(id int) []*Requirement {
	p := l.position(id)
	if p < 0 {
		return nil
	}
	a, b := l.firstReq[p], l.firstReq[p+1]
	return l.reqs[a:b:b]
}

// DocumentTypes returns a copy of the configured document types.
func (l *Ladder) DocumentTypes() []documents.Type {
	out := make([]documents.Type, len(l.types))
	for i, t := range l.types {
		out[i] = cloneType(t)
	}
	return out
}

// DocumentType returns a copy of the document type with the given wire ID.
func (l *Ladder) DocumentType(id int) (documents.Type, bool) {
	for _, t := range l.types {
		if t.ID == id {
			return cloneType(t), true
		}
	}
	return documents.Type{}, false
}

// DocumentTypeByName returns a copy of the document type with the given name.
func (l *Ladder) DocumentTypeByName(name string) (documents.Type, bool) {
	for _, t := range l.types {
		if t.Name == name {
			return cloneType(t), true
		}
	}
	return documents.Type{}, false
}

// cloneType copies t's slice and map so the ladder and its callers never
// share them.
func cloneType(t documents.Type) documents.Type {
	t.Sides = append([]string(nil), t.Sides...)
	if t.Group != nil {
		g := make(map[string]string, len(t.Group))
		for k, v := range t.Group {
			g[k] = v
		}
		t.Group = g
	}
	return t
}

// typeField names the field of t that documents.Type.Validate refused.
func typeField(t documents.Type) string {
	switch {
	case t.ID <= 0:
		return ".id"
	case t.Name == "":
		return ".name"
	default:
		return ".sides"
	}
}

func (l *Ladder) levelHead(p int) Level { return Level{ID: l.levels[p].ID, Name: l.levels[p].Name} }

func (l *Ladder) position(id int) int {
	for p := range l.levels {
		if l.levels[p].ID == id {
			return p
		}
	}
	return -1
}
