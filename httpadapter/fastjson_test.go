package httpadapter

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/verification"
)

// weirdStrings are strings whose JSON escaping differs from the plain
// bytes: quotes, backslashes, control characters, HTML, non-ASCII, the
// line separators and invalid UTF-8.
var weirdStrings = []string{"", "plain", `q"uote`, `back\slash`, "ctl\x00\x01\x1f", "\b\f\n\r\t", "<html>&amp;", "héllo ✓", "\u2028\u2029", "bad\xff\xfeutf8", "\xed\xa0\x80"}

func TestAppendOutstandingMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res, err := b.svc.Status(b.ctx, b.owner.ID, 0)
	require.NoError(t, err)
	items := append([]levels.Outstanding{}, res.Outstanding...)
	for _, s := range weirdStrings {
		items = append(items, levels.Outstanding{Name: s, Type: levels.AnswerType(s), Status: levels.Status(s)})
		got := appendJSONString(nil, s)
		want, err := marshal(s)
		require.NoError(t, err)
		require.Equal(t, string(want), string(got), "%q", s)
	}
	for _, list := range [][]levels.Outstanding{items, {}, res.Outstanding} {
		want, err := marshal(list)
		require.NoError(t, err)
		require.Equal(t, string(want), string(appendOutstanding(nil, list)))
	}
}

func TestAppendGrantListMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	east := time.FixedZone("east", 5*3600+30*60)
	grants := []verification.Grant{
		{ID: 1, SubjectID: 7, Level: verification.LevelRef{ID: 1, Name: "Level 0"}, Reason: "created",
			CreatedAt: time.Date(2026, 12, 3, 9, 38, 10, 0, time.UTC)},
		{ID: 1 << 40, SubjectID: 1<<53 + 1, Level: verification.LevelRef{ID: 3, Name: "Level 2"},
			Previous: &verification.LevelRef{ID: 2, Name: "Level 1"}, Reason: "Review: verificationFlag", AdminID: 11,
			CreatedAt: time.Date(1999, 1, 2, 3, 4, 5, 999999999, east)},
		{ID: 3, SubjectID: 7, Level: verification.LevelRef{ID: -1}, Previous: &verification.LevelRef{}, AdminID: -5},
	}
	for _, s := range weirdStrings {
		grants = append(grants, verification.Grant{ID: 9, SubjectID: 9, Level: verification.LevelRef{ID: 2, Name: s},
			Previous: &verification.LevelRef{ID: 1, Name: s}, Reason: s, CreatedAt: time.Unix(1<<31, 0)})
	}
	for _, page := range [][]verification.Grant{grants, grants[:1], {}, nil} {
		want := listJSON[grantJSON]{Total: len(page) + 40, Data: []grantJSON{}}
		for _, g := range page {
			want.Data = append(want.Data, toGrantJSON(g))
		}
		b, err := marshal(want)
		require.NoError(t, err)
		require.Equal(t, string(b), string(appendGrantList(nil, want.Total, page)))
	}
}

func TestAppendPendingMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	items := []pendingItem{
		{AccountID: "acct-1", Status: "no_request"},
		{AccountID: "acct-2", Status: "verified", Verified: true},
		{ID: "36f59381-5b54-48bd-a0c7-3b908c476732", AccountID: "acct-3", Status: "pending",
			ExpiresAt: "2026-12-10 09:00:00 UTC", CreatedAt: "2026-12-03 09:00:00 UTC"},
		{ID: "only-id", ExpiresAt: "only-expiry"},
		{CreatedAt: "only-creation", Verified: true},
	}
	for _, s := range weirdStrings {
		items = append(items, pendingItem{ID: s, AccountID: s, Status: s, ExpiresAt: s, CreatedAt: s})
	}
	for _, item := range items {
		want, err := marshal(struct {
			Item pendingItem `json:"item"`
		}{item})
		require.NoError(t, err)
		require.Equal(t, string(want), string(appendPending(nil, item)), "%+v", item)
	}
}

func TestAppendWizardMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	types := []documentTypeJSON{
		toDocumentTypeJSON(documents.Type{ID: 2, Description: "Passport", Enabled: true}),
		{ID: 3, Description: "ID card", Example: "https://example.com/id.png", Group: map[string]string{"z": "last", "a": "first", "m": "middle", "A": "upper"}},
		{ID: 4, Group: nil},
	}
	cases := []wizardJSON[wizardTypes]{
		{Code: 200, Done: true, Workflow: "done"},
		{Code: 200, Data: &wizardTypes{Types: types}, UUID: "01a23e9f-856d-7438-8cbb-a0d44d257b90", Workflow: `B2B\TCA\Wizards\Workflow\DocumentsWorkflow`},
		{Code: -1, Data: &wizardTypes{Types: []documentTypeJSON{}}},
		{Code: 0, Data: &wizardTypes{}},
	}
	for _, s := range weirdStrings {
		cases = append(cases, wizardJSON[wizardTypes]{Code: 7, UUID: s, Workflow: s, Data: &wizardTypes{Types: []documentTypeJSON{
			{ID: 1, Description: s, Example: s, Group: map[string]string{s: s, s + "x": "y"}},
		}}})
	}
	for _, w := range cases {
		want, err := marshal(w)
		require.NoError(t, err)
		require.Equal(t, string(want), string(appendWizard(nil, w)), "%+v", w)
	}
}
