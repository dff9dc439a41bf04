package httpadapter

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
)

// exportAudit GETs the export with query q and Accept accept.
func (b *testBundle) exportAudit(token, query, accept string) resp {
	b.t.Helper()
	r := req{method: "GET", path: "/api/v2/audit", token: token, header: map[string]string{}}
	if query != "" {
		r.path += "?" + query
	}
	if accept != "" {
		r.header["Accept"] = accept
	}
	return b.do(r)
}

// ndjsonEntries decodes an NDJSON export, checks every line against the
// OpenAPI AuditEntry schema and rebuilds the entries.
func ndjsonEntries(t *testing.T, r resp) []verification.AuditEntry {
	t.Helper()
	require.Equal(t, 200, r.status, "%s", r.body)
	require.Equal(t, mediaNDJSON, r.header.Get("Content-Type"))
	var out []verification.AuditEntry
	sc := bufio.NewScanner(bytes.NewReader(r.body))
	for sc.Scan() {
		// The line has exactly the fields of the OpenAPI AuditEntry.
		var fields map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(sc.Bytes(), &fields), "line %q", sc.Text())
		require.ElementsMatch(t, []string{"seq", "at", "actor", "action", "clientId", "entity", "entityId", "summary", "prevHash", "hash"}, slices.Collect(maps.Keys(fields)), "line %q", sc.Text())
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.UseNumber()
		var v any
		require.NoError(t, dec.Decode(&v), "line %q", sc.Text())
		// The schema check of each line lives with the other OpenAPI
		// validations in contrib/openapitest; here every field must be known.
		var j auditJSON
		strict := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		strict.DisallowUnknownFields()
		require.NoError(t, strict.Decode(&j), "line %q", sc.Text())
		at, err := time.Parse(time.RFC3339Nano, j.At)
		require.NoError(t, err)
		e := verification.AuditEntry{Seq: j.Seq, At: at, Actor: verification.Actor{Kind: verification.ActorKind(j.Actor.Kind), ID: j.Actor.ID},
			Action: verification.AuditAction(j.Action), SubjectID: j.ClientID, Entity: j.Entity, EntityID: j.EntityID, PrevHash: j.PrevHash, Hash: j.Hash}
		if len(j.Summary) > 0 {
			e.Summary = j.Summary
		}
		out = append(out, e)
	}
	require.NoError(t, sc.Err())
	return out
}

func seqsOf(es []verification.AuditEntry) []int64 {
	out := []int64{}
	for _, e := range es {
		out = append(out, e.Seq)
	}
	return out
}

// TestAuditExport exports the trail in both formats, checks that an
// auditor can verify the chain from the export alone, and checks the tag
// scope and every filter.
func TestAuditExport(t *testing.T) {
	t.Parallel()
	b := setup(t)
	root := verification.AdminActor(1, nil)
	_, err := b.svc.SetLegalHold(b.ctx, root, b.owner.ID, true) // seq 1
	require.NoError(t, err)
	b.clock.Advance(time.Hour)
	_, err = b.svc.SetLegalHold(b.ctx, verification.AdminActor(2, nil), b.other.ID, true) // seq 2
	require.NoError(t, err)
	b.clock.Advance(time.Hour)
	file := b.upload(b.owner.ID, "passport", "front")
	head := b.do(req{method: "HEAD", path: "/api/v2/files/" + file, token: tokAdmin})
	require.Equal(t, 200, head.status)
	got := b.get("/api/v2/files/"+file, tokAdmin) // seq 3: a view through the admin route
	require.Equal(t, 200, got.status)

	all := ndjsonEntries(t, b.exportAudit(tokAdmin, "", ""))
	require.Equal(t, []int64{1, 2, 3}, seqsOf(all), "two holds and one view (HEAD reads no bytes)")
	prev := ""
	for _, e := range all {
		require.Equal(t, prev, e.PrevHash, "entry %d links to its predecessor", e.Seq)
		require.Equal(t, e.ComputeHash(), e.Hash, "entry %d verifies from the export alone", e.Seq)
		prev = e.Hash
	}
	view := all[2]
	require.Equal(t, verification.AuditDocumentViewed, view.Action)
	require.Equal(t, verification.Actor{Kind: verification.ActorAdmin, ID: "7"}, view.Actor, "the admin of the token")
	require.Equal(t, file, view.EntityID)
	require.Equal(t, all, ndjsonEntries(t, b.exportAudit(tokAdmin, "", "application/x-ndjson")))
	require.Equal(t, all, ndjsonEntries(t, b.exportAudit(tokAdmin, "", "*/*")))

	// CSV.
	r := b.exportAudit(tokAdmin, "", "text/csv")
	require.Equal(t, 200, r.status)
	require.Equal(t, "text/csv; charset=utf-8", r.header.Get("Content-Type"))
	rows, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 4)
	require.Equal(t, csvHeader, rows[0])
	for i, row := range rows[1:] {
		e := all[i]
		require.Equal(t, []string{strconv.FormatInt(e.Seq, 10), e.At.Format(time.RFC3339Nano), string(e.Actor.Kind), e.Actor.ID, string(e.Action),
			strconv.FormatInt(e.SubjectID, 10), e.Entity, e.EntityID, mustJSON(t, e.Summary), e.PrevHash, e.Hash}, row)
	}
	require.Equal(t, r.body, b.exportAudit(tokAdmin, "", "application/x-ndjson;q=0.5, text/csv").body, "the preferred type wins")

	// Scope: an admin with tags sees its subjects' entries only.
	require.Equal(t, []int64{1, 3}, seqsOf(ndjsonEntries(t, b.exportAudit(tokAdminEU, "", ""))))
	require.Equal(t, []int64{2}, seqsOf(ndjsonEntries(t, b.exportAudit(tokAdminUS, "", ""))))
	require.Equal(t, []int64{}, seqsOf(ndjsonEntries(t, b.exportAudit(tokAdminNone, "", ""))))
	require.Equal(t, []int64{}, seqsOf(ndjsonEntries(t, b.exportAudit(tokAdminEU, fmt.Sprintf("filter[clientId]=%d", b.other.ID), ""))))

	// Filters.
	since := url.QueryEscape(all[1].At.Format(time.RFC3339))
	for q, want := range map[string][]int64{
		fmt.Sprintf("filter[clientId]=%d", b.owner.ID):             {1, 3},
		fmt.Sprintf("filter%%5BclientId%%5D=%d", b.other.ID):       {2},
		"filter[actor]=admin:2":                                    {2},
		"filter[actor]=admin":                                      {1, 2, 3},
		"filter[actor]=host":                                       {},
		"filter[action]=document.viewed":                           {3},
		"filter[since]=" + since:                                   {2, 3},
		"filter[until]=" + since:                                   {1},
		"filter[since]=" + since + "&filter[action]=subject.hold":  {2},
		"filter[until]=" + url.QueryEscape("2099-01-01T00:00:00Z"): {1, 2, 3},
	} {
		require.Equal(t, want, seqsOf(ndjsonEntries(t, b.exportAudit(tokAdmin, q, ""))), q)
	}
}

func mustJSON(t *testing.T, v map[string]string) string {
	t.Helper()
	if v == nil {
		return "{}"
	}
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// TestAuditExportRefusesBadParameters: every bad filter is a 400 in the v2
// dialect, naming the parameter, before any byte of the export.
func TestAuditExportRefusesBadParameters(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, err := b.svc.SetLegalHold(b.ctx, verification.AdminActor(1, nil), b.owner.ID, true)
	require.NoError(t, err)
	for _, q := range []string{
		"limit=10",
		"filter[clientId]=0",
		"filter[clientId]=x",
		"filter[actor]=robot",
		"filter[actor]=admin:x",
		"filter[actor]=admin:0",
		"filter[actor]=host:1",
		"filter[action]=subject.renamed",
		"filter[since]=yesterday",
		"filter[until]=2024-01-15",
		"filter[since]=2024-01-15T12:00:00Z&filter[until]=2024-01-15T12:00:00Z",
		"filter[action]=subject.hold&filter[action]=subject.hold",
	} {
		r := b.exportAudit(tokAdmin, q, "")
		requireV2Error(t, r, 400, CodeInvalidRequest)
	}
}
