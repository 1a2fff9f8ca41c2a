package gitlabsim

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// comWorld is testWorld as GitLab.com at GeneratorGitLabComVersion.
func comWorld() *World {
	w := testWorld()
	w.GitLabCom, w.Version = true, GeneratorGitLabComVersion
	return w
}

// getDPoP is doGet with DPoP headers.
func getDPoP(t *testing.T, s *Server, token, path string, dpop ...string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL()+"/api/v4"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("PRIVATE-TOKEN", token)
	for _, d := range dpop {
		req.Header.Add("DPoP", d)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := res.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return response{status: res.StatusCode, header: res.Header, body: []byte(b.String())}
}

// TestCredentialsInventoryRefusals checks the refusals of GitLab.com's
// /groups/:id/manage routes (API::Manage::Groups,
// https://docs.gitlab.com/api/groups/#credentials-inventory-management):
// 403 for a non-Owner or a group without Ultimate, 404 not_found! with the
// feature off, and with require_dpop_for_manage_api_endpoints a 401
// dpop_error without a DPoP proof.
func TestCredentialsInventoryRefusals(t *testing.T) {
	forbidden := readFixture(t, "errors/403_forbidden.json")
	const path = "/groups/10/manage/personal_access_tokens"
	for _, c := range []struct {
		name   string
		change func(w *World)
		token  string
		dpop   []string
		status int
		body   string
	}{
		{"ultimate owner", nil, tokAlice, nil, 200, ""},
		{"premium group", func(w *World) { w.Groups[0].Plan = "premium" }, tokAlice, nil, 403, forbidden},
		{"free group", func(w *World) { w.Groups[0].Plan = "free" }, tokAlice, nil, 403, forbidden},
		{"ultimate, a subgroup's plan is its top-level group's", func(w *World) { w.Groups[1].Plan = "free" }, tokAlice, nil, 200, ""},
		{"non-owner who sees the group", nil, tokBob, nil, 403, forbidden},
		{"subgroup owner view", nil, tokAlice, nil, 200, ""},
		{"feature flag off", func(w *World) { w.CredentialsInventoryOff = true }, tokAlice, nil, 404, `{"message":"404 Not Found"}`},
		{"DPoP required, no proof", func(w *World) { w.Groups[0].RequireDPoPForManageAPI = true }, tokAlice, nil, 401,
			`{"error":"dpop_error","error_description":"DPoP validation error: DPoP header is missing"}`},
		{"DPoP required, malformed proof", func(w *World) { w.Groups[0].RequireDPoPForManageAPI = true }, tokAlice, []string{"not-a-jwt"}, 401,
			`{"error":"dpop_error","error_description":"DPoP validation error: Malformed JWT, unable to decode. Not enough or too many segments"}`},
		{"DPoP required, two proofs", func(w *World) { w.Groups[0].RequireDPoPForManageAPI = true }, tokAlice, []string{"a.b.c", "d.e.f"}, 401,
			`{"error":"dpop_error","error_description":"DPoP validation error: Only 1 DPoP header is allowed in request"}`},
		{"DPoP required, a proof", func(w *World) { w.Groups[0].RequireDPoPForManageAPI = true }, tokAlice, []string{"eyJh.eyJi.c2ln"}, 200, ""},
		{"DPoP required, a proof, not the Owner", func(w *World) { w.Groups[0].RequireDPoPForManageAPI = true }, tokBob, []string{"eyJh.eyJi.c2ln"}, 403, forbidden},
		{"DPoP required, feature off", func(w *World) { w.Groups[0].RequireDPoPForManageAPI = true; w.CredentialsInventoryOff = true }, tokAlice, nil, 404, `{"message":"404 Not Found"}`},
		// The setting came in 17.10; before it nothing asks for DPoP.
		{"DPoP setting before 17.10", func(w *World) { w.Groups[0].RequireDPoPForManageAPI = true; w.Version = "17.9.0-pre" }, tokAlice, nil, 404, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := comWorld()
			if c.change != nil {
				c.change(w)
			}
			s := NewServer(w, Options{})
			defer s.Close()
			r := getDPoP(t, s, c.token, path, c.dpop...)
			if r.status != c.status || c.body != "" && string(r.body) != c.body {
				t.Fatalf("GET %s: %d %s, want %d %s", path, r.status, r.body, c.status, c.body)
			}
			if c.status == 401 && !strings.Contains(r.header.Get("WWW-Authenticate"), `error="dpop_error"`) {
				t.Errorf("WWW-Authenticate %q lacks dpop_error", r.header.Get("WWW-Authenticate"))
			}
			// The resource-token inventory refuses alike.
			if r2 := getDPoP(t, s, c.token, "/groups/10/manage/resource_access_tokens", c.dpop...); r2.status != c.status {
				t.Errorf("manage/resource_access_tokens: status %d, want %d", r2.status, c.status)
			}
			// Visible, which sends no DPoP header, lists the inventory only
			// where it answers without a proof.
			v, err := s.Visible(c.token)
			if err != nil {
				t.Fatal(err)
			}
			_, listed := v.Lists[path]
			if want := c.status == 200 && c.dpop == nil; listed != want {
				t.Errorf("Visible lists %s: %v, want %v", path, listed, want)
			}
		})
	}
}

// TestServiceAccountRoutesRefusals checks API::GroupServiceAccounts'
// authorize! :admin_service_accounts: the Owner of a licensed top-level
// group (or an administrator) may; anyone else, and every caller of a Free
// group on GitLab.com, gets 403, the token list included.
func TestServiceAccountRoutesRefusals(t *testing.T) {
	forbidden := readFixture(t, "errors/403_forbidden.json")
	for _, c := range []struct {
		name   string
		w      func() *World
		token  string
		status int
	}{
		{"owner", testWorld, tokAlice, 200},
		{"administrator", testWorld, tokAdmin, 200},
		{"project member who sees the group", testWorld, tokBob, 403},
		{"owner on GitLab.com, Ultimate", comWorld, tokAlice, 200},
		{"owner on GitLab.com, Premium", func() *World { w := comWorld(); w.Groups[0].Plan = "premium"; return w }, tokAlice, 200},
		{"owner on GitLab.com, Free", func() *World { w := comWorld(); w.Groups[0].Plan = "free"; return w }, tokAlice, 403},
	} {
		s := NewServer(c.w(), Options{})
		for _, path := range []string{"/groups/10/service_accounts", "/groups/10/service_accounts/8/personal_access_tokens"} {
			r := doGet(t, s, c.token, path)
			if r.status != c.status || c.status == 403 && string(r.body) != forbidden {
				t.Errorf("%s: GET %s = %d %s, want %d", c.name, path, r.status, r.body, c.status)
			}
		}
		s.Close()
	}
}

// TestGenerateGitLabCom checks the generated GitLab.com instance: its
// version, Ultimate for the well-known owner's group, and three more groups
// that owner also owns whose credentials inventory refuses: a Premium one
// (403), one that requires DPoP (401 without a proof) and a Free one (403,
// its service accounts too).
func TestGenerateGitLabCom(t *testing.T) {
	w, err := Generate("small", 42, WithGitLabCom())
	if err != nil {
		t.Fatal(err)
	}
	if !w.GitLabCom || w.Version != GeneratorGitLabComVersion {
		t.Fatalf("GitLabCom %v, version %q", w.GitLabCom, w.Version)
	}
	plain := world(t, "small")
	for _, g := range plain.Groups {
		if g.Plan != "" || g.RequireDPoPForManageAPI {
			t.Fatalf("Generate without options set group %d's plan %q or DPoP", g.ID, g.Plan)
		}
	}
	token, top := w.GroupOwnerToken()
	s := NewServer(w, Options{})
	defer s.Close()
	owner := gtUserOf(w, token)
	statuses := map[int]int{}
	plans := map[string]int{}
	users, _, _ := indexWorld(w)
	paidOnly := map[int64]bool{}
	for _, u := range w.Users {
		if u.ServiceAccountGroupID != 0 {
			paidOnly[u.ServiceAccountGroupID] = true
		}
	}
	for _, g := range w.Groups {
		if g.ParentID != 0 {
			continue
		}
		plans[g.Plan]++
		if g.Plan == "free" && paidOnly[g.ID] {
			t.Errorf("free group %d has service accounts", g.ID)
		}
		if memberLevel(g.Members, owner.ID) != 50 {
			continue
		}
		r := doGet(t, s, token, fmt.Sprintf("/groups/%d/manage/personal_access_tokens", g.ID))
		statuses[r.status]++
		if g.Path == top && r.status != 200 {
			t.Errorf("the well-known owner's group %s: inventory status %d, want 200", top, r.status)
		}
	}
	if statuses[200] == 0 || statuses[403] < 2 || statuses[401] == 0 {
		t.Errorf("inventory statuses of the owner's groups %v, want 200, 401 and two 403s", statuses)
	}
	if plans["ultimate"] == 0 || plans["premium"] == 0 || plans["free"] == 0 {
		t.Errorf("plans %v, want all three", plans)
	}
	_ = users
	// The Free group: its owner may list neither its service accounts nor
	// its inventory.
	var free *Group
	for _, g := range w.Groups {
		if g.Plan == "free" && memberLevel(g.Members, owner.ID) == 50 {
			free = g
		}
	}
	if free == nil {
		t.Fatal("no Free group of the well-known owner")
	}
	for _, p := range []string{"/service_accounts", "/manage/personal_access_tokens"} {
		if r := doGet(t, s, token, fmt.Sprintf("/groups/%d%s", free.ID, p)); r.status != 403 {
			t.Errorf("Free group %d%s: status %d, want 403", free.ID, p, r.status)
		}
	}
	again, _ := Generate("small", 42, WithGitLabCom())
	for i, g := range w.Groups {
		if again.Groups[i].Plan != g.Plan || again.Groups[i].RequireDPoPForManageAPI != g.RequireDPoPForManageAPI {
			t.Fatal("WithGitLabCom is not deterministic")
		}
	}
}
