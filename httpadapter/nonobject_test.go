package httpadapter

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/verification"
	"github.com/openkyc/kyc/verification/verificationtest"
)

// TestNonObjectBodiesAreRefused: every route that takes a JSON body refuses
// null, arrays, strings, numbers and booleans with 400 in its dialect, and
// writes nothing. A null body once read as {} on the admin set-requirement
// route, which approved the requirement and granted a level.
func TestNonObjectBodiesAreRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	app := b.submittedApplication(b.other.ID)
	pending := verificationtest.CreateSubject(t, b.svc, "eu")
	_, err := b.svc.Answer(b.ctx, pending.ID, "emailCode", json.RawMessage(`"123456"`))
	require.NoError(t, err)

	// The path and token of each route that takes a JSON body.
	calls := map[string]struct{ path, token string }{
		RouteRunWizard:            {"/api/v2/my/verifications", tokOwner},
		RouteAnswer:               {"/api/v2/user/requirements/isBusiness", tokOwner},
		RouteDecideApplication:    {fmt.Sprintf("/api/v2/applications/%d/decision", app.ID), tokAdmin},
		RouteSetRequirement:       {fmt.Sprintf("/api/v2/clients/%d/requirements/verificationFlag", b.owner.ID), tokAdmin},
		RouteReviewRequirement:    {fmt.Sprintf("/api/v2/clients/%d/requirements/emailCode/review", pending.ID), tokAdmin},
		RouteStartProviderSession: {"/api/v2/my/verifications/provider-sessions", tokOwner},
		RouteGrantLevel:           {fmt.Sprintf("/api/v2/clients/%d/grants", b.owner.ID), tokAdmin},
		RouteSetTags:              {fmt.Sprintf("/api/v2/clients/%d/tags", b.owner.ID), tokAdmin},
		RouteLegalHold:            {fmt.Sprintf("/api/v2/clients/%d/legal-hold", b.owner.ID), tokAdmin},
		RouteErase:                {fmt.Sprintf("/api/v2/clients/%d/erase", b.owner.ID), tokAdmin},
		RouteReplay:               {"/api/v2/deliveries/replay", tokAdmin},
		RouteResetRequirement:     {fmt.Sprintf("/api/v2/clients/%d/requirements/nationality/reset", b.owner.ID), tokAdmin},
	}
	var routes []route
	for _, rt := range append(b.adapter.publicRoutes(), b.adapter.adminRoutes()...) {
		if method, _ := rt.split(); method == "POST" && rt.pattern != RouteUpload && rt.pattern != RouteClaimApplication && rt.pattern != RouteReleaseApplication { // claim and release take no body
			routes = append(routes, rt)
		}
	}
	require.Len(t, routes, len(calls), "every POST route with a JSON body is listed here")

	subjects := []int64{b.owner.ID, b.other.ID, pending.ID}
	// snapshot is every record a refused request could have written.
	snapshot := func() (int, [][]verification.Grant, [][]verification.RequirementState) {
		evs, err := b.store.ListEvents(b.ctx, verification.EventFilter{})
		require.NoError(t, err)
		var grants [][]verification.Grant
		var states [][]verification.RequirementState
		for _, id := range subjects {
			st, err := b.store.ListRequirementStates(b.ctx, id)
			require.NoError(t, err)
			grants, states = append(grants, b.grants(id)), append(states, st)
		}
		return len(evs), grants, states
	}
	events, grants, states := snapshot()

	for _, rt := range routes {
		call, ok := calls[rt.pattern]
		require.True(t, ok, "no test call for %s", rt.pattern)
		for _, body := range []string{`null`, ` null `, "\tnull\n", `[]`, `[{"decision":"approved","value":true}]`, `"approved"`, `1`, `0`, `true`, `false`} {
			t.Run(rt.pattern+" "+strings.TrimSpace(body), func(t *testing.T) {
				r := b.post(call.path, call.token, body)
				require.Equal(t, rt.family, familyV2, "the JSON routes are all in the v2 dialect")
				requireParam(t, r, "body")
				require.Contains(t, errorMessage(t, r, CodeInvalidRequest), "JSON object", string(r.body))
			})
		}
	}
	gotEvents, gotGrants, gotStates := snapshot()
	require.Equal(t, events, gotEvents, "refused bodies emit no event")
	require.Equal(t, grants, gotGrants, "refused bodies grant no level")
	require.Equal(t, states, gotStates, "refused bodies change no requirement")
	_, err = b.store.GetRequirementState(b.ctx, b.owner.ID, "verificationFlag")
	require.ErrorIs(t, err, verification.ErrNotFound, "verificationFlag was never set")
	got, err := b.svc.Application(b.ctx, verification.HostActor(), app.ID)
	require.NoError(t, err)
	require.Equal(t, app.Status, got.Status, "refused bodies decide no application")
}
