package levels_test

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/levels"
)

func TestNewRefuses(t *testing.T) {
	t.Parallel()

	start := levels.Level{ID: 1, Name: "Level 0"}
	// one builds a two-level ladder whose second level lists reqs.
	one := func(reqs ...levels.Requirement) []levels.Level {
		return []levels.Level{start, {ID: 2, Name: "Level 1", Requirements: reqs}}
	}
	flag := levels.Requirement{Name: "flag", Type: levels.Boolean}
	str := func(rule string) levels.Requirement {
		return levels.Requirement{Name: "code", Type: levels.String, Rule: rule}
	}
	choice := func(c map[string]string) levels.Requirement {
		return levels.Requirement{Name: "nationality", Type: levels.Choice, Choices: c}
	}
	question := func(qs ...levels.QuestionItem) levels.Requirement {
		return levels.Requirement{Name: "aml", Type: levels.Question, Questions: qs}
	}
	q := func(key string, options ...string) levels.QuestionItem {
		return levels.QuestionItem{Key: key, Label: "Label of " + key + "?", AnswerOptions: options}
	}
	doc := func(types ...string) levels.Requirement {
		return levels.Requirement{Name: "idDocument", Type: levels.Document, DocumentTypes: types}
	}
	idCard := documents.Type{ID: 3, Name: "idCard", Sides: []string{"front", "back"}}
	const r0 = "levels[1].requirements[0]"

	tests := []struct {
		name   string
		levels []levels.Level
		types  []documents.Type
		field  string
	}{
		// levels
		{"no levels", nil, nil, "levels"},
		{"empty levels", []levels.Level{}, nil, "levels"},
		{"zero level id", []levels.Level{{ID: 0, Name: "Level 0"}}, nil, "levels[0].id"},
		{"negative level id", []levels.Level{start, {ID: -2, Name: "Level 1"}}, nil, "levels[1].id"},
		{"duplicate level id", []levels.Level{start, {ID: 1, Name: "Level 1"}}, nil, "levels[1].id"},
		{"empty level name", []levels.Level{{ID: 1}}, nil, "levels[0].name"},
		{"empty name of a later level", []levels.Level{start, {ID: 2}}, nil, "levels[1].name"},
		{"duplicate level name", []levels.Level{start, {ID: 2, Name: "Level 0"}}, nil, "levels[1].name"},
		{"first level with requirements", []levels.Level{{ID: 1, Name: "Level 0", Requirements: []levels.Requirement{flag}}}, nil, "levels[0].requirements"},

		// requirement names and common fields
		{"empty requirement name", one(levels.Requirement{Type: levels.Boolean}), nil, r0 + ".name"},
		{"duplicate requirement name in a level", one(flag, flag), nil, "levels[1].requirements[1].name"},
		{"duplicate requirement name across levels", []levels.Level{
			start,
			{ID: 2, Name: "Level 1", Requirements: []levels.Requirement{flag}},
			{ID: 3, Name: "Level 2", Requirements: []levels.Requirement{{Name: "other", Type: levels.Boolean}, flag}},
		}, nil, "levels[2].requirements[1].name"},
		{"empty kind", one(levels.Requirement{Name: "x"}), nil, r0 + ".type"},
		{"unknown kind", one(levels.Requirement{Name: "x", Type: "file"}), nil, r0 + ".type"},
		{"unknown setBy", one(levels.Requirement{Name: "x", Type: levels.Boolean, SetBy: "admin"}), nil, r0 + ".setBy"},
		{"negative maxAttempts", one(levels.Requirement{Name: "x", Type: levels.Boolean, MaxAttempts: -1}), nil, r0 + ".maxAttempts"},
		{"rule on a boolean", one(levels.Requirement{Name: "x", Type: levels.Boolean, Rule: "required"}), nil, r0 + ".rule"},
		{"rule on a choice", one(levels.Requirement{Name: "x", Type: levels.Choice, Rule: "required", Choices: map[string]string{"A": "a"}}), nil, r0 + ".rule"},
		{"choices on a string", one(levels.Requirement{Name: "x", Type: levels.String, Choices: map[string]string{"A": "a"}}), nil, r0 + ".choices"},
		{"questions on a choice", one(levels.Requirement{Name: "x", Type: levels.Choice, Choices: map[string]string{"A": "a"}, Questions: []levels.QuestionItem{q("Q1", "a")}}), nil, r0 + ".questions"},
		{"documentTypes on a boolean", one(levels.Requirement{Name: "x", Type: levels.Boolean, DocumentTypes: []string{"passport"}}), []documents.Type{passport()}, r0 + ".documentTypes"},

		// string rules
		{"unknown validator tag", one(str("nosuchtag")), nil, r0 + ".rule"},
		{"unknown tag after a valid one", one(str("required,nosuchtag")), nil, r0 + ".rule"},
		{"bad parameter behind required", one(str("required,len=abc")), nil, r0 + ".rule"},
		{"bad parameter behind omitempty", one(str("omitempty,min=x")), nil, r0 + ".rule"},
		{"bad parameter in an alternative", one(str("min=1|max=x")), nil, r0 + ".rule"},
		{"empty tag", one(str("required,")), nil, r0 + ".rule"},
		{"dive on a string", one(str("dive")), nil, r0 + ".rule"},

		// choices
		{"empty choices", one(choice(nil)), nil, r0 + ".choices"},
		{"duplicate choice values", one(choice(map[string]string{"German": "DE", "Deutsch": "DE"})), nil, r0 + ".choices"},
		{"empty choice value", one(choice(map[string]string{"German": ""})), nil, r0 + ".choices"},
		{"empty choice label", one(choice(map[string]string{"": "DE"})), nil, r0 + ".choices"},

		// questions
		{"empty questions", one(question()), nil, r0 + ".questions"},
		{"question without options", one(question(q("Q1"))), nil, r0 + ".questions[0].answerOptions"},
		{"duplicate options", one(question(q("Q1", "a", "b", "a"))), nil, r0 + ".questions[0].answerOptions"},
		{"empty option", one(question(q("Q1", "a", ""))), nil, r0 + ".questions[0].answerOptions"},
		{"duplicate question keys", one(question(q("Q1", "a"), q("Q1", "b"))), nil, r0 + ".questions[1].key"},
		{"empty question key", one(question(q("", "a"))), nil, r0 + ".questions[0].key"},
		{"empty question label", one(question(levels.QuestionItem{Key: "Q1", AnswerOptions: []string{"a"}})), nil, r0 + ".questions[0].label"},

		// document requirements
		{"document with no types", one(doc()), []documents.Type{passport()}, r0 + ".documentTypes"},
		{"document with an unknown type", one(doc("idCard")), []documents.Type{passport()}, r0 + ".documentTypes[0]"},
		{"document with no declared types", one(doc("passport")), nil, r0 + ".documentTypes[0]"},
		{"document with a duplicate type", one(doc("passport", "passport")), []documents.Type{passport()}, r0 + ".documentTypes[1]"},
		{"document whose only type is disabled", one(doc("idCard")), []documents.Type{passport(), idCard}, r0 + ".documentTypes"},
		{"document whose types are all disabled", one(doc("idCard", "oldCard")), []documents.Type{idCard, {ID: 4, Name: "oldCard", Sides: []string{"front"}}}, r0 + ".documentTypes"},

		// document types
		{"document type id zero", []levels.Level{start}, []documents.Type{{ID: 0, Name: "passport", Sides: []string{"front"}}}, "documentTypes[0].id"},
		{"document type id negative", []levels.Level{start}, []documents.Type{passport(), {ID: -1, Name: "idCard", Sides: []string{"front"}}}, "documentTypes[1].id"},
		{"document type without name", []levels.Level{start}, []documents.Type{{ID: 2, Sides: []string{"front"}}}, "documentTypes[0].name"},
		{"document type without sides", []levels.Level{start}, []documents.Type{{ID: 2, Name: "passport"}}, "documentTypes[0].sides"},
		{"document type with duplicate sides", []levels.Level{start}, []documents.Type{{ID: 2, Name: "passport", Sides: []string{"front", "front"}}}, "documentTypes[0].sides"},
		{"document type with an empty side", []levels.Level{start}, []documents.Type{{ID: 2, Name: "passport", Sides: []string{"front", ""}}}, "documentTypes[0].sides"},
		{"duplicate document type names", []levels.Level{start}, []documents.Type{passport(), {ID: 3, Name: "passport", Sides: []string{"front"}}}, "documentTypes[1].name"},
		{"duplicate document type ids", []levels.Level{start}, []documents.Type{passport(), {ID: 2, Name: "idCard", Sides: []string{"front"}}}, "documentTypes[1].id"},
		{"bad type refused before levels", one(doc("idCard")), []documents.Type{passport(), {ID: 3, Name: "idCard"}}, "documentTypes[1].sides"},
		{"duplicate document requirement at a later level", []levels.Level{
			start,
			{ID: 2, Name: "Level 1", Requirements: []levels.Requirement{doc("passport")}},
			{ID: 3, Name: "Level 2", Requirements: []levels.Requirement{flag, doc("idCard")}},
		}, []documents.Type{passport()}, "levels[2].requirements[1].name"},
		{"unknown type at a later level", []levels.Level{
			start,
			{ID: 2, Name: "Level 1", Requirements: []levels.Requirement{doc("passport")}},
			{ID: 3, Name: "Level 2", Requirements: []levels.Requirement{{Name: "secondDocument", Type: levels.Document, DocumentTypes: []string{"passport", "visa"}}}},
		}, []documents.Type{passport(), idCard}, "levels[2].requirements[0].documentTypes[1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var (
				l   *levels.Ladder
				err error
			)
			require.NotPanics(t, func() { l, err = levels.New(tt.levels, tt.types...) })
			requireFieldError(t, err, tt.field)
			require.Nil(t, l)
		})
	}
}

func TestNewAccepts(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		levels []levels.Level
	}{
		{"a single level", []levels.Level{{ID: 1, Name: "Level 0"}}},
		{"non-consecutive ids", []levels.Level{{ID: 10, Name: "Level 0"}, {ID: 3, Name: "Level 1"}, {ID: 7, Name: "Level 2"}}},
		{"a level without requirements above the first", []levels.Level{{ID: 1, Name: "Level 0"}, {ID: 2, Name: "Level 1"}}},
	}
	for _, rule := range []string{"", "required", "required,numeric,len=6", "omitempty,email", "oneof=a b c", "min=1|max=3", "required,alphanum,min=36,max=255"} {
		tests = append(tests, struct {
			name   string
			levels []levels.Level
		}{"rule " + rule, []levels.Level{
			{ID: 1, Name: "Level 0"},
			{ID: 2, Name: "Level 1", Requirements: []levels.Requirement{{Name: "code", Type: levels.String, Rule: rule}}},
		}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, err := levels.New(tt.levels)
			require.NoError(t, err)
			require.Equal(t, tt.levels[0].ID, l.First().ID)
			require.Equal(t, tt.levels[len(tt.levels)-1].ID, l.Top().ID)
		})
	}
}

func TestNewMatchesSeedFile(t *testing.T) {
	t.Parallel()

	built, err := levels.New(seedLevels(), passport())
	require.NoError(t, err)
	require.Equal(t, seedLadder(t), built)
}

func TestNewCopiesItsInput(t *testing.T) {
	t.Parallel()

	lvls := seedLevels()
	types := []documents.Type{passport()}
	l, err := levels.New(lvls, types...)
	require.NoError(t, err)
	want, err := json.Marshal(l)
	require.NoError(t, err)

	lvls[0].Name = "changed"
	lvls[1].Requirements[0].Name = "changed"
	lvls[1].Requirements[2].Choices["French"] = "FR"
	lvls[2].Requirements[0].Questions[0].AnswerOptions[0] = "changed"
	lvls[2].Requirements[1].DocumentTypes[0] = "changed"
	types[0].Sides[0] = "changed"
	types[0].Group["changed"] = "changed"

	got, err := json.Marshal(l)
	require.NoError(t, err)
	require.JSONEq(t, string(want), string(got))
}

func TestLoad(t *testing.T) {
	t.Parallel()

	seed, err := os.ReadFile(seedFile)
	require.NoError(t, err)

	t.Run("seed file", func(t *testing.T) {
		t.Parallel()
		l, err := levels.Load(bytes.NewReader(seed))
		require.NoError(t, err)
		require.Equal(t, levels.Level{ID: 1, Name: "Level 0"}, l.First())
		require.Equal(t, levels.Level{ID: 3, Name: "Level 2"}, l.Top())
		require.Len(t, l.RequirementsUpTo(l.Top().ID), 6)
	})

	t.Run("round trip", func(t *testing.T) {
		t.Parallel()
		first, err := levels.Load(bytes.NewReader(seed))
		require.NoError(t, err)
		out, err := json.Marshal(first)
		require.NoError(t, err)
		second, err := levels.Load(bytes.NewReader(out))
		require.NoError(t, err)
		require.Equal(t, first, second)
		again, err := json.Marshal(second)
		require.NoError(t, err)
		require.Equal(t, string(out), string(again))
		require.JSONEq(t, string(seed), string(out))
	})

	t.Run("LoadFile of a missing file", func(t *testing.T) {
		t.Parallel()
		_, err := levels.LoadFile("testdata/no-such-ladder.json")
		require.ErrorIs(t, err, os.ErrNotExist)
	})
}

func TestLoadRefuses(t *testing.T) {
	t.Parallel()

	const base = `{"levels": [{"id": 1, "name": "Level 0"}]}`
	tests := []struct {
		name    string
		input   string
		field   string // the *FieldError's Field, when New refuses
		message string // a part of the error message, when decoding refuses
	}{
		{"empty input", ``, "", "EOF"},
		{"not JSON", `levels:`, "", "invalid character"},
		{"an array", `[]`, "", "cannot unmarshal"},
		{"unknown top-level field", `{"levels": [{"id": 1, "name": "Level 0"}], "version": 2}`, "", `unknown field "version"`},
		{"unknown level field", `{"levels": [{"id": 1, "name": "Level 0", "rank": 0}]}`, "", `unknown field "rank"`},
		{"unknown requirement field", `{"levels": [{"id": 1, "name": "Level 0"}, {"id": 2, "name": "Level 1", "requirements": [{"name": "x", "type": "boolean", "kind": "boolean"}]}]}`, "", `unknown field "kind"`},
		{"unknown question field", `{"levels": [{"id": 1, "name": "Level 0"}, {"id": 2, "name": "Level 1", "requirements": [{"name": "x", "type": "question", "questions": [{"key": "Q", "label": "L", "answerOptions": ["a"], "hint": ""}]}]}]}`, "", `unknown field "hint"`},
		{"unknown document type field", `{"documentTypes": [{"id": 2, "name": "passport", "sides": ["front"], "pages": 2}], "levels": [{"id": 1, "name": "Level 0"}]}`, "", `unknown field "pages"`},
		{"wrong field type", `{"levels": [{"id": "1", "name": "Level 0"}]}`, "", "cannot unmarshal"},
		{"trailing object", base + ` {}`, "", "trailing data"},
		{"trailing garbage", base + ` x`, "", ""},
		{"trailing brace", base + `}`, "", ""},
		{"trailing bracket", base + `]`, "", ""},
		{"no levels", `{}`, "levels", ""},
		{"null levels", `{"levels": null}`, "levels", ""},
		{"New's refusals", `{"levels": [{"id": 1, "name": "Level 0"}, {"id": 2, "name": "Level 1", "requirements": [{"name": "code", "type": "string", "rule": "nosuchtag"}]}]}`, "levels[1].requirements[0].rule", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, err := levels.Load(strings.NewReader(tt.input))
			require.Error(t, err)
			require.Nil(t, l)
			if tt.field != "" {
				requireFieldError(t, err, tt.field)
				return
			}
			require.Contains(t, err.Error(), tt.message)
		})
	}

	t.Run("accepts surrounding whitespace", func(t *testing.T) {
		t.Parallel()
		_, err := levels.Load(strings.NewReader("\n  " + base + "\n\n"))
		require.NoError(t, err)
	})
}

func TestLadderAccessors(t *testing.T) {
	t.Parallel()

	l := seedLadder(t)
	level0 := levels.Level{ID: 1, Name: "Level 0"}
	level1 := levels.Level{ID: 2, Name: "Level 1"}
	level2 := levels.Level{ID: 3, Name: "Level 2"}

	t.Run("First and Top", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, level0, l.First())
		require.Equal(t, level2, l.Top())
	})

	t.Run("Level", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			id   int
			want levels.Level
			ok   bool
		}{{1, level0, true}, {2, level1, true}, {3, level2, true}, {0, levels.Level{}, false}, {4, levels.Level{}, false}, {-1, levels.Level{}, false}}
		for _, tt := range tests {
			got, ok := l.Level(tt.id)
			assert.Equal(t, tt.ok, ok, tt.id)
			assert.Equal(t, tt.want, got, tt.id)
		}
	})

	t.Run("Next", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			id   int
			want levels.Level
			ok   bool
		}{{1, level1, true}, {2, level2, true}, {3, levels.Level{}, false}, {0, levels.Level{}, false}, {99, levels.Level{}, false}}
		for _, tt := range tests {
			got, ok := l.Next(tt.id)
			assert.Equal(t, tt.ok, ok, tt.id)
			assert.Equal(t, tt.want, got, tt.id)
		}
	})

	t.Run("Position", func(t *testing.T) {
		t.Parallel()
		for id, want := range map[int]int{1: 0, 2: 1, 3: 2, 0: -1, 4: -1, -3: -1} {
			assert.Equal(t, want, l.Position(id), id)
		}
	})

	t.Run("Requirement", func(t *testing.T) {
		t.Parallel()
		r, ok := l.Requirement("nationality")
		require.True(t, ok)
		require.Equal(t, "nationality", r.Name)
		require.Equal(t, levels.Choice, r.Type)
		require.Equal(t, map[string]string{"Netherlands": "NL", "German": "DE"}, r.Choices)

		r, ok = l.Requirement("nosuch")
		require.False(t, ok)
		require.Nil(t, r)
	})

	t.Run("RequirementLevel", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name string
			want levels.Level
			ok   bool
		}{
			{"isBusiness", level1, true},
			{"nationality", level1, true},
			{"AMLD5Questions", level2, true},
			{"verificationFlag", level2, true},
			{"nosuch", levels.Level{}, false},
		}
		for _, tt := range tests {
			got, ok := l.RequirementLevel(tt.name)
			assert.Equal(t, tt.ok, ok, tt.name)
			assert.Equal(t, tt.want, got, tt.name)
		}
	})

	t.Run("RequirementsUpTo", func(t *testing.T) {
		t.Parallel()
		assert.Empty(t, l.RequirementsUpTo(1))
		assert.Equal(t, []string{"isBusiness", "emailCode", "nationality"}, names(l.RequirementsUpTo(2)))
		assert.Equal(t, []string{"isBusiness", "emailCode", "nationality", "AMLD5Questions", "idDocument", "verificationFlag"}, names(l.RequirementsUpTo(3)))
		assert.Nil(t, l.RequirementsUpTo(0))
		assert.Nil(t, l.RequirementsUpTo(4))
	})

	t.Run("RequirementsOf", func(t *testing.T) {
		t.Parallel()
		assert.Empty(t, l.RequirementsOf(1))
		assert.Equal(t, []string{"isBusiness", "emailCode", "nationality"}, names(l.RequirementsOf(2)))
		assert.Equal(t, []string{"AMLD5Questions", "idDocument", "verificationFlag"}, names(l.RequirementsOf(3)))
		assert.Nil(t, l.RequirementsOf(0))
		assert.Nil(t, l.RequirementsOf(4))
	})

	t.Run("appending to a requirement list leaves the ladder alone", func(t *testing.T) {
		t.Parallel()
		extra := &levels.Requirement{Name: "extra", Type: levels.Boolean}
		_ = append(l.RequirementsUpTo(2), extra)
		_ = append(l.RequirementsOf(2), extra)
		_ = append(l.RequirementsOf(1), extra)
		assert.Equal(t, []string{"AMLD5Questions", "idDocument", "verificationFlag"}, names(l.RequirementsOf(3)))
		assert.Equal(t, []string{"isBusiness", "emailCode", "nationality", "AMLD5Questions", "idDocument", "verificationFlag"}, names(l.RequirementsUpTo(3)))
	})

	t.Run("DocumentType", func(t *testing.T) {
		t.Parallel()
		got, ok := l.DocumentType(2)
		require.True(t, ok)
		require.Equal(t, passport(), got)
		_, ok = l.DocumentType(3)
		require.False(t, ok)
	})

	t.Run("DocumentTypeByName", func(t *testing.T) {
		t.Parallel()
		got, ok := l.DocumentTypeByName("passport")
		require.True(t, ok)
		require.Equal(t, passport(), got)
		_, ok = l.DocumentTypeByName("Passport")
		require.False(t, ok)
	})

	t.Run("DocumentTypes", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, []documents.Type{passport()}, l.DocumentTypes())
	})
}

// The copying accessors get a ladder of their own, since these subtests
// modify what they are given.
func TestLadderAccessorsReturnCopies(t *testing.T) {
	t.Parallel()

	t.Run("Levels", func(t *testing.T) {
		t.Parallel()
		l := seedLadder(t)
		before := l.Levels()
		require.Len(t, before, 3)
		require.Equal(t, "Level 1", before[1].Name)
		require.Equal(t, "isBusiness", before[1].Requirements[0].Name)
		require.JSONEq(t, `{"Netherlands": "NL", "German": "DE"}`, string(before[1].Requirements[2].Data()))

		got := l.Levels()
		got[0].Name = "changed"
		got[1].ID = 99
		got[1].Requirements[0].Name = "changed"
		got[1].Requirements = append(got[1].Requirements, levels.Requirement{Name: "extra"})
		got[1].Requirements[2].Choices["French"] = "FR"
		got[2].Requirements[0].Questions[0].AnswerOptions[0] = "changed"
		got[2].Requirements[0].Questions = got[2].Requirements[0].Questions[:1]
		got[2].Requirements[1].DocumentTypes[0] = "changed"
		got = append(got[:1], got[2])
		_ = got

		require.Equal(t, before, l.Levels())
		r, ok := l.Requirement("nationality")
		require.True(t, ok)
		require.Len(t, r.Choices, 2)
		require.Equal(t, "Level 2", l.Top().Name)
		lv, ok := l.Level(2)
		require.True(t, ok)
		require.Equal(t, "Level 1", lv.Name)
	})

	t.Run("Levels feeds New", func(t *testing.T) {
		t.Parallel()
		l := seedLadder(t)
		again, err := levels.New(l.Levels(), l.DocumentTypes()...)
		require.NoError(t, err)
		require.Equal(t, l, again)
	})

	t.Run("document types", func(t *testing.T) {
		t.Parallel()
		l := seedLadder(t)

		all := l.DocumentTypes()
		all[0].Sides[0] = "changed"
		all[0].Group["changed"] = "changed"
		all[0].Name = "changed"

		byID, ok := l.DocumentType(2)
		require.True(t, ok)
		byID.Sides[1] = "changed"

		byName, ok := l.DocumentTypeByName("passport")
		require.True(t, ok)
		byName.Sides[0] = "changed"
		byName.Group["changed"] = "changed"

		require.Equal(t, []documents.Type{passport()}, l.DocumentTypes())
		doc, ok := l.Requirement("idDocument")
		require.True(t, ok)
		require.NoError(t, doc.Validate(json.RawMessage(`{"type": "passport", "files": {"front": "a", "back": "b"}}`)))
	})
}

// TestNewRefusesUncompletableDocumentRequirement: documents.Type.Enabled
// defaults to false, so a ladder whose document requirement accepts only
// disabled types could never be completed; New says so and names the types.
func TestNewRefusesUncompletableDocumentRequirement(t *testing.T) {
	t.Parallel()
	disabled := passport()
	disabled.Enabled = false
	lvls := []levels.Level{
		{ID: 1, Name: "Level 0"},
		{ID: 2, Name: "Level 1", Requirements: []levels.Requirement{{Name: "idDocument", Type: levels.Document, DocumentTypes: []string{"passport"}}}},
	}
	_, err := levels.New(lvls, disabled)
	requireFieldError(t, err, "levels[1].requirements[0].documentTypes")
	require.ErrorContains(t, err, "every accepted document type (passport) is disabled")
	require.ErrorContains(t, err, "idDocument")

	// One enabled type is enough; disabled ones stay for history.
	retired := documents.Type{ID: 9, Name: "oldCard", Sides: []string{"front"}}
	lvls[1].Requirements[0].DocumentTypes = []string{"oldCard", "passport"}
	_, err = levels.New(lvls, passport(), retired)
	require.NoError(t, err)
}
