package console_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestRouteMatrix: every console route x every kind of principal, each on
// a fresh bundle (the eu case). Columns: no credentials, a user token, an
// admin whose tag the case carries, an admin without it, an admin without
// tag limits.
func TestRouteMatrix(t *testing.T) {
	t.Parallel()
	tokens := []string{"", tokUser, tokAdminEU, tokAdminUS, tokAdmin}
	type row struct {
		name   string
		method string
		path   func(b *testBundle) string
		form   url.Values
		want   [5]int
	}
	var (
		page     = [5]int{401, 403, 200, 404, 200}
		action   = [5]int{401, 403, 303, 404, 303}
		confirm  = [5]int{401, 403, 200, 404, 200}
		operator = [5]int{401, 403, 403, 403, 200}
	)
	yes := func(kv ...string) url.Values {
		v := url.Values{"confirm": {"yes"}}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	rows := []row{
		{"queue", http.MethodGet, func(*testBundle) string { return "/console/" }, nil, [5]int{401, 403, 200, 200, 200}},
		{"claim next", http.MethodPost, func(*testBundle) string { return "/console/claim-next" }, url.Values{}, [5]int{401, 403, 303, 303, 303}},
		{"application", http.MethodGet, func(b *testBundle) string { return fmt.Sprintf("/console/applications/%d", b.euApp.ID) }, nil, page},
		{"claim", http.MethodPost, func(b *testBundle) string { return fmt.Sprintf("/console/applications/%d/claim", b.euApp.ID) }, url.Values{}, action},
		{"release", http.MethodPost, func(b *testBundle) string { return fmt.Sprintf("/console/applications/%d/release", b.euApp.ID) }, url.Values{}, action},
		{"decision (asks)", http.MethodPost, func(b *testBundle) string { return fmt.Sprintf("/console/applications/%d/decision", b.euApp.ID) }, url.Values{"decision": {"rejected"}, "reason": {"expired"}}, confirm},
		{"decision", http.MethodPost, func(b *testBundle) string { return fmt.Sprintf("/console/applications/%d/decision", b.euApp.ID) }, yes("decision", "rejected", "reason", "expired"), action},
		{"client", http.MethodGet, func(b *testBundle) string { return fmt.Sprintf("/console/clients/%d", b.eu.ID) }, nil, page},
		{"grant", http.MethodPost, func(b *testBundle) string { return fmt.Sprintf("/console/clients/%d/grant", b.eu.ID) }, yes("level", "3", "reason", "manual"), action},
		{"reset", http.MethodPost, func(b *testBundle) string {
			return fmt.Sprintf("/console/clients/%d/requirements/nationality/reset", b.eu.ID)
		}, yes(), action},
		{"tags", http.MethodPost, func(b *testBundle) string { return fmt.Sprintf("/console/clients/%d/tags", b.eu.ID) }, yes("tags", "eu, vip"), action},
		{"hold", http.MethodPost, func(b *testBundle) string { return fmt.Sprintf("/console/clients/%d/hold", b.eu.ID) }, yes("hold", "on"), action},
		{"erase", http.MethodPost, func(b *testBundle) string { return fmt.Sprintf("/console/clients/%d/erase", b.eu.ID) }, yes(), action},
		{"review file", http.MethodPost, func(b *testBundle) string { return "/console/files/" + b.front.ID + "/review" }, yes("decision", "approved"), action},
		{"file (unsigned)", http.MethodGet, func(b *testBundle) string { return "/console/files/" + b.front.ID }, nil, [5]int{401, 403, 404, 404, 404}},
		{"deliveries", http.MethodGet, func(*testBundle) string { return "/console/deliveries" }, nil, operator},
		{"replay", http.MethodPost, func(*testBundle) string { return "/console/deliveries/replay" }, yes("event", "e", "sink", "log"), [5]int{401, 403, 403, 403, 404}},
	}
	for _, r := range rows {
		for col, tok := range tokens {
			b := setup(t)
			res := b.do(t, tok, r.method, r.path(b), r.form)
			assert.Equal(t, r.want[col], res.StatusCode, "%s as %q", r.name, tok)
			assert.Equal(t, "no-store", res.Header.Get("Cache-Control"), "%s as %q", r.name, tok)
		}
	}
}
