package gitlabsim

import (
	"encoding/json"
	"fmt"
	"testing"
)

// TestDeployTokensActiveFalse checks the deploy-token lists' active
// parameter: true keeps the active tokens, false returns all of them
// (params[:active] ? items.active : items, DeployTokens::TokensFinder).
func TestDeployTokensActiveFalse(t *testing.T) {
	w := testWorld()
	w.DeployTokens = append(w.DeployTokens,
		&DeployToken{ID: 303, Name: "revoked", Username: "gitlab+deploy-token-303", ProjectID: 20, Revoked: true, Scopes: []string{"read_repository"}, Value: "gldt-test-revoked-00000000"},
		&DeployToken{ID: 304, Name: "expired", Username: "gitlab+deploy-token-304", ProjectID: 20, ExpiresAt: testDay(-1), Scopes: []string{"read_registry"}, Value: "gldt-test-expired-00000000"})
	s := NewServer(w, Options{})
	defer s.Close()
	for _, c := range []struct{ path, want string }{
		{"/deploy_tokens", "[301 302 303 304]"},
		{"/deploy_tokens?active=true", "[301 302]"},
		{"/deploy_tokens?active=false", "[301 302 303 304]"},
		{"/projects/20/deploy_tokens?active=false", "[301 303 304]"},
		{"/projects/20/deploy_tokens?active=true", "[301]"},
	} {
		if got := fmt.Sprint(jsonIDs(decodeList(t, doGet(t, s, tokAdmin, c.path)))); got != c.want {
			t.Errorf("GET %s: %s, want %s", c.path, got, c.want)
		}
	}
}

// TestLegacyTriggerToken checks that a trigger without an owner (a legacy
// trigger) shows its full token to anyone who may list triggers, its
// owner's trigger only to its owner (Ci::TriggerPolicy: legacy | is_owner
// enables admin_trigger).
func TestLegacyTriggerToken(t *testing.T) {
	w := testWorld()
	const legacy = "glptt-legacytrigger00000000"
	w.Triggers = append(w.Triggers, &Trigger{ID: 403, ProjectID: 21, Description: "legacy", CreatedAt: testNow, UpdatedAt: testNow, Value: legacy})
	w.Triggers = append(w.Triggers, &Trigger{ID: 404, ProjectID: 21, OwnerID: 2, Description: "alice's", CreatedAt: testNow, UpdatedAt: testNow, Value: "glptt-alice21trigger0000000"})
	s := NewServer(w, Options{})
	defer s.Close()
	for _, tok := range []string{tokBob, tokAlice, tokAdmin} { // Maintainer, inherited Owner, administrator
		var got map[int64]map[string]any = map[int64]map[string]any{}
		for _, tr := range decodeList(t, doGet(t, s, tok, "/projects/21/triggers")) {
			got[int64(tr["id"].(float64))] = tr
		}
		if got[403]["token"] != legacy || got[403]["owner"] != nil {
			t.Errorf("legacy trigger: token in full %v, owner %v; want the full token and a null owner", got[403]["token"] == legacy, got[403]["owner"])
		}
		if full := got[404]["token"] == "glptt-alice21trigger0000000"; full != (tok == tokAlice) {
			t.Errorf("alice's trigger in full %v for token of user %v, want only for alice", full, tok == tokAlice)
		}
	}
}

// TestMembershipsWithAccessRequests checks GET /users/:id/memberships
// without type: user.members, access requests included, shown with the
// Developer level asked for and nothing else that tells them apart; with a
// type they are left out. A request grants no access, and the access
// requests API lists it with requested_at to a group's Owners and a
// project's Maintainers.
func TestMembershipsWithAccessRequests(t *testing.T) {
	w := testWorld()
	w.Groups[0].AccessRequests = []AccessRequest{{UserID: 4, RequestedAt: testNow.AddDate(0, 0, -3)}}   // carol asks for top
	w.Projects[2].AccessRequests = []AccessRequest{{UserID: 4, RequestedAt: testNow.AddDate(0, 0, -1)}} // and for open/site
	s := NewServer(w, Options{})
	defer s.Close()
	all := decodeList(t, doGet(t, s, tokAdmin, "/users/4/memberships"))
	want := `[map[access_level:30 source_id:10 source_name:Top source_type:Namespace] map[access_level:30 source_id:22 source_name:Site source_type:Project]]`
	if fmt.Sprint(sortedByType(all)) != want {
		t.Errorf("carol's memberships %v, want %s", sortedByType(all), want)
	}
	for _, typ := range []string{"Namespace", "Project"} {
		for _, m := range decodeList(t, doGet(t, s, tokAdmin, "/users/4/memberships?type="+typ)) {
			if m["source_id"] == float64(10) || m["source_id"] == float64(22) {
				t.Errorf("type=%s lists the access request to %v", typ, m["source_id"])
			}
		}
	}
	if r := doGet(t, s, tokCarol, "/groups/10"); r.status != 404 {
		t.Errorf("an access request let carol read private group 10: status %d", r.status)
	}
	if r := doGet(t, s, tokCarol, "/projects/22/access_tokens"); r.status != 401 {
		t.Errorf("an access request gave carol a role in project 22: status %d, want 401", r.status)
	}
	reqs := decodeList(t, doGet(t, s, tokAlice, "/groups/10/access_requests"))
	if len(reqs) != 1 || reqs[0]["username"] != "carol" || reqs[0]["requested_at"] != "2026-06-12T12:00:00.000Z" {
		t.Errorf("group 10 access requests %v, want carol's with requested_at", reqs)
	}
	for _, c := range []struct {
		token, path string
		status      int
	}{
		{tokAdmin, "/projects/22/access_requests", 200},
		{tokBob, "/projects/21/access_requests", 200}, // Maintainer of 21
		{tokBob, "/projects/20/access_requests", 403}, // Developer of 20
		{tokBob, "/groups/10/access_requests", 403},   // no Owner
		{tokCarol, "/groups/10/access_requests", 404}, // cannot see the group
	} {
		if r := doGet(t, s, c.token, c.path); r.status != c.status {
			t.Errorf("GET %s: status %d, want %d", c.path, r.status, c.status)
		}
	}

	// Generated worlds hold some, each of a user without access to it.
	g := world(t, "medium")
	n := 0
	reach := g.ProjectsReached()
	for _, p := range g.Projects {
		for _, ar := range p.AccessRequests {
			n++
			if reach[ar.UserID][p.ID] {
				t.Errorf("user %d asks to join project %d they reach", ar.UserID, p.ID)
			}
		}
	}
	for _, gr := range g.Groups {
		n += len(gr.AccessRequests)
	}
	if n != 30 {
		t.Errorf("medium has %d access requests, want 30 (one per 50 humans)", n)
	}
}

// sortedByType orders memberships for comparison: source type, then ID.
func sortedByType(ms []map[string]any) []map[string]any {
	out := append([]map[string]any(nil), ms...)
	key := func(m map[string]any) string {
		b, _ := json.Marshal([]any{m["source_type"], m["source_id"]})
		return string(b)
	}
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if key(out[j]) < key(out[i]) {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}
