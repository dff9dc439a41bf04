package levels_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/levels"
)

const day = levels.Duration(24 * time.Hour)

// diligenceLevels is a ladder with validity and a screening requirement.
func diligenceLevels() []levels.Level {
	return []levels.Level{
		{ID: 1, Name: "Level 0"},
		{ID: 2, Name: "Level 1", Requirements: []levels.Requirement{
			{Name: "fullName", Type: levels.String},
			{Name: "birthDate", Type: levels.String, Rule: "datetime=2006-01-02"},
			{Name: "nationality", Type: levels.Choice, Choices: map[string]string{"German": "DE"}},
			{Name: "sanctions", Type: levels.Screening, RescreenInterval: 30 * day,
				Screening: &levels.ScreeningSources{Name: "fullName", BirthDate: "birthDate", Nationality: "nationality"}},
		}},
		{ID: 3, Name: "Level 2", Requirements: []levels.Requirement{
			{Name: "idDocument", Type: levels.Document, DocumentTypes: []string{"passport"}, Review: true,
				UseDocumentExpiry: true, ValidFor: 365 * day, ExpiryWarning: 30 * day},
			{Name: "proofOfAddress", Type: levels.Boolean, ValidFor: levels.Duration(90 * 24 * time.Hour), ExpiryWarning: levels.Duration(36 * time.Hour)},
		}},
	}
}

func TestValidityAndScreeningRoundTrip(t *testing.T) {
	t.Parallel()
	l, err := levels.New(diligenceLevels(), passport())
	require.NoError(t, err)
	b, err := json.Marshal(l)
	require.NoError(t, err)
	require.Contains(t, string(b), `"validFor":"365d"`)
	require.Contains(t, string(b), `"expiryWarning":"36h0m0s"`)
	require.Contains(t, string(b), `"screening":{"name":"fullName","birthDate":"birthDate","nationality":"nationality"}`)
	l2, err := levels.Load(bytes.NewReader(b))
	require.NoError(t, err)
	b2, err := json.Marshal(l2)
	require.NoError(t, err)
	require.JSONEq(t, string(b), string(b2))

	doc, _ := l2.Requirement("idDocument")
	require.True(t, doc.Expires())
	require.Equal(t, 365*24*time.Hour, doc.ValidFor.D())
	scr, _ := l2.Requirement("sanctions")
	require.False(t, scr.Expires(), "a screening is screened again, it does not expire")
	require.False(t, scr.AnsweredByUser())
	require.True(t, scr.SetBySystem())
	require.True(t, scr.Uses("birthDate"))
	require.False(t, scr.Uses("idDocument"))
	var fe *levels.FieldError
	require.ErrorAs(t, scr.Validate(json.RawMessage(`"x"`)), &fe, "nobody answers a screening requirement")
	require.Len(t, l2.Requirements(), 6)
}

func TestParseDuration(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{"365d": 365 * 24 * time.Hour, "0d": 0, "90m": 90 * time.Minute, "1h30m": 90 * time.Minute} {
		got, err := levels.ParseDuration(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got.D(), in)
	}
	for _, in := range []string{"", "d", "1.5d", "-1d", "x", "99999999d"} {
		_, err := levels.ParseDuration(in)
		require.Error(t, err, in)
	}
	_, err := levels.Load(strings.NewReader(`{"levels":[{"id":1,"name":"L0"},{"id":2,"name":"L1","requirements":[{"name":"a","type":"boolean","validFor":365}]}]}`))
	require.Error(t, err, "a duration is a string")
}

func TestValidityRefused(t *testing.T) {
	t.Parallel()
	start := levels.Level{ID: 1, Name: "Level 0"}
	name := levels.Requirement{Name: "fullName", Type: levels.String}
	scr := func(mod func(r *levels.Requirement)) []levels.Requirement {
		r := levels.Requirement{Name: "sanctions", Type: levels.Screening, RescreenInterval: 30 * day, Screening: &levels.ScreeningSources{Name: "fullName"}}
		mod(&r)
		return []levels.Requirement{name, r}
	}
	const r0, r1 = "levels[1].requirements[0]", "levels[1].requirements[1]"
	flag := func(mod func(r *levels.Requirement)) []levels.Requirement {
		r := levels.Requirement{Name: "flag", Type: levels.Boolean}
		mod(&r)
		return []levels.Requirement{r}
	}
	tests := []struct {
		name  string
		reqs  []levels.Requirement
		upper []levels.Requirement
		field string
	}{
		{"negative validFor", flag(func(r *levels.Requirement) { r.ValidFor = -day }), nil, r0 + ".validFor"},
		{"negative warning", flag(func(r *levels.Requirement) { r.ValidFor = day; r.ExpiryWarning = -1 }), nil, r0 + ".expiryWarning"},
		{"warning without validity", flag(func(r *levels.Requirement) { r.ExpiryWarning = day }), nil, r0 + ".expiryWarning"},
		{"warning not shorter than validFor", flag(func(r *levels.Requirement) { r.ValidFor = day; r.ExpiryWarning = day }), nil, r0 + ".expiryWarning"},
		{"document expiry on a boolean", flag(func(r *levels.Requirement) { r.UseDocumentExpiry = true }), nil, r0 + ".useDocumentExpiry"},
		{"screening sources on a boolean", flag(func(r *levels.Requirement) { r.Screening = &levels.ScreeningSources{Name: "x"} }), nil, r0 + ".screening"},
		{"interval on a boolean", flag(func(r *levels.Requirement) { r.RescreenInterval = day }), nil, r0 + ".rescreenInterval"},
		{"system setter on a boolean", flag(func(r *levels.Requirement) { r.SetBy = levels.SetBySystem }), nil, r0 + ".setBy"},
		{"screening without sources", scr(func(r *levels.Requirement) { r.Screening = nil }), nil, r1 + ".screening.name"},
		{"screening without interval", scr(func(r *levels.Requirement) { r.RescreenInterval = 0 }), nil, r1 + ".rescreenInterval"},
		{"screening every minute", scr(func(r *levels.Requirement) { r.RescreenInterval = levels.Duration(time.Minute) }), nil, r1 + ".rescreenInterval"},
		{"screening with validFor", scr(func(r *levels.Requirement) { r.ValidFor = day }), nil, r1 + ".validFor"},
		{"screening with review", scr(func(r *levels.Requirement) { r.Review = true }), nil, r1 + ".review"},
		{"screening set by host", scr(func(r *levels.Requirement) { r.SetBy = levels.SetByHost }), nil, r1 + ".setBy"},
		{"unknown name source", scr(func(r *levels.Requirement) { r.Screening.Name = "nobody" }), nil, r1 + ".screening.name"},
		{"boolean birth date source", append(scr(func(r *levels.Requirement) { r.Screening.BirthDate = "flag" }), levels.Requirement{Name: "flag", Type: levels.Boolean}), nil, r1 + ".screening.birthDate"},
		{"source of a higher level", scr(func(r *levels.Requirement) { r.Screening.Nationality = "country" }), []levels.Requirement{{Name: "country", Type: levels.String}}, r1 + ".screening.nationality"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			lv := []levels.Level{start, {ID: 2, Name: "Level 1", Requirements: tc.reqs}}
			if tc.upper != nil {
				lv = append(lv, levels.Level{ID: 3, Name: "Level 2", Requirements: tc.upper})
			}
			_, err := levels.New(lv, documents.Type{ID: 2, Name: "passport", Sides: []string{"front"}})
			var fe *levels.FieldError
			require.True(t, errors.As(err, &fe), "%v", err)
			require.Equal(t, tc.field, fe.Field, fe.Error())
		})
	}
}
