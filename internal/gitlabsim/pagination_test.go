package gitlabsim

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

const tokBulkAdmin = "glpat-test-bulk-admin-0000"

// bulkWorld has an administrator (token ID 1) and n-1 more tokens of user 2,
// plus projects projects.
func bulkWorld(nTokens, nProjects int) *World {
	w := &World{Now: testNow, Version: "18.5.1-ee"}
	w.Users = []*User{
		{ID: 1, Username: "root", State: "active", Admin: true, UserType: UserTypeHuman, CreatedAt: testNow},
		{ID: 2, Username: "many", State: "active", UserType: UserTypeHuman, CreatedAt: testNow},
	}
	w.Tokens = make([]*PersonalAccessToken, 0, nTokens)
	w.Tokens = append(w.Tokens, &PersonalAccessToken{ID: 1, UserID: 1, Name: "admin", Scopes: []string{"api"}, CreatedAt: testNow, Value: tokBulkAdmin})
	for i := 2; i <= nTokens; i++ {
		w.Tokens = append(w.Tokens, &PersonalAccessToken{ID: int64(i), UserID: 2, Name: fmt.Sprintf("t%d", i), Scopes: []string{"read_api"}, CreatedAt: testNow})
	}
	w.Groups = []*Group{{ID: 1, Name: "g", Path: "g", Visibility: "private", CreatedAt: testNow}}
	for i := 1; i <= nProjects; i++ {
		w.Projects = append(w.Projects, &Project{ID: int64(i), Name: fmt.Sprintf("p%d", i), Path: fmt.Sprintf("p%d", i), GroupID: 1,
			Visibility: "private", CreatedAt: testNow, LastActivityAt: testNow})
	}
	return w
}

// linkRels parses a Link header into its rels, in order, and their URLs.
func linkRels(t *testing.T, h string) (rels []string, urls map[string]*url.URL) {
	t.Helper()
	urls = map[string]*url.URL{}
	if h == "" {
		return nil, urls
	}
	for _, part := range strings.Split(h, ", ") {
		u, rel, ok := strings.Cut(part, "; ")
		if !ok || !strings.HasPrefix(u, "<") || !strings.HasSuffix(u, ">") {
			t.Fatalf("malformed Link part %q", part)
		}
		parsed, err := url.Parse(strings.Trim(u, "<>"))
		if err != nil {
			t.Fatalf("Link URL %q: %v", u, err)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(rel, `rel="`), `"`)
		rels = append(rels, name)
		urls[name] = parsed
	}
	return rels, urls
}

func TestPaginationHeaders(t *testing.T) {
	s := NewServer(bulkWorld(45, 0), Options{}) // 45 tokens
	defer s.Close()
	cases := []struct {
		query             string
		items             int
		perPage, page     string
		next, prev        string
		total, totalPages string
		rels              string
		firstItem         int64
	}{
		{"", 20, "20", "1", "2", "", "45", "3", "next,first,last", 1},
		{"?page=2", 20, "20", "2", "3", "1", "45", "3", "prev,next,first,last", 21},
		{"?page=3", 5, "20", "3", "", "2", "45", "3", "prev,first,last", 41},
		{"?per_page=100", 45, "100", "1", "", "", "45", "1", "first,last", 1},
		{"?per_page=1000", 45, "100", "1", "", "", "45", "1", "first,last", 1}, // capped at 100
		{"?per_page=10&page=5", 5, "10", "5", "", "4", "45", "5", "prev,first,last", 41},
		{"?page=9", 0, "20", "9", "", "", "45", "3", "first,last", 0},                             // past the end: [] and no prev
		{"?per_page=0", 20, "20", "1", "2", "", "45", "3", "next,first,last", 1},                  // 0: default
		{"?per_page=-3", 20, "20", "1", "2", "", "45", "3", "next,first,last", 1},                 // negative: default
		{"?page=0", 20, "20", "1", "2", "", "45", "3", "next,first,last", 1},                      // page 0 is page 1
		{"?page=-1", 20, "20", "1", "2", "", "45", "3", "next,first,last", 1},                     // so is -1
		{"?page=99999999999999999999", 0, "20", "2147483647", "", "", "45", "3", "first,last", 0}, // huge: empty
		{"?state=inactive", 0, "20", "1", "", "", "0", "1", "first,last", 0},                      // empty: X-Total-Pages 1
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			r := doGet(t, s, tokBulkAdmin, "/personal_access_tokens"+tc.query)
			if r.status != 200 {
				t.Fatalf("status %d body %s", r.status, r.body)
			}
			items := decodeList(t, r)
			if len(items) != tc.items {
				t.Errorf("%d items, want %d", len(items), tc.items)
			}
			if tc.items > 0 && jsonIDs(items)[0] != tc.firstItem {
				t.Errorf("first item %d, want %d", jsonIDs(items)[0], tc.firstItem)
			}
			for name, want := range map[string]string{"X-Per-Page": tc.perPage, "X-Page": tc.page, "X-Next-Page": tc.next,
				"X-Prev-Page": tc.prev, "X-Total": tc.total, "X-Total-Pages": tc.totalPages} {
				vals, present := r.header[http.CanonicalHeaderKey(name)]
				if !present {
					t.Errorf("%s absent, want %q", name, want)
				} else if vals[0] != want {
					t.Errorf("%s = %q, want %q", name, vals[0], want)
				}
			}
			rels, urls := linkRels(t, r.header.Get("Link"))
			if strings.Join(rels, ",") != tc.rels {
				t.Errorf("Link rels %v, want %s", rels, tc.rels)
			}
			for rel, u := range urls {
				q := u.Query()
				if u.Host != strings.TrimPrefix(s.URL(), "http://") || u.Path != "/api/v4/personal_access_tokens" {
					t.Errorf("rel=%s URL %s: wrong host or path", rel, u)
				}
				if q.Get("per_page") != tc.perPage {
					t.Errorf("rel=%s per_page=%s, want %s", rel, q.Get("per_page"), tc.perPage)
				}
				keys := strings.Split(u.RawQuery, "&")
				for i := 1; i < len(keys); i++ {
					if keys[i-1] > keys[i] {
						t.Errorf("rel=%s query %q not sorted", rel, u.RawQuery)
					}
				}
			}
			if u := urls["first"]; u != nil && u.Query().Get("page") != "1" {
				t.Errorf("rel=first page=%s", u.Query().Get("page"))
			}
			if u := urls["last"]; u != nil && u.Query().Get("page") != tc.totalPages {
				t.Errorf("rel=last page=%s, want %s", u.Query().Get("page"), tc.totalPages)
			}
		})
	}
}

func TestLinkKeepsFiltersDropsSecrets(t *testing.T) {
	s := NewServer(bulkWorld(45, 0), Options{})
	defer s.Close()
	r := doGet(t, s, "", "/personal_access_tokens?private_token="+tokBulkAdmin+"&user_id=2&search=t")
	if r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	_, urls := linkRels(t, r.header.Get("Link"))
	next := urls["next"]
	if next == nil {
		t.Fatal("no rel=next")
	}
	if strings.Contains(r.header.Get("Link"), "private_token") {
		t.Error("Link header carries the private_token parameter")
	}
	if next.Query().Get("user_id") != "2" || next.Query().Get("search") != "t" || next.Query().Get("page") != "2" {
		t.Errorf("rel=next query %q lost the filters", next.RawQuery)
	}
}

func TestCountSuppressionAbove10000(t *testing.T) {
	for _, tc := range []struct {
		tokens  int
		counted bool
	}{{10_000, true}, {10_001, false}} {
		s := NewServer(bulkWorld(tc.tokens, 0), Options{})
		r := doGet(t, s, tokBulkAdmin, "/personal_access_tokens?per_page=100&page=2")
		s.Close()
		if r.status != 200 {
			t.Fatalf("%d tokens: status %d", tc.tokens, r.status)
		}
		_, hasTotal := r.header["X-Total"]
		_, hasPages := r.header["X-Total-Pages"]
		rels, _ := linkRels(t, r.header.Get("Link"))
		hasLast := strings.Contains(strings.Join(rels, ","), "last")
		if hasTotal != tc.counted || hasPages != tc.counted || hasLast != tc.counted {
			t.Errorf("%d tokens: X-Total %v, X-Total-Pages %v, rel=last %v; want all %v", tc.tokens, hasTotal, hasPages, hasLast, tc.counted)
		}
		if r.header.Get("X-Next-Page") != "3" || r.header.Get("X-Prev-Page") != "1" {
			t.Errorf("%d tokens: next %q prev %q", tc.tokens, r.header.Get("X-Next-Page"), r.header.Get("X-Prev-Page"))
		}
		if got := strings.Join(rels, ","); got != map[bool]string{true: "prev,next,first,last", false: "prev,next,first"}[tc.counted] {
			t.Errorf("%d tokens: rels %s", tc.tokens, got)
		}
	}
	// The last page of an uncounted list has no next page.
	s := NewServer(bulkWorld(10_001, 0), Options{})
	defer s.Close()
	r := doGet(t, s, tokBulkAdmin, "/personal_access_tokens?per_page=100&page=101")
	if n := len(decodeList(t, r)); n != 1 || r.header.Get("X-Next-Page") != "" {
		t.Errorf("last page: %d items, X-Next-Page %q; want 1 and empty", n, r.header.Get("X-Next-Page"))
	}
}

func TestProjectsOffsetLimitAndKeyset(t *testing.T) {
	s := NewServer(bulkWorld(1, 250), Options{})
	defer s.Close()
	limit := readFixture(t, "errors/405_offset_pagination_limit.json")
	for _, tc := range []struct {
		query  string
		status int
	}{
		{"?per_page=100&page=500", 200}, // offset 49,900: allowed
		{"?per_page=100&page=501", 405},
		{"?per_page=1000&page=501", 405}, // per_page capped to 100 first
		{"?page=2501", 405},              // 20 * 2501 > 50,000
		{"?page=2500", 200},
	} {
		r := doGet(t, s, tokBulkAdmin, "/projects"+tc.query)
		if r.status != tc.status {
			t.Errorf("/projects%s: status %d, want %d", tc.query, r.status, tc.status)
		}
		if tc.status == 405 && string(r.body) != limit {
			t.Errorf("/projects%s: body %s", tc.query, r.body)
		}
	}
	// Other lists have no offset limit.
	if r := doGet(t, s, tokBulkAdmin, "/groups/1/projects?per_page=100&page=501"); r.status != 200 {
		t.Errorf("/groups/:id/projects past offset 50,000: status %d, want 200", r.status)
	}

	// Keyset: follow rel="next" to the end, ascending and descending.
	for _, sortDir := range []string{"asc", "desc"} {
		path := "/projects?pagination=keyset&order_by=id&per_page=100&sort=" + sortDir
		var ids []int64
		for pages := 0; path != ""; pages++ {
			if pages > 10 {
				t.Fatal("keyset pagination does not end")
			}
			r := doGet(t, s, tokBulkAdmin, path)
			if r.status != 200 {
				t.Fatalf("keyset %s: status %d", path, r.status)
			}
			if _, ok := r.header["X-Total"]; ok {
				t.Error("keyset page has X-Total")
			}
			ids = append(ids, jsonIDs(decodeList(t, r))...)
			_, urls := linkRels(t, r.header.Get("Link"))
			path = ""
			if u := urls["next"]; u != nil {
				path = strings.TrimPrefix(u.RequestURI(), "/api/v4")
			}
		}
		if len(ids) != 250 {
			t.Fatalf("keyset %s: %d projects, want 250", sortDir, len(ids))
		}
		for i := 1; i < len(ids); i++ {
			if (sortDir == "asc") != (ids[i] > ids[i-1]) {
				t.Fatalf("keyset %s: ids out of order at %d", sortDir, i)
			}
		}
	}
	if r := doGet(t, s, tokBulkAdmin, "/projects?pagination=keyset&order_by=name"); r.status != 405 {
		t.Errorf("keyset by name: status %d, want 405", r.status)
	}
}

func TestBadInput(t *testing.T) {
	s := NewServer(testWorld(), Options{})
	defer s.Close()
	cases := []struct {
		path   string
		status int
		body   string
	}{
		{"/personal_access_tokens?per_page=abc", 400, `{"error":"per_page is invalid"}`},
		{"/personal_access_tokens?page=1x", 400, `{"error":"page is invalid"}`},
		{"/personal_access_tokens?page=x&per_page=y", 400, `{"error":"page is invalid, per_page is invalid"}`},
		{"/personal_access_tokens?state=bogus", 400, `{"error":"state does not have a valid value"}`},
		{"/personal_access_tokens?sort=bogus", 400, `{"error":"sort does not have a valid value"}`},
		{"/personal_access_tokens?revoked=maybe", 400, `{"error":"revoked is invalid"}`},
		{"/personal_access_tokens?created_before=yesterday", 400, `{"error":"created_before is invalid"}`},
		{"/personal_access_tokens?user_id=abc", 400, `{"error":"user_id is invalid"}`},
		{"/personal_access_tokens/abc", 400, `{"error":"id is invalid"}`},
		{"/personal_access_tokens/-1", 400, `{"error":"id is invalid"}`},
		{"/personal_access_tokens/99999999999999999999999", 400, `{"error":"id is invalid"}`},
		{"/users/abc", 400, `{"error":"id is invalid"}`},
		{"/projects/abc", 404, `{"message":"404 Project Not Found"}`},
		{"/projects/..%2F..%2Fetc", 404, `{"message":"404 Project Not Found"}`},
		{"/projects/99999999999999999999999", 404, `{"message":"404 Project Not Found"}`},
		{"/projects/0/access_tokens", 404, `{"message":"404 Project Not Found"}`},
		{"/projects/20/access_tokens/abc", 400, `{"error":"token_id is invalid"}`},
		{"/groups/%20/projects", 404, `{"message":"404 Group Not Found"}`},
		{"/groups?min_access_level=7", 400, `{"error":"min_access_level does not have a valid value"}`},
		{"/projects?order_by=stars", 400, `{"error":"order_by does not have a valid value"}`},
		{"/projects?archived=perhaps", 400, `{"error":"archived is invalid"}`},
		{"/users/2/memberships?type=Group", 400, `{"error":"type does not have a valid value"}`},
		{"/projects?unknown_filter=1&page=3&per_page=1000000", 200, "[]"},
		{"/", 404, `{"error":"404 Not Found"}`},
		{"/projects/20/access_tokens/109/extra/segments", 404, `{"error":"404 Not Found"}`},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			r := doGet(t, s, tokAdmin, tc.path)
			if r.status != tc.status || string(r.body) != tc.body {
				t.Errorf("GET %s: %d %s, want %d %s", tc.path, r.status, r.body, tc.status, tc.body)
			}
		})
	}
	// A write to a path the simulator serves only for GET: GitLab's
	// catch-all 404, never a crash.
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/api/v4/personal_access_tokens", strings.NewReader("{"))
	req.Header.Set("PRIVATE-TOKEN", tokAdmin)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("POST /personal_access_tokens: status %d, want 404", res.StatusCode)
	}
	// Outside /api/v4.
	res, err = http.Get(s.URL() + "/elsewhere")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Errorf("GET /elsewhere: status %d, want 404", res.StatusCode)
	}
}

// Served elsewhere through Handler(), Link URLs name the address the
// request came to, so clients follow them back to the same server.
func TestLinkHostFollowsHandler(t *testing.T) {
	s := NewServer(bulkWorld(45, 0), Options{})
	defer s.Close()
	other := httptest.NewServer(s.Handler())
	defer other.Close()
	req, _ := http.NewRequest(http.MethodGet, other.URL+"/api/v4/personal_access_tokens", nil)
	req.Header.Set("PRIVATE-TOKEN", tokBulkAdmin)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	_, urls := linkRels(t, res.Header.Get("Link"))
	if u := urls["next"]; u == nil || "http://"+u.Host != other.URL {
		t.Errorf("rel=next %v, want host of %s", u, other.URL)
	}
	if s.Counts()["GET /personal_access_tokens"] != 1 {
		t.Errorf("requests through Handler() not counted: %v", s.Counts())
	}
}
