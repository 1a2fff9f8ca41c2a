package gitlabsim

import (
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Offset pagination as GitLab writes it (https://docs.gitlab.com/api/rest/#pagination,
// gitlabhq lib/gitlab/pagination/offset_header_builder.rb@8b573c94 and
// offset_pagination.rb@028bf690).
const (
	defaultPerPage = 20
	maxPerPage     = 100
	// maxCountLimit: above this many results GitLab stops counting and drops
	// X-Total, X-Total-Pages and rel="last" (Kaminari MAX_COUNT_LIMIT).
	maxCountLimit = 10_000
	// maxOffset is offset_pagination_limit: a request for a type that has
	// keyset pagination (projects, users) with page*per_page above it gets
	// a 405.
	maxOffset = 50_000
)

// pageParams are the parsed page and per_page.
type pageParams struct {
	page    int
	perPage int
}

// parsePageParams reads page and per_page the way Grape and Kaminari treat
// them:
//   - a value that is not an integer fails Grape's Integer coercion: 400
//     {"error":"page is invalid"} (the validation-error form GitLab renders);
//   - page 0 or below is page 1 (Kaminari clamps the offset at 0);
//   - per_page 0 or below is the default 20: Kaminari ignores a negative
//     per, and per(0) would make GitLab divide by zero counting pages, so the
//     simulator answers as for a missing value rather than invent a 500;
//   - per_page above 100 is 100 (Kaminari max_per_page);
//   - a page too large for an int is served as a page far past the end.
func parsePageParams(q url.Values) (pageParams, *apiError) {
	pp := pageParams{page: 1, perPage: defaultPerPage}
	var bad []string
	if v, ok := q["page"]; ok {
		n, valid := parseIntParam(v[0])
		switch {
		case !valid:
			bad = append(bad, "page is invalid")
		case n > 0:
			pp.page = n
		}
	}
	if v, ok := q["per_page"]; ok {
		n, valid := parseIntParam(v[0])
		switch {
		case !valid:
			bad = append(bad, "per_page is invalid")
		case n > maxPerPage:
			pp.perPage = maxPerPage
		case n > 0:
			pp.perPage = n
		}
	}
	if len(bad) > 0 {
		return pp, errValidation(strings.Join(bad, ", "))
	}
	return pp, nil
}

// parseIntParam parses an integer as Grape coerces one; values beyond the
// int range saturate. An empty value counts as absent (Grape coerces "" to
// nil), reported as valid with n == 0.
func parseIntParam(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, true
	}
	neg := false
	digits := s
	if s[0] == '-' || s[0] == '+' {
		neg = s[0] == '-'
		digits = s[1:]
	}
	if digits == "" {
		return 0, false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil { // out of range: saturate
		if neg {
			return math.MinInt32, true
		}
		return math.MaxInt32, true
	}
	if n > math.MaxInt32 {
		n = math.MaxInt32
	}
	if n < math.MinInt32 {
		n = math.MinInt32
	}
	return n, true
}

// offset returns the first index of the page, saturating.
func (pp pageParams) offset() int {
	o := int64(pp.page-1) * int64(pp.perPage)
	if o > math.MaxInt32 {
		return math.MaxInt32
	}
	return int(o)
}

// offsetLimitExceeded is GitLab's offset_limit_exceeded? check, used for
// types that also have keyset pagination (projects, users).
func (pp pageParams) offsetLimitExceeded() bool {
	return int64(pp.page)*int64(pp.perPage) > maxOffset
}

// errOffsetLimit is paginate_with_strategies' refusal of an offset page
// past offset_pagination_limit for a type that has keyset pagination: 405
// under the key "error", naming the type (Project, User)
// (https://gitlab.com/gitlab-org/gitlab/-/blob/master/lib/api/helpers/pagination_strategies.rb,
// testdata/fixtures/errors/405_offset_pagination_limit.json).
func errOffsetLimit(klass string) *apiError {
	b, _ := json.Marshal(map[string]string{"error": "Offset pagination has a maximum allowed offset of " + strconv.Itoa(maxOffset) +
		" for requests that return objects of type " + klass + ". Remaining records can be retrieved using keyset pagination."})
	return &apiError{status: http.StatusMethodNotAllowed, body: string(b)}
}

// secretParams never appear in a Link header: GitLab reads tokens from them.
var secretParams = map[string]bool{"private_token": true, "access_token": true, "job_token": true}

// requestBase is the scheme and host the request came to: GitLab writes
// its configured host into Link URLs, and for the simulator that is
// whatever address it is served on (NewServer's or Handler()'s).
func requestBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// pageURL is the request URL with the query rebuilt, keys sorted as Rails
// to_query sorts them, with page and per_page set. GitLab rebuilds it from
// Grape's params, which also hold every declared parameter's default
// (order_by=created_at, simple=false, ...); the simulator keeps only what
// the request sent, which names the same pages. per_page is the effective
// (capped) value.
func pageURL(r *http.Request, base string, extra map[string]string) string {
	q := url.Values{}
	for k, v := range r.URL.Query() {
		if secretParams[k] {
			continue
		}
		q[k] = v
	}
	for k, v := range extra {
		q.Set(k, v)
	}
	return base + r.URL.EscapedPath() + "?" + q.Encode()
}

// setPageHeaders writes the offset-pagination headers for a list of total
// results, and returns the bounds of the page within it.
func setPageHeaders(w http.ResponseWriter, r *http.Request, base string, pp pageParams, total int) (start, end int) {
	start = pp.offset()
	if start > total {
		start = total
	}
	end = start + pp.perPage
	if end > total {
		end = total
	}
	// Every list here stands for a database relation, so the relation
	// threshold applies (> 10,000), not the in-memory array one (>= 10,000).
	counted := total <= maxCountLimit
	totalPages := (total + pp.perPage - 1) / pp.perPage
	if totalPages < 1 {
		totalPages = 1
	}
	hasNext := end < total && start < total
	// Kaminari's prev_page is empty on the first page and on a page past
	// the end (out_of_range?).
	hasPrev := pp.page > 1 && start < total

	h := w.Header()
	per := strconv.Itoa(pp.perPage)
	h.Set("X-Per-Page", per)
	h.Set("X-Page", strconv.Itoa(pp.page))
	next, prev := "", ""
	if hasNext {
		next = strconv.Itoa(pp.page + 1)
	}
	if hasPrev {
		prev = strconv.Itoa(pp.page - 1)
	}
	h.Set("X-Next-Page", next)
	h.Set("X-Prev-Page", prev)
	var links []string
	link := func(page int, rel string) {
		links = append(links, "<"+pageURL(r, base, map[string]string{"page": strconv.Itoa(page), "per_page": per})+`>; rel="`+rel+`"`)
	}
	if hasPrev {
		link(pp.page-1, "prev")
	}
	if hasNext {
		link(pp.page+1, "next")
	}
	link(1, "first")
	if counted {
		link(totalPages, "last")
		h.Set("X-Total", strconv.Itoa(total))
		h.Set("X-Total-Pages", strconv.Itoa(totalPages))
	}
	h.Set("Link", strings.Join(links, ", "))
	return start, end
}
