package httpadapter

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
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
