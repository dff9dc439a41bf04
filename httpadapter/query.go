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
// It reads the query as url.ParseQuery does (pairs split at "&", a ";"
// refused, names and values unescaped by url.QueryUnescape) and checks the
// names in sorted order, so the first problem named is the same whatever
// the parameters' order; FuzzQuery holds it to that reading. The pairs
// live on the stack: a list route's query costs its map and no more.
func parseQuery(rawQuery string, allowed ...string) (map[string]string, error) {
	if rawQuery == "" {
		return nil, nil
	}
	var buf [8]queryParam
	params := buf[:0]
	for rest := rawQuery; rest != ""; {
		var pair string
		pair, rest, _ = strings.Cut(rest, "&")
		if strings.Contains(pair, ";") {
			return nil, paramProblem("query", "is not a valid query string")
		}
		if pair == "" {
			continue
		}
		name, value, _ := strings.Cut(pair, "=")
		name, err := url.QueryUnescape(name)
		if err != nil {
			return nil, paramProblem("query", "is not a valid query string")
		}
		if value, err = url.QueryUnescape(value); err != nil {
			return nil, paramProblem("query", "is not a valid query string")
		}
		params = append(params, queryParam{name, value})
	}
	slices.SortStableFunc(params, func(a, b queryParam) int { return strings.Compare(a.name, b.name) })
	out := make(map[string]string, len(params))
	for i, p := range params {
		switch {
		case p.name == ParamAccessToken:
			continue
		case p.name == "":
			return nil, paramProblem("query", "has a parameter without a name")
		case !slices.Contains(allowed, p.name):
			return nil, unknownParam(clipParam(p.name))
		case i+1 < len(params) && params[i+1].name == p.name:
			return nil, paramProblem(p.name, "must be given once")
		}
		out[p.name] = p.value
	}
	return out, nil
}

// queryParam is one name=value pair of a query.
type queryParam struct{ name, value string }

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
