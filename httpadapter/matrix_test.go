package httpadapter

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
)

// column is who calls a route in the access-control matrix.
type column int

const (
	colOwner        column = iota // the owner's user token (every scope)
	colNone                       // no credentials
	colExpired                    // the owner's expired token
	colOther                      // another user's token
	colAPIKey                     // sk- key acting for the owner (X-User-Identifier)
	colAgent                      // the owner's agent key (agent scope)
	colNoScope                    // the owner's user token without scopes
	colAdminMatch                 // admin whose tag ("eu") the owner carries
	colAdminNoMatch               // admin with another tag ("us")
	numColumns
)

var columnNames = [numColumns]string{"owner", "no credentials", "expired token", "other user", "API key", "agent key", "token missing the scope", "admin with a matching tag", "admin without it"}

// credentials sets a column's credentials on r.
func (b *testBundle) credentials(r req, col column) req {
	if r.header == nil {
		r.header = map[string]string{}
	}
	switch col {
	case colOwner:
		r.token = tokOwner
	case colExpired:
		r.token = tokOwnerExpired
	case colOther:
		r.token = tokOther
	case colAPIKey:
		r.token = keyAPI
		r.header[HeaderUserIdentifier] = b.owner.Identifier
	case colAgent:
		r.token = keyAgent
	case colNoScope:
		r.token = tokOwnerNoScope
	case colAdminMatch:
		r.token = tokAdminEU
	case colAdminNoMatch:
		r.token = tokAdminUS
	}
	return r
}

// actsFor is the subject a column's data belongs to (0: none).
func (b *testBundle) actsFor(col column) int64 {
	switch col {
	case colOwner, colAPIKey, colAgent, colNoScope, colAdminMatch:
		return b.owner.ID
	case colOther, colAdminNoMatch:
		return b.other.ID
	}
	return 0
}

// matrixRow is one route: a request against the owner's data (prepared on
// a fresh bundle) and the status each column gets.
type matrixRow struct {
	pattern string
	build   func(b *testBundle) req
	want    [numColumns]int
}

// Expected statuses, in column order.
var (
	userRoute   = [numColumns]int{200, 401, 401, 200, 200, 403, 200, 403, 403}
	userObject  = [numColumns]int{200, 401, 401, 404, 200, 403, 200, 403, 403}
	adminRoute  = [numColumns]int{403, 401, 401, 403, 403, 403, 403, 200, 200}
	adminObject = [numColumns]int{403, 401, 401, 403, 403, 403, 403, 200, 404}
)

func matrixRows() []matrixRow {
	get := func(path string) func(b *testBundle) req {
		return func(b *testBundle) req { return req{method: "GET", path: path} }
	}
	jsonPost := func(path, body string) req { return req{method: "POST", path: path, body: []byte(body)} }
	return []matrixRow{
		{RouteVerificationStatus, get("/api/v2/user/verification-status"), userRoute},
		{RouteMyVerifications, get("/api/v2/my/verifications"), userRoute},
		{RouteMyVerification, func(b *testBundle) req {
			return req{method: "GET", path: fmt.Sprintf("/api/v2/my/verifications/%d", b.grants(b.owner.ID)[0].ID)}
		}, userObject},
		{RouteWizard, get("/api/v2/my/verifications/wizard"), userRoute},
		{RouteRunWizard, func(b *testBundle) req {
			uuid, front, back := b.draftWizard(b.owner.ID)
			return jsonPost("/api/v2/my/verifications", fmt.Sprintf(`{"data":{"documents":{"type":2,"files":[%q,%q]},"uuid":%q}}`, front, back, uuid))
		}, userObject},
		{RouteUpload, func(b *testBundle) req {
			body, ct := multipartBody(b.t, [][2]string{{FieldDocumentType, "passport"}, {FieldSide, "front"}}, pngBytes)
			return req{method: "POST", path: "/api/v2/my/verifications/files", body: body, ctype: ct}
		}, [numColumns]int{201, 401, 401, 201, 201, 403, 201, 403, 403}},
		{RouteAnswer, func(b *testBundle) req {
			return jsonPost("/api/v2/user/requirements/nationality", `{"answer":"DE"}`)
		}, userRoute},
		{RouteStartProviderSession, func(b *testBundle) req {
			return jsonPost("/api/v2/my/verifications/provider-sessions", `{"provider":"fake"}`)
		}, [numColumns]int{201, 401, 401, 201, 201, 403, 201, 403, 403}},
		{RoutePendingRequest, func(b *testBundle) req {
			b.submittedApplication(b.owner.ID)
			return req{method: "GET", path: "/external/api/v1/me/pending_verification_request"}
		}, [numColumns]int{200, 401, 401, 200, 403, 403, 403, 403, 403}},
		{RouteIDVerification, func(b *testBundle) req {
			b.idSession(b.owner.ID, b.clock.Now())
			return req{method: "GET", path: "/api/v1/me/natural-person/id-verification"}
		}, [numColumns]int{200, 401, 401, 200, 403, 200, 403, 403, 403}},
		{RouteIDVerificationAlias, func(b *testBundle) req {
			b.idSession(b.owner.ID, b.clock.Now())
			return req{method: "GET", path: "/api/v1/me/natural-person/id_verification"}
		}, [numColumns]int{200, 401, 401, 200, 403, 200, 403, 403, 403}},
		// Credentials never open a file: only a signed URL does (its own
		// tests cover the signature); an unsigned request is refused for all.
		{RouteFile, func(b *testBundle) req {
			s := b.idSession(b.owner.ID, b.clock.Now())
			return req{method: "GET", path: "/api/v1/files/" + s.FrontFileID}
		}, [numColumns]int{403, 403, 403, 403, 403, 403, 403, 403, 403}},
		{RouteOpenAPI, get("/openapi.json"), [numColumns]int{200, 200, 200, 200, 200, 200, 200, 200, 200}},
		{RouteVerifications, get("/api/v2/verifications"), adminRoute},
		{RouteVerification, func(b *testBundle) req {
			return req{method: "GET", path: fmt.Sprintf("/api/v2/verifications/%d", b.grants(b.owner.ID)[0].ID)}
		}, adminObject},
		{RouteApplications, func(b *testBundle) req {
			b.submittedApplication(b.owner.ID)
			return req{method: "GET", path: fmt.Sprintf("/api/v2/applications?filter[clientId]=%d", b.owner.ID)}
		}, adminRoute},
		{RouteApplication, func(b *testBundle) req {
			app := b.submittedApplication(b.owner.ID)
			return req{method: "GET", path: fmt.Sprintf("/api/v2/applications/%d", app.ID)}
		}, adminObject},
		{RouteClaimApplication, func(b *testBundle) req {
			app := b.submittedApplication(b.owner.ID)
			return req{method: "POST", path: fmt.Sprintf("/api/v2/applications/%d/claim", app.ID)}
		}, adminObject},
		{RouteReleaseApplication, func(b *testBundle) req {
			app := b.submittedApplication(b.owner.ID)
			return req{method: "POST", path: fmt.Sprintf("/api/v2/applications/%d/release", app.ID)}
		}, adminObject},
		{RouteDecideApplication, func(b *testBundle) req {
			app := b.submittedApplication(b.owner.ID)
			return jsonPost(fmt.Sprintf("/api/v2/applications/%d/decision", app.ID), `{"decision":"approved"}`)
		}, adminObject},
		{RouteSetRequirement, func(b *testBundle) req {
			return jsonPost(fmt.Sprintf("/api/v2/clients/%d/requirements/verificationFlag", b.owner.ID), `{"value":true}`)
		}, adminObject},
		{RouteReviewRequirement, func(b *testBundle) req {
			_, err := b.svc.Answer(b.ctx, b.owner.ID, "emailCode", json.RawMessage(`"123456"`))
			require.NoError(b.t, err)
			return jsonPost(fmt.Sprintf("/api/v2/clients/%d/requirements/emailCode/review", b.owner.ID), `{"decision":"approved"}`)
		}, adminObject},
		{RouteClient, func(b *testBundle) req {
			b.upload(b.owner.ID, "passport", "front")
			return req{method: "GET", path: fmt.Sprintf("/api/v2/clients/%d", b.owner.ID)}
		}, adminObject},
		{RouteTimeline, func(b *testBundle) req {
			b.submittedApplication(b.owner.ID)
			return req{method: "GET", path: fmt.Sprintf("/api/v2/clients/%d/timeline", b.owner.ID)}
		}, adminObject},
		{RouteGrantLevel, func(b *testBundle) req {
			return jsonPost(fmt.Sprintf("/api/v2/clients/%d/grants", b.owner.ID), `{"level":3,"reason":"checked by phone"}`)
		}, [numColumns]int{403, 401, 401, 403, 403, 403, 403, 201, 404}},
		{RouteResetRequirement, func(b *testBundle) req {
			return jsonPost(fmt.Sprintf("/api/v2/clients/%d/requirements/nationality/reset", b.owner.ID), `{"reopen":true}`)
		}, adminObject},
		{RouteSetTags, func(b *testBundle) req {
			return jsonPost(fmt.Sprintf("/api/v2/clients/%d/tags", b.owner.ID), `{"tags":["eu","vip"]}`)
		}, adminObject},
		{RouteLegalHold, func(b *testBundle) req {
			return jsonPost(fmt.Sprintf("/api/v2/clients/%d/legal-hold", b.owner.ID), `{"hold":true}`)
		}, adminObject},
		{RouteErase, func(b *testBundle) req {
			return jsonPost(fmt.Sprintf("/api/v2/clients/%d/erase", b.owner.ID), `{"confirm":true}`)
		}, adminObject},
		// Deliveries span every client: only admins without tag limits.
		{RouteDeadLetters, get("/api/v2/deliveries/dead"), [numColumns]int{403, 401, 401, 403, 403, 403, 403, 403, 403}},
		{RouteReplay, func(b *testBundle) req {
			return jsonPost("/api/v2/deliveries/replay", `{"eventId":"e1","sink":"log"}`)
		}, [numColumns]int{403, 401, 401, 403, 403, 403, 403, 403, 403}},
		{RouteAdminFile, func(b *testBundle) req {
			return req{method: "GET", path: "/api/v2/files/" + b.upload(b.owner.ID, "passport", "front")}
		}, adminObject},
		// Entries about both subjects name their files: a tag-scoped admin
		// must get only its own subject's.
		{RouteAudit, func(b *testBundle) req {
			for _, id := range []int64{b.owner.ID, b.other.ID} {
				_, rc, err := b.svc.OpenFile(b.ctx, verification.AdminActor(1, nil), b.upload(id, "passport", "front"))
				require.NoError(b.t, err)
				require.NoError(b.t, rc.Close())
			}
			return req{method: "GET", path: "/api/v2/audit"}
		}, adminRoute},
	}
}

// subjectMarkers lists strings that identify a subject's data: its
// external identifier, file ids, application uuids and session ids (all
// fixed-width, so none is a substring of another).
func (b *testBundle) subjectMarkers(id int64) []string {
	b.t.Helper()
	sub, err := b.store.GetSubject(b.ctx, id)
	require.NoError(b.t, err)
	out := []string{sub.Identifier}
	files, err := b.store.ListFiles(b.ctx, verification.FileFilter{SubjectID: id})
	require.NoError(b.t, err)
	for _, f := range files {
		out = append(out, f.ID)
	}
	page, err := b.store.ListApplications(b.ctx, verification.ApplicationFilter{SubjectID: id, Limit: 100})
	apps := page.Items
	require.NoError(b.t, err)
	for _, a := range apps {
		out = append(out, a.UUID)
	}
	sessions, err := b.store.ListIDSessions(b.ctx, id)
	require.NoError(b.t, err)
	for _, s := range sessions {
		out = append(out, s.ID)
	}
	return out
}

// clientIDs collects every "clientId" in a JSON document.
func clientIDs(v any, out *[]int64) {
	switch x := v.(type) {
	case map[string]any:
		for k, y := range x {
			if k == "clientId" {
				if f, ok := y.(float64); ok {
					*out = append(*out, int64(f))
				}
			}
			clientIDs(y, out)
		}
	case []any:
		for _, y := range x {
			clientIDs(y, out)
		}
	}
}

// TestAccessControlMatrix calls every registered route as every kind of
// caller, each on a fresh bundle, and checks the status and that nothing
// of a subject the caller may not see appears in the answer.
func TestAccessControlMatrix(t *testing.T) {
	t.Parallel()
	rows := matrixRows()
	byPattern := map[string]matrixRow{}
	for _, r := range rows {
		_, dup := byPattern[r.pattern]
		require.False(t, dup, "two rows for %s", r.pattern)
		byPattern[r.pattern] = r
	}
	// Every registered route has a row, and every row a route.
	b := setup(t)
	rec := &recordingRouter{}
	b.adapter.Register(rec, "")
	b.adapter.RegisterAdmin(rec, "")
	require.Len(t, rec.patterns, len(rows), "routes %v", rec.patterns)
	for _, p := range rec.patterns {
		_, ok := byPattern[p]
		require.True(t, ok, "registered route %s has no row in the access-control matrix", p)
	}

	for _, row := range rows {
		for col := column(0); col < numColumns; col++ {
			t.Run(row.pattern+"/"+columnNames[col], func(t *testing.T) {
				t.Parallel()
				b := setup(t)
				r := b.credentials(row.build(b), col)
				got := b.do(r)
				require.Equal(t, row.want[col], got.status, "%s as %s: %s", row.pattern, columnNames[col], got.body)

				// No data of a subject the caller may not see.
				sees := b.actsFor(col)
				for _, id := range []int64{b.owner.ID, b.other.ID} {
					if id == sees {
						continue
					}
					for _, m := range b.subjectMarkers(id) {
						require.NotContains(t, string(got.body), m, "%s as %s leaks subject %d", row.pattern, columnNames[col], id)
						require.NotContains(t, got.header.Get("Location"), m)
					}
				}
				if strings.HasPrefix(got.header.Get("Content-Type"), "application/json") && row.pattern != RouteOpenAPI {
					var ids []int64
					clientIDs(got.value(t), &ids)
					for _, id := range ids {
						require.Equal(t, sees, id, "%s as %s shows clientId %d", row.pattern, columnNames[col], id)
					}
				}
				if sees == 0 && got.status < 300 && row.pattern != RouteOpenAPI {
					t.Fatalf("%s answered %d without credentials", row.pattern, got.status)
				}
			})
		}
	}
}

// TestAdminWithEmptyTagsSeesNothing: AdminTags empty (not nil) matches no
// client at all.
func TestAdminWithEmptyTagsSeesNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := b.get("/api/v2/verifications", tokAdminNone)
	require.Equal(t, 200, r.status)
	require.JSONEq(t, `{"total":0,"data":[]}`, string(r.body))
	requireV2Error(t, b.get(fmt.Sprintf("/api/v2/verifications/%d", b.grants(b.owner.ID)[0].ID), tokAdminNone), 404, CodeNotFound)
	r = b.get("/api/v2/verifications", tokAdmin)
	require.EqualValues(t, 2, r.object(t)["total"], "an admin without tags sees everyone")
}
