package levels

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/go-playground/validator/v10"

	"github.com/openkyc/kyc/documents"
)

// AnswerType is what sort of answer a requirement takes (the verification status API's "type").
type AnswerType string

// The requirement kinds (the verification status API's "type" values).
const (
	// Boolean takes true or false.
	Boolean AnswerType = "boolean"
	// String takes a string checked by the requirement's validator/v10 Rule.
	String AnswerType = "string"
	// Choice takes one of the values of its Choices (label -> value).
	Choice AnswerType = "choice"
	// Question takes one answer option for every one of its Questions.
	Question AnswerType = "question"
	// Document takes a document type and one uploaded file per side.
	Document AnswerType = "document"
)

// Valid reports whether k is one of the five kinds.
func (k AnswerType) Valid() bool {
	switch k {
	case Boolean, String, Choice, Question, Document:
		return true
	}
	return false
}

// Setter says who may provide a requirement's value.
type Setter string

// Who may set a requirement.
const (
	// SetByUser requirements are answered by the subject (the default).
	SetByUser Setter = "user"
	// SetByHost requirements are set only by the host or a reviewer
	// (the verification status API's verificationFlag); a subject's answer is refused.
	SetByHost Setter = "host"
)

// DefaultMaxAttempts is how many answers a subject may give to one
// requirement before an admin has to reset it (Veriff's default).
const DefaultMaxAttempts = 9

// QuestionItem is one question of a Question requirement (the verification status API's data entries).
type QuestionItem struct {
	// Key identifies the question in an answer object, e.g. "Question1".
	// Unique within its requirement.
	Key string `json:"key"`
	// Label is the question as shown to the subject.
	Label string `json:"label"`
	// AnswerOptions lists the answers the subject may pick from.
	AnswerOptions []string `json:"answerOptions"`
}

// Requirement is one thing a subject must have approved to reach a level.
type Requirement struct {
	// Name identifies the requirement, e.g. "nationality". Unique in a ladder.
	Name string `json:"name"`
	// Type is the sort of answer it takes.
	Type AnswerType `json:"type"`
	// Rule is a validator/v10 tag string for String requirements, e.g.
	// "required,numeric,len=6". Empty means any non-empty string.
	Rule string `json:"rule,omitempty"`
	// Choices maps a label to the value a Choice answer gives, e.g. "German": "DE".
	Choices map[string]string `json:"choices,omitempty"`
	// Questions lists what a Question requirement asks.
	Questions []QuestionItem `json:"questions,omitempty"`
	// DocumentTypes names the document types a Document requirement accepts.
	DocumentTypes []string `json:"documentTypes,omitempty"`
	// Review, when true, leaves an answer pending until a reviewer (or the
	// host, for codes it checks itself) approves it; otherwise a valid answer
	// is approved at once.
	Review bool `json:"review,omitempty"`
	// SetBy says who provides the value; empty means SetByUser.
	SetBy Setter `json:"setBy,omitempty"`
	// MaxAttempts caps the subject's answers; 0 means DefaultMaxAttempts.
	MaxAttempts int `json:"maxAttempts,omitempty"`

	// Set by prepare.
	data  json.RawMessage
	types []documents.Type
}

// Data returns the requirement's data in the verification status API's wire shape: the choice
// map, the question list, or the accepted document types with their sides;
// nil for boolean and string requirements. The slice must not be modified.
func (r *Requirement) Data() json.RawMessage { return r.data }

// Attempts returns the effective attempt cap.
func (r *Requirement) Attempts() int {
	if r.MaxAttempts == 0 {
		return DefaultMaxAttempts
	}
	return r.MaxAttempts
}

// AnsweredByUser reports whether the subject may answer the requirement.
func (r *Requirement) AnsweredByUser() bool { return r.SetBy != SetByHost }

// AcceptedTypes returns the document types a Document requirement accepts,
// in the order its DocumentTypes lists them; nil for other kinds. The slice
// is shared with the ladder and must not be modified.
func (r *Requirement) AcceptedTypes() []documents.Type { return r.types }

func (r Requirement) clone() *Requirement {
	c := r
	if r.Choices != nil {
		c.Choices = make(map[string]string, len(r.Choices))
		for k, v := range r.Choices {
			c.Choices[k] = v
		}
	}
	c.Questions = nil
	for _, q := range r.Questions {
		q.AnswerOptions = append([]string(nil), q.AnswerOptions...)
		c.Questions = append(c.Questions, q)
	}
	c.DocumentTypes = append([]string(nil), r.DocumentTypes...)
	if len(c.DocumentTypes) == 0 {
		c.DocumentTypes = nil
	}
	return &c
}

var validate = validator.New(validator.WithRequiredStructEnabled())

// checkRule reports whether rule is a tag string validator/v10 understands.
// validator panics on unknown tags and on bad parameters ("len=abc"), and
// only when it reaches the tag: "required,len=abc" probed with "" stops at
// required. So the whole rule is probed (for its syntax), then every tag and
// every "|" alternative on its own, each with an empty and a non-empty value.
func checkRule(rule string) error {
	if err := probeRule(rule); err != nil {
		return err
	}
	for _, tag := range strings.Split(rule, ",") {
		for _, alt := range strings.Split(tag, "|") {
			if err := probeRule(alt); err != nil {
				return err
			}
		}
	}
	return nil
}

func probeRule(rule string) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	for _, v := range [...]string{"", "a"} {
		_ = validate.Var(v, rule)
	}
	return nil
}

// validString checks s against rule, turning a validator panic (which
// checkRule should have made impossible) into an error.
func validString(s, rule string) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("validator: %v", p)
		}
	}()
	return validate.Var(s, rule)
}

// prepare validates r (f is its field path) and precomputes its wire data.
func (r *Requirement) prepare(f string, types []documents.Type, typeByName map[string]int) error {
	// r may come from another ladder (Ladder.Levels fed back to New): its
	// derived fields are recomputed here, never appended to.
	r.data, r.types = nil, nil
	if r.Name == "" {
		return fieldErr(f+".name", "is required")
	}
	if !r.Type.Valid() {
		return fieldErr(f+".type", fmt.Sprintf("unknown kind %q (want boolean, string, choice, question or document)", r.Type))
	}
	switch r.SetBy {
	case "", SetByUser, SetByHost:
	default:
		return fieldErr(f+".setBy", fmt.Sprintf("unknown setter %q (want user or host)", r.SetBy))
	}
	if r.MaxAttempts < 0 {
		return fieldErr(f+".maxAttempts", "must not be negative")
	}
	if r.Rule != "" && r.Type != String {
		return fieldErr(f+".rule", "is only allowed on string requirements")
	}
	if len(r.Choices) > 0 && r.Type != Choice {
		return fieldErr(f+".choices", "is only allowed on choice requirements")
	}
	if len(r.Questions) > 0 && r.Type != Question {
		return fieldErr(f+".questions", "is only allowed on question requirements")
	}
	if len(r.DocumentTypes) > 0 && r.Type != Document {
		return fieldErr(f+".documentTypes", "is only allowed on document requirements")
	}
	var data any
	switch r.Type {
	case String:
		if err := checkRule(r.Rule); err != nil {
			return fieldErr(f+".rule", fmt.Sprintf("invalid validator rule %q: %v", r.Rule, err))
		}
	case Choice:
		if len(r.Choices) == 0 {
			return fieldErr(f+".choices", "must list at least one option")
		}
		values := map[string]bool{}
		for label, v := range r.Choices {
			if label == "" || v == "" {
				return fieldErr(f+".choices", "labels and values must not be empty")
			}
			if values[v] {
				return fieldErr(f+".choices", fmt.Sprintf("duplicate value %q", v))
			}
			values[v] = true
		}
		data = r.Choices
	case Question:
		if len(r.Questions) == 0 {
			return fieldErr(f+".questions", "must list at least one question")
		}
		keys := map[string]bool{}
		for i, q := range r.Questions {
			qf := fmt.Sprintf("%s.questions[%d]", f, i)
			if q.Key == "" {
				return fieldErr(qf+".key", "is required")
			}
			if keys[q.Key] {
				return fieldErr(qf+".key", fmt.Sprintf("duplicate question key %q", q.Key))
			}
			keys[q.Key] = true
			if q.Label == "" {
				return fieldErr(qf+".label", "is required")
			}
			if len(q.AnswerOptions) == 0 {
				return fieldErr(qf+".answerOptions", "must list at least one option")
			}
			opts := map[string]bool{}
			for _, o := range q.AnswerOptions {
				if o == "" || opts[o] {
					return fieldErr(qf+".answerOptions", fmt.Sprintf("options must be non-empty and distinct (got %q)", o))
				}
				opts[o] = true
			}
		}
		data = r.Questions
	case Document:
		if len(r.DocumentTypes) == 0 {
			return fieldErr(f+".documentTypes", "must list at least one document type")
		}
		type side struct {
			Name string `json:"name"`
			Type string `json:"type"`
		}
		type docData struct {
			Type string `json:"type"`
			Data []side `json:"data"`
		}
		var dd []docData
		seen := map[string]bool{}
		for i, name := range r.DocumentTypes {
			ti, ok := typeByName[name]
			if !ok {
				return fieldErr(fmt.Sprintf("%s.documentTypes[%d]", f, i), fmt.Sprintf("unknown document type %q (declare it in documentTypes)", name))
			}
			if seen[name] {
				return fieldErr(fmt.Sprintf("%s.documentTypes[%d]", f, i), fmt.Sprintf("duplicate document type %q", name))
			}
			seen[name] = true
			t := types[ti]
			r.types = append(r.types, t)
			d := docData{Type: t.Name}
			for _, s := range t.Sides {
				d.Data = append(d.Data, side{Name: s, Type: "file"})
			}
			dd = append(dd, d)
		}
		if !anyEnabled(r.types) {
			return fieldErr(f+".documentTypes", fmt.Sprintf("every accepted document type (%s) is disabled, so %s could never be answered: set \"enabled\": true on one of them",
				strings.Join(r.DocumentTypes, ", "), r.Name))
		}
		data = dd
	}
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			return fieldErr(f, err.Error())
		}
		r.data = b
	}
	return nil
}

// DocumentAnswer is the answer to a Document requirement: the document type's
// name and one uploaded file id per side, e.g.
// {"type": "passport", "files": {"front": "f_1", "back": "f_2"}}.
type DocumentAnswer struct {
	// Type is the name of one of the requirement's accepted document types.
	Type string `json:"type"`
	// Files maps each side of that type to the id of an uploaded file.
	Files map[string]string `json:"files"`
}

// Validate checks answer (the answer's JSON form) against the requirement:
// boolean -> true or false; string -> a string passing Rule; choice -> one
// of the Choices' values; question -> an object answering every question key
// with one of its options and nothing else; document -> a DocumentAnswer
// naming an accepted type and a file for every side and no other. It
// returns a *FieldError naming the part of the answer that is wrong.
// Whether document files exist and belong to the subject is the caller's
// check.
func (r *Requirement) Validate(answer json.RawMessage) error {
	answer = bytes.TrimSpace(answer)
	if len(answer) == 0 || bytes.Equal(answer, []byte("null")) {
		return fieldErr("answer", "is required")
	}
	switch r.Type {
	case Boolean:
		var b bool
		if err := json.Unmarshal(answer, &b); err != nil {
			return fieldErr("answer", "must be true or false")
		}
	case String:
		var s string
		if err := json.Unmarshal(answer, &s); err != nil {
			return fieldErr("answer", "must be a string")
		}
		rule := r.Rule
		if rule == "" {
			rule = "required"
		}
		if err := validString(s, rule); err != nil {
			return fieldErr("answer", fmt.Sprintf("does not satisfy %q", rule))
		}
	case Choice:
		var s string
		if err := json.Unmarshal(answer, &s); err != nil {
			return fieldErr("answer", "must be a string naming one of the choices' values")
		}
		for _, v := range r.Choices {
			if v == s {
				return nil
			}
		}
		return fieldErr("answer", fmt.Sprintf("must be one of %s", strings.Join(slices.Sorted(maps.Values(r.Choices)), ", ")))
	case Question:
		var m map[string]string
		if err := json.Unmarshal(answer, &m); err != nil {
			return fieldErr("answer", "must be an object mapping each question key to one of its answerOptions")
		}
		for _, q := range r.Questions {
			a, ok := m[q.Key]
			if !ok {
				return fieldErr("answer."+q.Key, "is required")
			}
			if !slices.Contains(q.AnswerOptions, a) {
				return fieldErr("answer."+q.Key, fmt.Sprintf("must be one of %s", strings.Join(q.AnswerOptions, ", ")))
			}
		}
		if len(m) != len(r.Questions) {
			for k := range m {
				if !r.hasQuestion(k) {
					return fieldErr("answer."+k, "is not a question of this requirement")
				}
			}
		}
	case Document:
		_, err := r.ParseDocument(answer)
		return err
	}
	return nil
}

// ParseDocument decodes and validates a Document requirement's answer (see
// Validate) and returns it. Errors are *FieldError values, as for Validate.
func (r *Requirement) ParseDocument(answer json.RawMessage) (DocumentAnswer, error) {
	var a DocumentAnswer
	if r.Type != Document {
		return a, fieldErr("answer", "requirement "+r.Name+" is not a document requirement")
	}
	dec := json.NewDecoder(bytes.NewReader(answer))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return a, fieldErr("answer", `must be {"type": "<document type>", "files": {"<side>": "<file id>"}}`)
	}
	if _, err := dec.Token(); err != io.EOF {
		return a, fieldErr("answer", "trailing data after the document object")
	}
	var t *documents.Type
	for i := range r.types {
		if r.types[i].Name == a.Type {
			t = &r.types[i]
		}
	}
	if t == nil {
		names := make([]string, len(r.types))
		for i, at := range r.types {
			names[i] = at.Name
		}
		return a, fieldErr("answer.type", fmt.Sprintf("must be one of %s", strings.Join(names, ", ")))
	}
	for _, s := range t.Sides {
		if a.Files[s] == "" {
			return a, fieldErr("answer.files."+s, "is required")
		}
	}
	for s := range a.Files {
		if !t.HasSide(s) {
			return a, fieldErr("answer.files."+s, fmt.Sprintf("is not a side of %s", t.Name))
		}
	}
	return a, nil
}

// anyEnabled reports whether one of types can be uploaded.
func anyEnabled(types []documents.Type) bool {
	for _, t := range types {
		if t.Enabled {
			return true
		}
	}
	return false
}

func (r *Requirement) hasQuestion(k string) bool {
	return slices.ContainsFunc(r.Questions, func(q QuestionItem) bool { return q.Key == k })
}

// FieldError is a validation failure naming the field at fault, e.g.
// "levels[1].requirements[0].choices" or "answer.Question2". New, Load and
// Requirement.Validate return it; match it with errors.As.
type FieldError struct {
	// Field is the path of the offending field: a ladder path such as
	// "levels[2].requirements[0].rule" or "documentTypes[0].sides", or an
	// answer path such as "answer", "answer.Question2", "answer.type" or
	// "answer.files.back".
	Field string
	// Reason says what is wrong, in words fit for an API client.
	Reason string
}

// Error returns "levels: <field>: <reason>".
func (e *FieldError) Error() string { return "levels: " + e.Field + ": " + e.Reason }

func fieldErr(field, reason string) error { return &FieldError{Field: field, Reason: reason} }
