package gitlabsim

import (
	"encoding/json"
	"fmt"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
)

func TestImpersonationTokenList(t *testing.T) {
	w := testWorld()
	// A second, revoked impersonation token of alice.
	old := *w.Tokens[2]
	old.ID, old.Value, old.Revoked = 120, "glpat-test-alice-imp-old00", true
	w.Tokens = append(w.Tokens, &old)
	s := NewServer(w, Options{})
	defer s.Close()
	for _, tc := range []struct {
		query string
		want  string
	}{
		{"", "[103 120]"},
		{"?state=all", "[103 120]"},
		{"?state=active", "[103]"},
		{"?state=inactive", "[120]"},
		{"?per_page=1&page=2", "[120]"},
	} {
		r := doGet(t, s, tokAdmin, "/users/2/impersonation_tokens"+tc.query)
		if r.status != 200 {
			t.Fatalf("%s: status %d", tc.query, r.status)
		}
		items := decodeList(t, r)
		if got := fmt.Sprint(jsonIDs(items)); got != tc.want {
			t.Errorf("impersonation tokens%s: ids %s, want %s", tc.query, got, tc.want)
		}
		for _, it := range items {
			if it["impersonation"] != true {
				t.Errorf("impersonation tokens%s: token %v has impersonation %v, want true", tc.query, it["id"], it["impersonation"])
			}
		}
	}
	if r := doGet(t, s, tokAdmin, "/users/2/impersonation_tokens?per_page=1"); r.header.Get("X-Total") != "2" || r.header.Get("X-Next-Page") != "2" {
		t.Errorf("pagination headers: X-Total %q X-Next-Page %q, want 2 and 2", r.header.Get("X-Total"), r.header.Get("X-Next-Page"))
	}
	// A user without impersonation tokens has an empty list, not a 404.
	if r := doGet(t, s, tokAdmin, "/users/3/impersonation_tokens"); r.status != 200 || string(r.body) != "[]" {
		t.Errorf("user without impersonation tokens: %d %s, want 200 []", r.status, r.body)
	}
	// The PAT list does not carry the flag (https://docs.gitlab.com/api/personal_access_tokens/).
	var one map[string]any
	if err := json.Unmarshal(doGet(t, s, tokAdmin, "/personal_access_tokens/103").body, &one); err != nil || one["id"] != float64(103) {
		t.Fatalf("GET /personal_access_tokens/103: %v %v", one["id"], err)
	}
	if _, ok := one["impersonation"]; ok {
		t.Error("GET /personal_access_tokens/103 sends impersonation; GitLab's PAT entity does not")
	}
}

// client-go decodes both routes and follows the list to the end; over all
// users the lists hold exactly the World's impersonation tokens.
func TestClientGoImpersonationTokens(t *testing.T) {
	w, s := serveGenerated(t, "small", 7)
	c := newGitLabClient(t, s, w.AdminToken())

	want := map[int64][]int64{}
	active := 0
	for _, tk := range w.Tokens {
		if tk.Impersonation {
			want[tk.UserID] = append(want[tk.UserID], tk.ID)
			if w.TokenActive(tk) {
				active++
			}
		}
	}
	if len(want) == 0 {
		t.Fatal("the small preset has no impersonation tokens")
	}
	var total, gotActive int
	for _, u := range w.Users {
		ids := collectIDs(t, "impersonation tokens", func(p gitlab.PaginationOptionFunc) ([]*gitlab.ImpersonationToken, *gitlab.Response, error) {
			return c.Users.GetAllImpersonationTokens(u.ID, &gitlab.GetAllImpersonationTokensOptions{ListOptions: lo(2)}, p)
		}, func(x *gitlab.ImpersonationToken) int64 { return x.ID })
		sameIDs(t, fmt.Sprintf("user %d impersonation tokens", u.ID), ids, want[u.ID])
		total += len(ids)
		gotActive += len(collectIDs(t, "active impersonation tokens", func(p gitlab.PaginationOptionFunc) ([]*gitlab.ImpersonationToken, *gitlab.Response, error) {
			return c.Users.GetAllImpersonationTokens(u.ID, &gitlab.GetAllImpersonationTokensOptions{State: gitlab.Ptr("active")}, p)
		}, func(x *gitlab.ImpersonationToken) int64 { return x.ID }))
	}
	if total != w.TokenCounts()[KindImpersonation] || gotActive != active {
		t.Errorf("listed %d impersonation tokens (%d active), want %d (%d active)", total, gotActive, w.TokenCounts()[KindImpersonation], active)
	}
	for uid, ids := range want {
		tk, _, err := c.Users.GetImpersonationToken(uid, ids[0])
		if err != nil || tk.ID != ids[0] {
			t.Errorf("get impersonation token %d of user %d: %v", ids[0], uid, err)
		}
		break
	}

	// Not an administrator: 403.
	owner, _ := w.GroupOwnerToken()
	_, resp, err := newGitLabClient(t, s, owner).Users.GetAllImpersonationTokens(w.Users[0].ID, nil)
	if err == nil || resp == nil || resp.StatusCode != 403 {
		t.Errorf("group owner lists impersonation tokens: err %v, want a 403", err)
	}
}
