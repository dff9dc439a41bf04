package levels_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/levels"
)

func TestRequirementValidate(t *testing.T) {
	t.Parallel()

	seed := seedLadder(t)
	// A ladder with a string requirement that has no rule (the default rule
	// is "required": any non-empty string).
	plain, err := levels.New([]levels.Level{
		{ID: 1, Name: "Level 0"},
		{ID: 2, Name: "Level 1", Requirements: []levels.Requirement{{Name: "nickname", Type: levels.String}}},
	})
	require.NoError(t, err)
	req := func(l *levels.Ladder, name string) *levels.Requirement {
		r, ok := l.Requirement(name)
		require.True(t, ok, name)
		return r
	}

	const passportOK = `{"type": "passport", "files": {"front": "f_1", "back": "f_2"}}`
	tests := []struct {
		name   string
		req    *levels.Requirement
		answer string
		field  string // "" when the answer is valid
	}{
		// boolean
		{"boolean true", req(seed, "isBusiness"), `true`, ""},
		{"boolean false", req(seed, "isBusiness"), `false`, ""},
		{"boolean surrounded by spaces", req(seed, "isBusiness"), " \ttrue\n", ""},
		{"boolean as string", req(seed, "isBusiness"), `"true"`, "answer"},
		{"boolean as number", req(seed, "isBusiness"), `1`, "answer"},
		{"boolean as object", req(seed, "isBusiness"), `{}`, "answer"},
		{"boolean null", req(seed, "isBusiness"), `null`, "answer"},
		{"boolean empty", req(seed, "isBusiness"), ``, "answer"},
		{"boolean blank", req(seed, "isBusiness"), `   `, "answer"},
		{"host-set boolean validates the same way", req(seed, "verificationFlag"), `true`, ""},

		// string with rule "required,numeric,len=6"
		{"code of six digits", req(seed, "emailCode"), `"123456"`, ""},
		{"code of five digits", req(seed, "emailCode"), `"12345"`, "answer"},
		{"code of seven digits", req(seed, "emailCode"), `"1234567"`, "answer"},
		{"code of letters", req(seed, "emailCode"), `"abcdef"`, "answer"},
		{"code mixing digits and letters", req(seed, "emailCode"), `"12345a"`, "answer"},
		{"code empty", req(seed, "emailCode"), `""`, "answer"},
		{"code as number", req(seed, "emailCode"), `123456`, "answer"},
		{"code as bool", req(seed, "emailCode"), `true`, "answer"},
		{"code null", req(seed, "emailCode"), `null`, "answer"},
		{"code not JSON", req(seed, "emailCode"), `123456"`, "answer"},

		// string with the default rule
		{"default rule any text", req(plain, "nickname"), `"x"`, ""},
		{"default rule empty string", req(plain, "nickname"), `""`, "answer"},
		{"default rule non-string", req(plain, "nickname"), `["x"]`, "answer"},

		// choice: answers are values, not labels
		{"choice value DE", req(seed, "nationality"), `"DE"`, ""},
		{"choice value NL", req(seed, "nationality"), `"NL"`, ""},
		{"choice label", req(seed, "nationality"), `"German"`, "answer"},
		{"choice unknown value", req(seed, "nationality"), `"FR"`, "answer"},
		{"choice lower-case value", req(seed, "nationality"), `"de"`, "answer"},
		{"choice empty", req(seed, "nationality"), `""`, "answer"},
		{"choice non-string", req(seed, "nationality"), `1`, "answer"},
		{"choice as object", req(seed, "nationality"), `{"German": "DE"}`, "answer"},

		// question
		{"questions all answered", req(seed, "AMLD5Questions"), `{"Question1": "answer1", "Question2": "answer3"}`, ""},
		{"question missing", req(seed, "AMLD5Questions"), `{"Question1": "answer1"}`, "answer.Question2"},
		{"question first missing", req(seed, "AMLD5Questions"), `{"Question2": "answer1"}`, "answer.Question1"},
		{"question bad option", req(seed, "AMLD5Questions"), `{"Question1": "answer4", "Question2": "answer1"}`, "answer.Question1"},
		{"question empty option", req(seed, "AMLD5Questions"), `{"Question1": "answer1", "Question2": ""}`, "answer.Question2"},
		{"question extra key", req(seed, "AMLD5Questions"), `{"Question1": "answer1", "Question2": "answer2", "Question3": "answer3"}`, "answer.Question3"},
		{"question empty object", req(seed, "AMLD5Questions"), `{}`, "answer.Question1"},
		{"question non-string option", req(seed, "AMLD5Questions"), `{"Question1": 1, "Question2": "answer1"}`, "answer"},
		{"question as array", req(seed, "AMLD5Questions"), `["answer1", "answer2"]`, "answer"},
		{"question as string", req(seed, "AMLD5Questions"), `"answer1"`, "answer"},
		{"question null", req(seed, "AMLD5Questions"), `null`, "answer"},

		// document
		{"document ok", req(seed, "idDocument"), passportOK, ""},
		{"document unknown type", req(seed, "idDocument"), `{"type": "idCard", "files": {"front": "f_1", "back": "f_2"}}`, "answer.type"},
		{"document type missing", req(seed, "idDocument"), `{"files": {"front": "f_1", "back": "f_2"}}`, "answer.type"},
		{"document missing side", req(seed, "idDocument"), `{"type": "passport", "files": {"front": "f_1"}}`, "answer.files.back"},
		{"document empty file id", req(seed, "idDocument"), `{"type": "passport", "files": {"front": "f_1", "back": ""}}`, "answer.files.back"},
		{"document no files", req(seed, "idDocument"), `{"type": "passport"}`, "answer.files.front"},
		{"document extra side", req(seed, "idDocument"), `{"type": "passport", "files": {"front": "f_1", "back": "f_2", "face": "f_3"}}`, "answer.files.face"},
		{"document unknown field", req(seed, "idDocument"), `{"type": "passport", "files": {"front": "f_1", "back": "f_2"}, "note": "x"}`, "answer"},
		{"document as string", req(seed, "idDocument"), `"passport"`, "answer"},
		{"document as array", req(seed, "idDocument"), `[` + passportOK + `]`, "answer"},
		{"document trailing data", req(seed, "idDocument"), passportOK + ` {}`, "answer"},
		{"document null", req(seed, "idDocument"), `null`, "answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.req.Validate(json.RawMessage(tt.answer))
			if tt.field == "" {
				require.NoError(t, err)
				return
			}
			requireFieldError(t, err, tt.field)
		})
	}
}

func TestRequirementParseDocument(t *testing.T) {
	t.Parallel()

	l := seedLadder(t)
	doc, ok := l.Requirement("idDocument")
	require.True(t, ok)

	t.Run("returns the answer", func(t *testing.T) {
		t.Parallel()
		a, err := doc.ParseDocument(json.RawMessage(`{"type": "passport", "files": {"front": "f_1", "back": "f_2"}}`))
		require.NoError(t, err)
		require.Equal(t, levels.DocumentAnswer{Type: "passport", Files: map[string]string{"front": "f_1", "back": "f_2"}}, a)
	})

	t.Run("refuses a requirement of another kind", func(t *testing.T) {
		t.Parallel()
		flag, ok := l.Requirement("isBusiness")
		require.True(t, ok)
		_, err := flag.ParseDocument(json.RawMessage(`{"type": "passport", "files": {"front": "f_1", "back": "f_2"}}`))
		requireFieldError(t, err, "answer")
	})

	t.Run("names the missing side", func(t *testing.T) {
		t.Parallel()
		_, err := doc.ParseDocument(json.RawMessage(`{"type": "passport", "files": {"back": "f_2"}}`))
		requireFieldError(t, err, "answer.files.front")
	})
}

func TestRequirementAccessors(t *testing.T) {
	t.Parallel()

	l := seedLadder(t)
	req := func(name string) *levels.Requirement {
		r, ok := l.Requirement(name)
		require.True(t, ok, name)
		return r
	}

	t.Run("Data is seed 000's wire shape", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name string
			want string // "" for no data
		}{
			{"isBusiness", ""},
			{"emailCode", ""},
			{"nationality", `{"Netherlands": "NL", "German": "DE"}`},
			{"AMLD5Questions", `[
				{"key": "Question1", "label": "This is the actual question 1?", "answerOptions": ["answer1", "answer2", "answer3"]},
				{"key": "Question2", "label": "This is the actual question 2?", "answerOptions": ["answer1", "answer2", "answer3"]}]`},
			{"idDocument", `[{"type": "passport", "data": [{"name": "front", "type": "file"}, {"name": "back", "type": "file"}]}]`},
			{"verificationFlag", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				data := req(tt.name).Data()
				if tt.want == "" {
					require.Nil(t, data)
					return
				}
				require.JSONEq(t, tt.want, string(data))
			})
		}
	})

	t.Run("Attempts", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, levels.DefaultMaxAttempts, req("emailCode").Attempts())
		capped := levels.Requirement{Name: "x", Type: levels.Boolean, MaxAttempts: 3}
		require.Equal(t, 3, capped.Attempts())
	})

	t.Run("AnsweredByUser", func(t *testing.T) {
		t.Parallel()
		assert.True(t, req("isBusiness").AnsweredByUser())
		assert.False(t, req("verificationFlag").AnsweredByUser())
		byUser := levels.Requirement{Name: "x", Type: levels.Boolean, SetBy: levels.SetByUser}
		assert.True(t, byUser.AnsweredByUser())
	})

	t.Run("AcceptedTypes", func(t *testing.T) {
		t.Parallel()
		types := req("idDocument").AcceptedTypes()
		require.Len(t, types, 1)
		require.Equal(t, "passport", types[0].Name)
		require.Equal(t, []string{"front", "back"}, types[0].Sides)
		require.Empty(t, req("isBusiness").AcceptedTypes())
	})

	t.Run("fields as configured", func(t *testing.T) {
		t.Parallel()
		code := req("emailCode")
		assert.Equal(t, levels.String, code.Type)
		assert.Equal(t, "required,numeric,len=6", code.Rule)
		assert.True(t, code.Review)
		assert.Equal(t, levels.SetByHost, req("verificationFlag").SetBy)
	})
}

func TestKindValid(t *testing.T) {
	t.Parallel()

	for _, k := range []levels.AnswerType{levels.Boolean, levels.String, levels.Choice, levels.Question, levels.Document} {
		assert.True(t, k.Valid(), k)
	}
	for _, k := range []levels.AnswerType{"", "bool", "Boolean", "file"} {
		assert.False(t, k.Valid(), k)
	}
}

func TestFieldErrorMessage(t *testing.T) {
	t.Parallel()

	err := &levels.FieldError{Field: "answer.Question2", Reason: "is required"}
	require.Equal(t, "levels: answer.Question2: is required", err.Error())
}
