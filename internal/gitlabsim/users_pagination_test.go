package gitlabsim

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

const tokBulkUser = "glpat-test-bulk-many-00000"

// manyUsersWorld is bulkWorld with n users in all: root (admin, token
// tokBulkAdmin), "many" (token tokBulkUser) and bots of project 1, as an
// instance with many resource tokens has.
func manyUsersWorld(n int) *World {
	w := bulkWorld(1, 1)
	w.Tokens = append(w.Tokens, &PersonalAccessToken{ID: 2, UserID: 2, Name: "many", Scopes: []string{"read_api"}, CreatedAt: testNow, Value: tokBulkUser})
	for i := int64(3); i <= int64(n); i++ {
		w.Users = append(w.Users, &User{ID: i, Username: fmt.Sprintf("project_1_bot_%032x", i), Name: fmt.Sprintf("bot %d", i%97),
			State: "active", UserType: UserTypeProjectBot, BotSourceType: "project", BotSourceID: 1, CreatedAt: testNow})
	}
	return w
}

// getLocal serves one request through the handler, without a network.
func getLocal(h http.Handler, token, path string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "http://gitlab.test/api/v4"+path, nil)
	req.Header.Set("PRIVATE-TOKEN", token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// walkUsersKeyset follows GET /users keyset pages to the end and returns
// the IDs in the order served.
func walkUsersKeyset(t *testing.T, h http.Handler, token, query string) []int64 {
	t.Helper()
	var ids []int64
	path := "/users?pagination=keyset&" + query
	for pages := 0; path != ""; pages++ {
		if pages > 1000 {
			t.Fatal("keyset pagination does not end")
		}
		rec := getLocal(h, token, path)
		if rec.Code != 200 {
			t.Fatalf("GET %s: status %d %s", path, rec.Code, rec.Body)
		}
		for _, k := range []string{"X-Total", "X-Total-Pages", "X-Page", "X-Next-Page"} {
			if _, ok := rec.Header()[k]; ok {
				t.Fatalf("keyset page has %s", k)
			}
		}
		ids = append(ids, jsonIDs(decodeList(t, response{status: rec.Code, body: rec.Body.Bytes()}))...)
		rels, urls := linkRels(t, rec.Header().Get("Link"))
		path = ""
		if u := urls["next"]; u != nil {
			if !slices.Equal(rels, []string{"next"}) || u.Query().Get("cursor") == "" {
				t.Fatalf("keyset Link rels %v, next %s: want one rel=\"next\" with a cursor", rels, u)
			}
			path = strings.TrimPrefix(u.RequestURI(), "/api/v4")
		}
	}
	return ids
}

// TestUsersOffsetLimitAndKeyset checks GET /users past 50,000 rows: users
// are a type with keyset pagination, so offset pages past the limit get
// the 405 that names the type User, and keyset pagination
// (pagination=keyset&order_by=id&sort=asc, the next page in Link) reaches
// every user (https://docs.gitlab.com/api/rest/#keyset-based-pagination,
// lib/api/helpers/pagination_strategies.rb).
func TestUsersOffsetLimitAndKeyset(t *testing.T) {
	const n = 50_150
	w := manyUsersWorld(n)
	h := NewServer(w, Options{})
	defer h.Close()
	limit := strings.Replace(readFixture(t, "errors/405_offset_pagination_limit.json"), "type Project.", "type User.", 1)
	for _, tc := range []struct {
		query  string
		status int
	}{
		{"?per_page=100&page=500", 200}, // rows 49,901-50,000: allowed
		{"?per_page=100&page=501", 405},
		{"?page=2501", 405},
		{"?per_page=100&page=501&without_project_bots=true", 405}, // refused before counting rows
	} {
		rec := getLocal(h.Handler(), tokBulkAdmin, "/users"+tc.query)
		if rec.Code != tc.status {
			t.Errorf("/users%s: status %d, want %d", tc.query, rec.Code, tc.status)
		}
		if tc.status == 405 && rec.Body.String() != limit {
			t.Errorf("/users%s: body %s, want %s", tc.query, rec.Body, limit)
		}
	}
	// The offset page just under the limit holds the 500th hundred.
	rec := getLocal(h.Handler(), tokBulkAdmin, "/users?per_page=100&page=500&sort=asc")
	if ids := jsonIDs(decodeList(t, response{body: rec.Body.Bytes()})); len(ids) != 100 || ids[0] != 49_901 {
		t.Errorf("page 500 ascending: %d users from %v, want 100 from 49901", len(ids), ids[:min(1, len(ids))])
	}

	// A regular user's keyset walk (UserBasic: the cheaper entity to page
	// 50,000 rows of; the administrator's is in TestUsersKeysetOrders).
	asc := walkUsersKeyset(t, h.Handler(), tokBulkUser, "order_by=id&sort=asc&per_page=100")
	if len(asc) != n || !slices.IsSorted(asc) || asc[0] != 1 || asc[n-1] != n {
		t.Fatalf("keyset id asc: %d users, sorted %v; want all %d ascending", len(asc), slices.IsSorted(asc), n)
	}
}

// TestUsersKeysetOrders checks every keyset order of GET /users on a small
// World against the same order computed here, for an administrator and a
// regular user (keyset serves both), with a page size that splits ties.
func TestUsersKeysetOrders(t *testing.T) {
	w := manyUsersWorld(230)
	for _, u := range w.Users[2:] {
		u.Username = fmt.Sprintf("u%03d", 500-u.ID%200) // ties between users broken by ID
		u.Name = strings.ToUpper(u.Name[:1]) + u.Name[1:]
		u.CreatedAt = testNow.AddDate(0, 0, -int(u.ID%17))
	}
	w.Users[1].Name = "bot 5" // the same name as others
	s := NewServer(w, Options{})
	defer s.Close()
	for _, orderBy := range []string{"id", "name", "username", "created_at", "updated_at"} {
		for _, sortDir := range []string{"asc", "desc", ""} {
			want := make([]*User, len(w.Users))
			copy(want, w.Users)
			slices.SortFunc(want, userOrder(orderBy, sortDir != "asc"))
			var wantIDs []int64
			for _, u := range want {
				wantIDs = append(wantIDs, u.ID)
			}
			for _, tok := range []string{tokBulkAdmin, tokBulkUser} {
				q := fmt.Sprintf("order_by=%s&per_page=7", orderBy)
				if sortDir != "" {
					q += "&sort=" + sortDir
				}
				if got := walkUsersKeyset(t, s.Handler(), tok, q); !slices.Equal(got, wantIDs) {
					t.Errorf("keyset %s: ids %v, want %v", q, head(got), head(wantIDs))
				}
			}
		}
	}
	// The default order is id desc.
	if got := walkUsersKeyset(t, s.Handler(), tokBulkAdmin, "per_page=50"); len(got) != 230 || got[0] != 230 || got[229] != 1 {
		t.Errorf("keyset default: %d users from %v, want id desc", len(got), head(got))
	}
	if rec := getLocal(s.Handler(), tokBulkAdmin, "/users?pagination=keyset&cursor=not-a-cursor"); rec.Code != 400 {
		t.Errorf("keyset with a cursor GitLab did not write: status %d, want 400", rec.Code)
	}
}
