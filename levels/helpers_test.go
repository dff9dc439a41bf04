package levels_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/levels"
)

const seedFile = "testdata/seed000.json"

// seedLadder loads seed 000's ladder from testdata.
func seedLadder(t testing.TB) *levels.Ladder {
	t.Helper()
	l, err := levels.LoadFile(seedFile)
	require.NoError(t, err)
	return l
}

// passport is seed 000's only document type.
func passport() documents.Type {
	return documents.Type{
		ID: 2, Name: "passport", Description: "Passport", Enabled: true,
		Group: map[string]string{}, Sides: []string{"front", "back"},
	}
}

// seedLevels is seed 000's ladder written in Go: the same content as
// testdata/seed000.json.
func seedLevels() []levels.Level {
	options := []string{"answer1", "answer2", "answer3"}
	return []levels.Level{
		{ID: 1, Name: "Level 0"},
		{ID: 2, Name: "Level 1", Requirements: []levels.Requirement{
			{Name: "isBusiness", Type: levels.Boolean},
			{Name: "emailCode", Type: levels.String, Rule: "required,numeric,len=6", Review: true},
			{Name: "nationality", Type: levels.Choice, Choices: map[string]string{"Netherlands": "NL", "German": "DE"}},
		}},
		{ID: 3, Name: "Level 2", Requirements: []levels.Requirement{
			{Name: "AMLD5Questions", Type: levels.Question, Questions: []levels.QuestionItem{
				{Key: "Question1", Label: "This is the actual question 1?", AnswerOptions: options},
				{Key: "Question2", Label: "This is the actual question 2?", AnswerOptions: options},
			}},
			{Name: "idDocument", Type: levels.Document, DocumentTypes: []string{"passport"}, Review: true},
			{Name: "verificationFlag", Type: levels.Boolean, SetBy: levels.SetByHost},
		}},
	}
}

// requireFieldError asserts that err is a *levels.FieldError naming field.
func requireFieldError(t *testing.T, err error, field string) {
	t.Helper()
	require.Error(t, err)
	var fe *levels.FieldError
	require.ErrorAs(t, err, &fe, "error %q is not a *levels.FieldError", err)
	require.Equal(t, field, fe.Field, "error: %v", err)
	require.NotEmpty(t, fe.Reason)
}

// names returns the names of reqs, in order.
func names(reqs []*levels.Requirement) []string {
	out := make([]string, 0, len(reqs))
	for _, r := range reqs {
		out = append(out, r.Name)
	}
	return out
}
