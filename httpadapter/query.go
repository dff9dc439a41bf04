package httpadapter

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// List parameters (the verification history and admin history routes).
const (
	// DefaultLimit is the page size when limit is absent.
	DefaultLimit = 10
	// MaxLimit is the largest limit accepted.
	MaxLimit = 100
)

// Query parameter names.
const (
	paramLimit     = "limit"
	paramOffset    = "offset"
	paramSortOrder = "sort_order"
	paramSortBy    = "sort_by"
	paramClientID  = "filter[clientId]"
	paramStatus    = "filter[status]"
	paramAssignee  = "filter[assignee]"
)

// parseQuery parses the raw query strictly: a malformed query, a parameter
// outside allowed, or an allowed one given twice is refused, naming it.
// ParamAccessToken is an authentication method, not a parameter, and is
// skipped. Brackets may be raw or percent-encoded (filter%5BclientId%5D).
func parseQuery(rawQuery string, allowed ...string) (map[string]string, error) {
	if rawQuery == "" {
		return nil, nil
	}
	vals, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, paramProblem("query", "is not a valid query string")
	}
	names := make([]string, 0, len(vals))
	for k := range vals {
		names = append(names, k)
	}
	slices.Sort(names)
	out := make(map[string]string, len(vals))
	for _, k := range names {
		if k == ParamAccessToken {
			continue
		}
		if k == "" {
			return nil, paramProblem("query", "has a parameter without a name")
		}
		if !slices.Contains(allowed, k) {
			return nil, unknownParam(clipParam(k))
		}
		if len(vals[k]) > 1 {
			return nil, paramProblem(k, "must be given once")
		}
		out[k] = vals[k][0]
	}
	return out, nil
}

// clipParam bounds a client-supplied parameter name quoted back to it.
func clipParam(s string) string {
	const limit = 64
	if len(s) > limit {
		s = s[:limit] + "..."
	}
	return strings.ToValidUTF8(s, "?")
}

// parseInt parses a canonical decimal integer in [lo, hi].
func parseInt(name, v string, lo, hi int64) (int64, error) {
	if v == "" || len(v) > 19 {
		return 0, paramProblem(name, "must be an integer between %d and %d", lo, hi)
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, paramProblem(name, "must be an integer between %d and %d", lo, hi)
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, paramProblem(name, "must be an integer between %d and %d", lo, hi)
	}
	return n, nil
}

// parseID parses a path or filter id: a positive 64-bit integer.
func parseID(name, v string) (int64, error) {
	return parseInt(name, v, 1, 1<<63-1)
}

// listParams are the list parameters of the verification history and admin history routes.
type listParams struct {
	limit, offset int
	desc          bool
}

// maxOffset bounds offsets far beyond any realistic history.
const maxOffset = 1 << 40

// parseList reads limit (1-100, default 10), offset (>= 0, default 0),
// sort_order (asc | desc, default desc) and sort_by (createTime only).
func parseList(q map[string]string) (listParams, error) {
	lp := listParams{limit: DefaultLimit, desc: true}
	if v, ok := q[paramLimit]; ok {
		n, err := parseInt(paramLimit, v, 1, MaxLimit)
		if err != nil {
			return lp, err
		}
		lp.limit = int(n)
	}
	if v, ok := q[paramOffset]; ok {
		n, err := parseInt(paramOffset, v, 0, maxOffset)
		if err != nil {
			return lp, err
		}
		lp.offset = int(n)
	}
	if v, ok := q[paramSortOrder]; ok {
		switch v {
		case "asc":
			lp.desc = false
		case "desc":
		default:
			return lp, paramProblem(paramSortOrder, "must be asc or desc")
		}
	}
	if v, ok := q[paramSortBy]; ok && v != "createTime" {
		return lp, paramProblem(paramSortBy, "must be createTime")
	}
	return lp, nil
}

var (
	listParamNames      = []string{paramLimit, paramOffset, paramSortOrder, paramSortBy}
	adminListParamNames = []string{paramLimit, paramOffset, paramSortOrder, paramSortBy, paramClientID}
)
