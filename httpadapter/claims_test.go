package httpadapter

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
)

// TestClaimRoutes: claim, the queue by assignee, another admin's conflict,
// release, and one application read back.
func TestClaimRoutes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	app := b.submittedApplication(b.owner.ID)
	claim := fmt.Sprintf("/api/v2/applications/%d/claim", app.ID)

	r := b.post(claim, tokAdmin, "")
	require.Equal(t, 200, r.status, string(r.body))
	require.EqualValues(t, 7, r.object(t)["assignedTo"])
	require.NotNil(t, r.object(t)["claimTime"])

	r = b.get(fmt.Sprintf("/api/v2/applications?filter[assignee]=me&filter[clientId]=%d", b.owner.ID), tokAdmin)
	require.Equal(t, 200, r.status)
	require.EqualValues(t, 1, r.object(t)["total"])
	r = b.get(fmt.Sprintf("/api/v2/applications?filter[assignee]=unassigned&filter[clientId]=%d", b.owner.ID), tokAdmin)
	require.EqualValues(t, 0, r.object(t)["total"])
	requireV2Error(t, b.get("/api/v2/applications?filter[assignee]=bob", tokAdmin), 400, CodeInvalidRequest)

	requireV2Error(t, b.post(claim, tokAdminEU, ""), 409, CodeConflict)
	release := fmt.Sprintf("/api/v2/applications/%d/release", app.ID)
	requireV2Error(t, b.post(release, tokAdminEU, ""), 409, CodeConflict)
	requireV2Error(t, b.post(claim, tokAdminUS, ""), 404, CodeNotFound)

	r = b.post(release, tokAdmin, "")
	require.Equal(t, 200, r.status, string(r.body))
	require.Nil(t, r.object(t)["assignedTo"])
	r = b.get(fmt.Sprintf("/api/v2/applications/%d", app.ID), tokAdminEU)
	require.Equal(t, 200, r.status)
	require.EqualValues(t, app.ID, r.object(t)["id"])
	requireV2Error(t, b.get(fmt.Sprintf("/api/v2/applications/%d", app.ID), tokAdminUS), 404, CodeNotFound)
}

// TestClientRoutes: the client view, its timeline, a manual grant (reason
// required) and a requirement reset.
func TestClientRoutes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	app := b.submittedApplication(b.owner.ID)
	path := fmt.Sprintf("/api/v2/clients/%d", b.owner.ID)

	r := b.get(path, tokAdminEU)
	require.Equal(t, 200, r.status, string(r.body))
	obj := r.object(t)
	require.EqualValues(t, b.owner.ID, obj["clientId"])
	require.NotEmpty(t, obj["outstanding"])
	require.Len(t, obj["files"], len(app.Steps[0].Files), "the application's document sides")
	require.Len(t, obj["applications"], 1)
	requireV2Error(t, b.get(path, tokAdminUS), 404, verification.CodeUserDeleted)

	r = b.get(path+"/timeline", tokAdmin)
	require.Equal(t, 200, r.status, string(r.body))
	var kinds []string
	for _, e := range r.object(t)["data"].([]any) {
		kinds = append(kinds, e.(map[string]any)["kind"].(string)+":"+e.(map[string]any)["what"].(string))
	}
	require.Contains(t, kinds, "application:submitted")
	require.Contains(t, kinds, "grant:granted")

	requireV2Error(t, b.post(path+"/grants", tokAdmin, `{"level":3}`), 400, CodeInvalidRequest)
	r = b.post(path+"/grants", tokAdmin, `{"level":3,"reason":"checked by phone"}`)
	require.Equal(t, 201, r.status, string(r.body))
	require.Equal(t, "checked by phone", r.object(t)["reason"].(map[string]any)["name"])
	require.EqualValues(t, 7, r.object(t)["userId"])

	r = b.post(path+"/requirements/nationality/reset", tokAdmin, `{"reopen":true}`)
	require.Equal(t, 200, r.status, string(r.body))
	require.Equal(t, "missing", r.object(t)["status"])
	requireV2Error(t, b.post(path+"/requirements/nope/reset", tokAdmin, `{}`), 404, CodeNotFound)
}

// TestClientFlagRoutes: tags, legal hold, erase (refused under hold), dead
// letters for unscoped admins only.
func TestClientFlagRoutes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	path := fmt.Sprintf("/api/v2/clients/%d", b.owner.ID)
	r := b.post(path+"/tags", tokAdmin, `{"tags":["eu","vip"]}`)
	require.Equal(t, 200, r.status, string(r.body))
	require.Equal(t, []any{"eu", "vip"}, r.object(t)["tags"])
	r = b.post(path+"/legal-hold", tokAdmin, `{"hold":true}`)
	require.Equal(t, true, r.object(t)["legalHold"])
	requireV2Error(t, b.post(path+"/legal-hold", tokAdmin, `{}`), 400, CodeInvalidRequest)
	requireV2Error(t, b.post(path+"/erase", tokAdmin, `{"confirm":true}`), 409, CodeConflict)
	b.post(path+"/legal-hold", tokAdmin, `{"hold":false}`)
	requireV2Error(t, b.post(path+"/erase", tokAdmin, `{"confirm":false}`), 400, CodeInvalidRequest)
	r = b.post(path+"/erase", tokAdmin, `{"confirm":true}`)
	require.Equal(t, 200, r.status, string(r.body))
	require.Equal(t, true, r.object(t)["erased"])

	r = b.get("/api/v2/deliveries/dead", tokAdmin)
	require.Equal(t, 200, r.status, string(r.body))
	require.EqualValues(t, 0, r.object(t)["total"])
	requireV2Error(t, b.post("/api/v2/deliveries/replay", tokAdmin, `{"eventId":"e1","sink":"log"}`), 404, CodeNotFound)
}
