package gitlabsim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Secrets of testWorld. They are fake, but tests treat them as secrets
// anyway: no failure message prints one.
const (
	tokAdmin        = "glpat-test-admin-000000000"
	tokAlice        = "glpat-test-alice-000000000"
	tokAliceImp     = "glpat-test-alice-imperson0"
	tokAliceRevoked = "glpat-test-alice-revoked00"
	tokAliceExpired = "glpat-test-alice-expired00"
	tokAliceUser    = "glpat-test-alice-readuser0"
	tokBob          = "glpat-test-bob-00000000000"
	tokCarol        = "glpat-test-carol-000000000"
	tokProjectBot   = "glpat-test-project-bot-000"
	tokGroupBot     = "glpat-test-group-bot-00000"
	tokDave         = "glpat-test-dave-blocked000"
	tokGroupSA      = "glpat-test-group-sa-000000"
	tokInstanceSA   = "glpat-test-instance-sa-000"
	tokDeploy       = "gldt-test-deploy-000000000"
	tokTriggerBob   = "glptt-bobtrigger0000000000"
	tokTriggerAlice = "glptt-alicetrigger00000000"
)

var testNow = time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)

func testDay(offset int) *time.Time {
	d := time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC).AddDate(0, 0, offset)
	return &d
}

// testWorld is a small hand-built instance:
//
//	users: 1 root (admin), 2 alice (Owner of group 10), 3 bob (Developer of
//	project 20, Maintainer of project 21), 4 carol (no membership), 5 bot of
//	project 20 (Maintainer), 6 bot of group 10 (Developer), 7 dave (blocked),
//	8 service account of group 10, 9 instance service account.
//	groups: 10 top (private), 11 top/sub (private), 12 open (public).
//	projects: 20 top/app (private), 21 top/sub/lib (private), 22 open/site
//	(public), 23 carol/notes (private, personal).
func testWorld() *World {
	created := testNow.AddDate(0, -2, 0)
	used := testNow.Add(-2 * time.Hour)
	u := func(id int64, name string, admin bool, typ, state string) *User {
		return &User{ID: id, Username: name, Name: strings.ToUpper(name[:1]) + name[1:], Email: name + "@example.com",
			State: state, Admin: admin, UserType: typ, CreatedAt: created}
	}
	bot := u(5, "project_20_bot_0123456789abcdef0123456789abcdef", false, UserTypeProjectBot, "active")
	bot.BotSourceType, bot.BotSourceID = "project", 20
	gbot := u(6, "group_10_bot_0123456789abcdef0123456789abcdef", false, UserTypeProjectBot, "active")
	gbot.BotSourceType, gbot.BotSourceID = "group", 10
	gsa := u(8, "service_account_group_10_abcdef", false, UserTypeServiceAccount, "active")
	gsa.ServiceAccountGroupID = 10
	pat := func(id, uid int64, value string, scopes ...string) *PersonalAccessToken {
		return &PersonalAccessToken{ID: id, UserID: uid, Name: fmt.Sprintf("token-%d", id), Scopes: scopes,
			CreatedAt: created, ExpiresAt: testDay(30), LastUsedAt: &used, LastUsedIPs: []string{"192.0.2.1"}, Value: value, Plant: "healthy"}
	}
	imp := pat(103, 2, tokAliceImp, "api")
	imp.Impersonation = true
	revoked := pat(104, 2, tokAliceRevoked, "api")
	revoked.Revoked = true
	expired := pat(105, 2, tokAliceExpired, "api")
	expired.ExpiresAt = testDay(0) // expires today at 00:00 UTC: already expired
	alice := pat(102, 2, tokAlice, "read_api")
	alice.ExpiresAt = testDay(1) // expires tomorrow: still active
	alice.Description = "alice's token"
	return &World{
		Now: testNow, Version: "18.5.1-ee", Revision: "abc123", LastUsedIPs: "populated",
		Settings: Settings{RequirePersonalAccessTokenExpiry: true, PersonalAccessTokenPrefix: "glpat-"},
		Users: []*User{
			u(1, "root", true, UserTypeHuman, "active"),
			u(2, "alice", false, UserTypeHuman, "active"),
			u(3, "bob", false, UserTypeHuman, "active"),
			u(4, "carol", false, UserTypeHuman, "active"),
			bot, gbot,
			u(7, "dave", false, UserTypeHuman, "blocked"),
			gsa,
			u(9, "service_account_instance_1", false, UserTypeServiceAccount, "active"),
		},
		Groups: []*Group{
			{ID: 10, Name: "Top", Path: "top", Visibility: "private", CreatedAt: created,
				Members: []Membership{{UserID: 2, AccessLevel: 50}, {UserID: 6, AccessLevel: 30}}},
			{ID: 11, Name: "Sub", Path: "sub", ParentID: 10, Visibility: "private", CreatedAt: created},
			{ID: 12, Name: "Open", Path: "open", Visibility: "public", CreatedAt: created},
		},
		Projects: []*Project{
			{ID: 20, Name: "App", Path: "app", GroupID: 10, Visibility: "private", CreatedAt: created, LastActivityAt: used,
				Members:       []Membership{{UserID: 3, AccessLevel: 30}, {UserID: 5, AccessLevel: 40}},
				JobTokenScope: JobTokenScope{InboundEnabled: true, AllowlistProjectIDs: []int64{21}, AllowlistGroupIDs: []int64{12}}},
			{ID: 21, Name: "Lib", Path: "lib", GroupID: 11, Visibility: "private", CreatedAt: created.Add(time.Hour), LastActivityAt: used,
				Members: []Membership{{UserID: 3, AccessLevel: 40}}},
			{ID: 22, Name: "Site", Path: "site", GroupID: 12, Visibility: "public", CreatedAt: created.Add(2 * time.Hour), LastActivityAt: used},
			{ID: 23, Name: "Notes", Path: "notes", UserID: 4, Visibility: "private", CreatedAt: created.Add(3 * time.Hour), LastActivityAt: used},
		},
		Tokens: []*PersonalAccessToken{
			pat(101, 1, tokAdmin, "api"),
			alice, imp, revoked, expired,
			pat(106, 2, tokAliceUser, "read_user"),
			pat(107, 3, tokBob, "read_api"),
			pat(108, 4, tokCarol, "api"),
			pat(109, 5, tokProjectBot, "read_api"),
			pat(110, 6, tokGroupBot, "read_api"),
			pat(111, 7, tokDave, "api"),
			pat(112, 8, tokGroupSA, "api"),
			pat(113, 9, tokInstanceSA, "api"),
		},
		DeployTokens: []*DeployToken{
			{ID: 301, Name: "deploy", Username: "gitlab+deploy-token-301", ProjectID: 20, ExpiresAt: testDay(10), Scopes: []string{"read_repository"}, Value: tokDeploy},
			{ID: 302, Name: "group-deploy", Username: "gitlab+deploy-token-302", GroupID: 10, Scopes: []string{"read_registry"}, Value: "gldt-test-group-deploy-0000"},
		},
		Triggers: []*Trigger{
			{ID: 401, ProjectID: 20, OwnerID: 3, Description: "bob's", CreatedAt: created, UpdatedAt: created, Value: tokTriggerBob},
			{ID: 402, ProjectID: 20, OwnerID: 2, Description: "alice's", CreatedAt: created, UpdatedAt: created, LastUsed: &used, Value: tokTriggerAlice},
		},
	}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// doGet sends GET /api/v4<path> with a PRIVATE-TOKEN (none if token == "").
func doGet(t *testing.T, s *Server, token, path string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL()+"/api/v4"+path, nil)
	if err != nil {
		t.Fatalf("new request %s: %v", path, err)
	}
	if token != "" {
		req.Header.Set("PRIVATE-TOKEN", token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

func decodeList(t *testing.T, r response) []map[string]any {
	t.Helper()
	var out []map[string]any
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatalf("decode list: %v", err)
	}
	return out
}

func jsonIDs(items []map[string]any) []int64 {
	var ids []int64
	for _, it := range items {
		ids = append(ids, int64(it["id"].(float64)))
	}
	return ids
}

func readFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := readSharedFixture(name)
	if err != nil {
		t.Fatalf("read fixture %s: %v", name, err)
	}
	return strings.TrimSpace(string(b))
}

func TestRolesAndRefusals(t *testing.T) {
	s := NewServer(testWorld(), Options{})
	defer s.Close()
	fx := func(name string) string { return readFixture(t, "errors/"+name) }
	unknownRoute := `{"error":"404 Not Found"}`
	cases := []struct {
		name   string
		token  string
		path   string
		status int
		body   string // exact body, when set
	}{
		{"no token", "", "/projects", 401, fx("401_unauthorized.json")},
		{"unknown token", "glpat-nobody", "/projects", 401, fx("401_unauthorized.json")},
		{"bearer-less garbage token", "x", "/user", 401, fx("401_unauthorized.json")},
		{"expired token (expires today)", tokAliceExpired, "/user", 401, fx("401_invalid_token_expired.json")},
		{"revoked token", tokAliceRevoked, "/user", 401, fx("401_invalid_token_revoked.json")},
		{"expired token on self", tokAliceExpired, "/personal_access_tokens/self", 401, fx("401_invalid_token_expired.json")},
		{"token expiring tomorrow works", tokAlice, "/user", 200, ""},
		{"read_user on /projects", tokAliceUser, "/projects", 403, `{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"api read_api"}`},
		{"read_user on /user", tokAliceUser, "/user", 200, ""},
		{"read_user on /users", tokAliceUser, "/users", 200, ""},
		{"read_user on /personal_access_tokens/self", tokAliceUser, "/personal_access_tokens/self", 200, ""},
		{"read_user on /personal_access_tokens", tokAliceUser, "/personal_access_tokens", 403, ""},
		{"deploy token cannot read the API", tokDeploy, "/projects", 401, fx("401_unauthorized.json")},
		{"trigger token cannot read the API", tokTriggerBob, "/projects", 401, fx("401_unauthorized.json")},
		{"blocked owner", tokDave, "/user", 403, `{"message":"403 Forbidden - Your account has been blocked."}`},

		{"non-admin PAT list of another user", tokCarol, "/personal_access_tokens?user_id=2", 401, fx("401_unauthorized.json")},
		{"non-admin PAT list of an unknown user", tokCarol, "/personal_access_tokens?user_id=999", 401, fx("401_unauthorized.json")},
		{"non-admin PAT list of self", tokCarol, "/personal_access_tokens?user_id=4", 200, ""},
		{"admin PAT list of unknown user", tokAdmin, "/personal_access_tokens?user_id=999", 404, fx("404_not_found.json")},
		{"admin PAT list with empty user_id", tokAdmin, "/personal_access_tokens?user_id=", 404, fx("404_not_found.json")},
		{"non-admin PAT of another user", tokCarol, "/personal_access_tokens/102", 401, fx("401_unauthorized.json")},
		{"non-admin PAT that does not exist", tokCarol, "/personal_access_tokens/999999", 401, fx("401_unauthorized.json")},
		{"non-admin own PAT", tokCarol, "/personal_access_tokens/108", 200, ""},
		{"admin PAT that does not exist", tokAdmin, "/personal_access_tokens/999999", 404, fx("404_not_found.json")},
		{"admin any PAT", tokAdmin, "/personal_access_tokens/103", 200, ""},

		{"developer lists project tokens", tokBob, "/projects/20/access_tokens", 401, fx("401_unauthorized.json")},
		{"maintainer lists project tokens", tokBob, "/projects/21/access_tokens", 200, ""},
		{"maintainer by full path", tokBob, "/projects/top%2Fsub%2Flib/access_tokens", 200, ""},
		{"invisible project", tokCarol, "/projects/20/access_tokens", 404, fx("404_project_not_found.json")},
		{"invisible project by path", tokCarol, "/projects/top%2Fapp", 404, fx("404_project_not_found.json")},
		{"unknown project", tokAdmin, "/projects/999/access_tokens", 404, fx("404_project_not_found.json")},
		{"visible project without role", tokCarol, "/projects/22/access_tokens", 401, fx("401_unauthorized.json")},
		{"owner of a personal project", tokCarol, "/projects/23/access_tokens", 200, ""},
		{"unknown project token", tokAlice, "/projects/20/access_tokens/999", 404, fx("404_project_access_token_not_found.json")},
		{"project token of another project", tokAlice, "/projects/20/access_tokens/110", 404, fx("404_project_access_token_not_found.json")},
		{"owner gets project token", tokAlice, "/projects/20/access_tokens/109", 200, ""},
		{"group owner lists group tokens", tokAlice, "/groups/10/access_tokens", 200, ""},
		{"group owner, subgroup inherits", tokAlice, "/groups/top%2Fsub/access_tokens", 200, ""},
		{"group developer lists group tokens", tokGroupBot, "/groups/10/access_tokens", 401, fx("401_unauthorized.json")},
		{"invisible group", tokCarol, "/groups/10/access_tokens", 404, fx("404_group_not_found.json")},
		{"invisible group by path", tokCarol, "/groups/top", 404, fx("404_group_not_found.json")},
		{"project member reads the ancestor group", tokBob, "/groups/top", 200, ""},
		{"project member, no role on the ancestor group", tokBob, "/groups/10/access_tokens", 401, fx("401_unauthorized.json")},
		{"visible group without role", tokCarol, "/groups/12/access_tokens", 401, fx("401_unauthorized.json")},
		{"unknown group token", tokAlice, "/groups/10/access_tokens/999", 404, `{"message":"404 group Access Token Not Found"}`},

		{"non-admin users list is allowed", tokCarol, "/users", 200, ""},
		{"unknown user", tokCarol, "/users/999", 404, fx("404_user_not_found.json")},
		{"non-admin memberships", tokCarol, "/users/2/memberships", 403, fx("403_forbidden.json")},
		{"admin memberships", tokAdmin, "/users/2/memberships", 200, ""},
		{"admin memberships of unknown user", tokAdmin, "/users/999/memberships", 404, fx("404_user_not_found.json")},
		{"non-admin impersonation tokens", tokCarol, "/users/2/impersonation_tokens", 403, fx("403_forbidden.json")},
		{"non-admin own impersonation tokens", tokAlice, "/users/2/impersonation_tokens", 403, fx("403_forbidden.json")},
		{"non-admin impersonation tokens, malformed user", tokCarol, "/users/x/impersonation_tokens", 403, fx("403_forbidden.json")},
		{"non-admin impersonation token", tokCarol, "/users/2/impersonation_tokens/103", 403, fx("403_forbidden.json")},
		{"admin impersonation tokens", tokAdmin, "/users/2/impersonation_tokens", 200, ""},
		{"admin impersonation tokens, none inactive", tokAdmin, "/users/2/impersonation_tokens?state=inactive", 200, "[]"},
		{"admin impersonation tokens of unknown user", tokAdmin, "/users/999/impersonation_tokens", 404, fx("404_user_not_found.json")},
		{"admin impersonation tokens, malformed user", tokAdmin, "/users/x/impersonation_tokens", 400, `{"error":"user_id is invalid"}`},
		{"admin impersonation tokens, bad state", tokAdmin, "/users/2/impersonation_tokens?state=revoked", 400, `{"error":"state does not have a valid value"}`},
		{"admin impersonation token", tokAdmin, "/users/2/impersonation_tokens/103", 200, ""},
		{"admin impersonation token of unknown user", tokAdmin, "/users/999/impersonation_tokens/103", 404, fx("404_user_not_found.json")},
		{"admin personal token as impersonation token", tokAdmin, "/users/2/impersonation_tokens/102", 404, `{"message":"404 Impersonation Token Not Found"}`},
		{"admin impersonation token of another user", tokAdmin, "/users/3/impersonation_tokens/103", 404, `{"message":"404 Impersonation Token Not Found"}`},
		{"non-admin deploy tokens", tokCarol, "/deploy_tokens", 403, fx("403_forbidden.json")},
		{"non-admin settings", tokAlice, "/application/settings", 403, fx("403_forbidden.json")},
		{"non-admin service accounts", tokAlice, "/service_accounts", 403, fx("403_forbidden.json")},
		{"developer project deploy tokens", tokBob, "/projects/20/deploy_tokens", 403, fx("403_forbidden.json")},
		{"maintainer group deploy tokens", tokAlice, "/groups/10/deploy_tokens", 200, ""},
		{"developer triggers", tokBob, "/projects/20/triggers", 403, fx("403_forbidden.json")},
		{"developer job token scope", tokBob, "/projects/20/job_token_scope", 403, fx("403_forbidden.json")},
		{"owner group service accounts", tokAlice, "/groups/10/service_accounts", 200, ""},
		{"subgroup service accounts", tokAlice, "/groups/11/service_accounts", 403, fx("403_forbidden.json")},
		{"non-owner group service accounts", tokCarol, "/groups/12/service_accounts", 403, fx("403_forbidden.json")},
		{"service account PATs of a non-SA", tokAlice, "/groups/10/service_accounts/3/personal_access_tokens", 404, fx("404_user_not_found.json")},
		// Self-managed EE has the route; it answers not_found! (API::Manage::Groups).
		{"manage endpoints off GitLab.com", tokAlice, "/groups/10/manage/personal_access_tokens", 404, fx("404_not_found.json")},
		{"unknown route", tokAlice, "/nope", 404, unknownRoute},
		{"unknown nested route", tokAlice, "/projects/20/unknown_things", 404, unknownRoute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := doGet(t, s, tc.token, tc.path)
			if r.status != tc.status {
				t.Fatalf("GET %s: status %d, want %d", tc.path, r.status, tc.status)
			}
			if tc.body != "" && string(r.body) != tc.body {
				t.Errorf("GET %s: body %s, want %s", tc.path, r.body, tc.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("GET %s: Content-Type %q", tc.path, ct)
			}
		})
	}
}

func TestInvalidTokenHeadersAndBearer(t *testing.T) {
	s := NewServer(testWorld(), Options{})
	defer s.Close()
	r := doGet(t, s, tokAliceRevoked, "/user")
	if !strings.Contains(r.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("revoked token: WWW-Authenticate %q lacks invalid_token", r.header.Get("WWW-Authenticate"))
	}
	req, _ := http.NewRequest(http.MethodGet, s.URL()+"/api/v4/user", nil)
	req.Header.Set("Authorization", "Bearer "+tokCarol)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var u map[string]any
	_ = json.NewDecoder(res.Body).Decode(&u)
	res.Body.Close()
	if res.StatusCode != 200 || u["username"] != "carol" {
		t.Errorf("Bearer auth: status %d user %v, want 200 carol", res.StatusCode, u["username"])
	}
}

func TestVisibilityViews(t *testing.T) {
	s := NewServer(testWorld(), Options{})
	defer s.Close()
	cases := []struct {
		name  string
		token string
		path  string
		want  []int64
	}{
		// Admin: every token, impersonation and bot tokens included.
		{"admin PAT list", tokAdmin, "/personal_access_tokens", []int64{101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113}},
		// Non-admin: own tokens without impersonation ones.
		{"own PAT list", tokAlice, "/personal_access_tokens", []int64{102, 104, 105, 106}},
		{"admin PAT list by user", tokAdmin, "/personal_access_tokens?user_id=2", []int64{102, 103, 104, 105, 106}},
		{"state=active", tokAlice, "/personal_access_tokens?state=active", []int64{102, 106}},
		{"state=inactive", tokAlice, "/personal_access_tokens?state=inactive", []int64{104, 105}},
		{"revoked=true", tokAlice, "/personal_access_tokens?revoked=true", []int64{104}},
		{"search", tokAdmin, "/personal_access_tokens?search=N-11", []int64{110, 111, 112, 113}},
		{"expires_before tomorrow+1", tokAlice, "/personal_access_tokens?expires_before=2026-06-17", []int64{102, 105}},
		{"sort name_desc", tokAlice, "/personal_access_tokens?sort=name_desc", []int64{106, 105, 104, 102}},
		{"sort expires_asc", tokAdmin, "/personal_access_tokens?user_id=2&sort=expires_asc", []int64{105, 102, 103, 104, 106}},
		{"created_after excludes older", tokAlice, "/personal_access_tokens?created_after=2026-05-01", nil},
		{"created_before includes", tokAlice, "/personal_access_tokens?created_before=2026-05-01T00:00:00Z", []int64{102, 104, 105, 106}},
		{"last_used_after", tokAlice, "/personal_access_tokens?last_used_after=2026-06-15T09:00:00Z", []int64{102, 104, 105, 106}},
		{"last_used_before excludes later use", tokAlice, "/personal_access_tokens?last_used_before=2026-06-15T09:00:00Z", nil},
		{"expires_after is inclusive", tokAlice, "/personal_access_tokens?expires_after=2026-06-16", []int64{102, 104, 106}},
		{"project tokens state=inactive", tokAlice, "/projects/20/access_tokens?state=inactive", nil},
		{"unknown filters are ignored", tokAlice, "/personal_access_tokens?color=blue&frobnicate=1", []int64{102, 104, 105, 106}},
		{"project tokens", tokAlice, "/projects/20/access_tokens", []int64{109}},
		{"group tokens", tokAlice, "/groups/10/access_tokens", []int64{110}},
		// Projects: admin all; bob public + member (20 via project, 21);
		// alice inherits 20 and 21 from group 10; default order created_at desc.
		{"admin projects", tokAdmin, "/projects", []int64{23, 22, 21, 20}},
		{"bob projects", tokBob, "/projects", []int64{22, 21, 20}},
		{"alice projects", tokAlice, "/projects", []int64{22, 21, 20}},
		{"alice membership projects", tokAlice, "/projects?membership=true", []int64{21, 20}},
		{"bob min_access_level 40", tokBob, "/projects?min_access_level=40", []int64{21}},
		{"order_by id asc", tokAdmin, "/projects?order_by=id&sort=asc", []int64{20, 21, 22, 23}},
		{"carol projects", tokCarol, "/projects?owned=true", []int64{23}},
		// Groups: admin all (name asc); alice member groups (10 and 11 inherited).
		{"admin groups", tokAdmin, "/groups", []int64{12, 11, 10}},
		{"alice groups", tokAlice, "/groups", []int64{11, 10}},
		{"alice all_available", tokAlice, "/groups?all_available=true", []int64{12, 11, 10}},
		{"carol groups", tokCarol, "/groups", nil},
		{"top_level_only", tokAdmin, "/groups?top_level_only=true&order_by=id", []int64{10, 12}},
		{"subgroups", tokAlice, "/groups/10/subgroups", []int64{11}},
		{"descendants", tokAlice, "/groups/10/descendant_groups", []int64{11}},
		{"group projects", tokAlice, "/groups/10/projects", []int64{20}},
		{"group projects with subgroups", tokAlice, "/groups/10/projects?include_subgroups=true", []int64{21, 20}},
		{"users admin default id desc", tokAdmin, "/users?without_project_bots=true&humans=true", []int64{7, 4, 3, 2, 1}},
		{"users by username", tokCarol, "/users?username=ALICE", []int64{2}},
		{"users active humans", tokAdmin, "/users?humans=true&active=true", []int64{4, 3, 2, 1}},
		{"users blocked", tokAdmin, "/users?blocked=true", []int64{7}},
		{"service accounts, group ones included", tokAdmin, "/service_accounts", []int64{9, 8}},
		{"group service accounts", tokAlice, "/groups/10/service_accounts", []int64{8}},
		{"group SA tokens", tokAlice, "/groups/10/service_accounts/8/personal_access_tokens", []int64{112}},
		{"all deploy tokens", tokAdmin, "/deploy_tokens", []int64{301, 302}},
		{"active deploy tokens", tokAdmin, "/deploy_tokens?active=true", []int64{301, 302}},
		{"project deploy tokens", tokAlice, "/projects/20/deploy_tokens", []int64{301}},
		{"triggers", tokAlice, "/projects/20/triggers", []int64{401, 402}},
		{"job token allowlist", tokAlice, "/projects/20/job_token_scope/allowlist", []int64{21}},
		{"job token groups allowlist", tokAlice, "/projects/20/job_token_scope/groups_allowlist", []int64{12}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := doGet(t, s, tc.token, tc.path)
			if r.status != 200 {
				t.Fatalf("GET %s: status %d body %s", tc.path, r.status, r.body)
			}
			got := jsonIDs(decodeList(t, r))
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("GET %s: ids %v, want %v", tc.path, got, tc.want)
			}
		})
	}
}

func TestEntityDetails(t *testing.T) {
	s := NewServer(testWorld(), Options{})
	defer s.Close()

	// Non-admin /users: UserBasic only; admin: UserWithAdmin.
	basic := decodeList(t, doGet(t, s, tokCarol, "/users?username=root"))[0]
	for _, k := range []string{"bot", "email", "is_admin"} {
		if _, ok := basic[k]; ok {
			t.Errorf("non-admin /users has %q", k)
		}
	}
	admin := decodeList(t, doGet(t, s, tokAdmin, "/users?username=root"))[0]
	if admin["is_admin"] != true || admin["bot"] != false || admin["email"] != "root@example.com" {
		t.Errorf("admin /users view: is_admin=%v bot=%v email=%v", admin["is_admin"], admin["bot"], admin["email"])
	}
	var one map[string]any
	_ = json.Unmarshal(doGet(t, s, tokCarol, "/users/5").body, &one)
	if one["bot"] != true {
		t.Errorf("non-admin /users/:id of a bot: bot=%v, want true", one["bot"])
	}

	// Token entity values and formats.
	var tok map[string]any
	_ = json.Unmarshal(doGet(t, s, tokAdmin, "/personal_access_tokens/102").body, &tok)
	want := map[string]any{"expires_at": "2026-06-16", "active": true, "description": "alice's token",
		"created_at": "2026-04-15T12:00:00.000Z", "last_used_at": "2026-06-15T10:00:00.000Z"}
	for k, v := range want {
		if tok[k] != v {
			t.Errorf("token 102 %s = %v, want %v", k, tok[k], v)
		}
	}
	if _, ok := tok["impersonation"]; ok {
		t.Error("PAT entity carries impersonation")
	}
	_ = json.Unmarshal(doGet(t, s, tokAdmin, "/personal_access_tokens/105").body, &tok)
	if tok["active"] != false {
		t.Errorf("token expiring today: active=%v, want false", tok["active"])
	}
	_ = json.Unmarshal(doGet(t, s, tokAdmin, "/personal_access_tokens/101").body, &tok)
	if tok["description"] != nil {
		t.Errorf("empty description = %v, want null", tok["description"])
	}

	// Resource token entity.
	rt := decodeList(t, doGet(t, s, tokAlice, "/projects/20/access_tokens"))[0]
	if rt["access_level"] != 40.0 || rt["resource_type"] != "project" || rt["resource_id"] != 20.0 {
		t.Errorf("project token: access_level=%v resource_type=%v resource_id=%v", rt["access_level"], rt["resource_type"], rt["resource_id"])
	}

	// Triggers: full token only for its owner, else 4 characters after glptt-.
	byID := map[float64]string{}
	for _, tr := range decodeList(t, doGet(t, s, tokAdmin, "/projects/20/triggers")) {
		byID[tr["id"].(float64)] = tr["token"].(string)
	}
	if byID[401] != "bobt" || byID[402] != "alic" {
		t.Errorf("admin (not owner) sees trigger tokens not masked to 4 characters")
	}
	w := testWorld()
	w.Projects[0].Members = append(w.Projects[0].Members, Membership{UserID: 3, AccessLevel: 40})
	s2 := NewServer(w, Options{})
	defer s2.Close()
	for _, tr := range decodeList(t, doGet(t, s2, tokBob, "/projects/20/triggers")) {
		full := tr["token"] == tokTriggerBob
		if tr["id"] == 401.0 && !full {
			t.Error("owner does not see their trigger token in full")
		}
		if tr["id"] == 402.0 && tr["token"] != "alic" {
			t.Error("non-owner sees more than 4 characters of a trigger token")
		}
	}
}

func TestSimpleProjects(t *testing.T) {
	s := NewServer(testWorld(), Options{})
	defer s.Close()
	full := decodeList(t, doGet(t, s, tokAdmin, "/projects?order_by=id&sort=asc"))[0]
	simple := decodeList(t, doGet(t, s, tokAdmin, "/projects?order_by=id&sort=asc&simple=true"))[0]
	if _, ok := simple["archived"]; ok {
		t.Error("simple=true project has archived")
	}
	if full["archived"] != false || full["path_with_namespace"] != "top/app" || simple["path_with_namespace"] != "top/app" {
		t.Errorf("project 20: archived=%v path_with_namespace=%v/%v", full["archived"], full["path_with_namespace"], simple["path_with_namespace"])
	}
	ns := full["namespace"].(map[string]any)
	if ns["kind"] != "group" || ns["full_path"] != "top" {
		t.Errorf("project 20 namespace %v", ns)
	}
	var personal map[string]any
	_ = json.Unmarshal(doGet(t, s, tokCarol, "/projects/carol%2Fnotes").body, &personal)
	if personal["namespace"].(map[string]any)["kind"] != "user" {
		t.Errorf("personal project namespace %v", personal["namespace"])
	}
}

// Requests race with Mutate; run under -race.
func TestConcurrentRequestsAndMutate(t *testing.T) {
	s := NewServer(testWorld(), Options{})
	defer s.Close()
	done := make(chan struct{})
	errs := make(chan string, 64)
	for g := 0; g < 6; g++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := 0; i < 30; i++ {
				path := []string{"/personal_access_tokens", "/projects", "/groups/10/access_tokens", "/users", "/nope"}[i%5]
				req, _ := http.NewRequest(http.MethodGet, s.URL()+"/api/v4"+path, nil)
				req.Header.Set("PRIVATE-TOKEN", tokAdmin)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					errs <- err.Error()
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		}()
	}
	for i := 0; i < 20; i++ {
		s.Mutate(func(w *World) {
			w.Tokens = append(w.Tokens, &PersonalAccessToken{ID: int64(1000 + i), UserID: 2, Name: "added", Scopes: []string{"api"}, CreatedAt: testNow})
		})
	}
	for g := 0; g < 6; g++ {
		<-done
	}
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if got := s.Counts(); got["GET /personal_access_tokens"] != 36 || s.TotalRequests() != 180 {
		t.Errorf("counts after concurrent requests: %v total %d", got, s.TotalRequests())
	}
	r := doGet(t, s, tokAdmin, "/personal_access_tokens?user_id=2&per_page=100")
	if n := len(decodeList(t, r)); n != 25 {
		t.Errorf("after 20 Mutate additions: %d tokens of user 2, want 25", n)
	}
}

func TestLastUsedIPsModes(t *testing.T) {
	for _, tc := range []struct {
		mode string
		want string // JSON of last_used_ips, "" for absent
	}{{"absent", ""}, {"empty", "[]"}, {"populated", `["192.0.2.1"]`}, {"", `["192.0.2.1"]`}} {
		w := testWorld()
		w.LastUsedIPs = tc.mode
		s := NewServer(w, Options{})
		var m map[string]json.RawMessage
		_ = json.Unmarshal(doGet(t, s, tokCarol, "/personal_access_tokens/self").body, &m)
		got, ok := m["last_used_ips"]
		if (tc.want == "") == ok || (ok && string(got) != tc.want) {
			t.Errorf("LastUsedIPs %q: last_used_ips present=%v value=%s, want %q", tc.mode, ok, got, tc.want)
		}
		s.Close()
	}
}

func TestGitLabComRoutes(t *testing.T) {
	w := testWorld()
	w.GitLabCom, w.Version = true, GeneratorGitLabComVersion
	s := NewServer(w, Options{})
	defer s.Close()
	r := doGet(t, s, tokAlice, "/groups/10/manage/resource_access_tokens")
	if r.status != 200 {
		t.Fatalf("manage/resource_access_tokens: status %d", r.status)
	}
	if got := jsonIDs(decodeList(t, r)); fmt.Sprint(got) != "[109 110]" {
		t.Errorf("manage/resource_access_tokens ids %v, want [109 110]", got)
	}
	r = doGet(t, s, tokAlice, "/groups/10/manage/personal_access_tokens")
	if got := jsonIDs(decodeList(t, r)); fmt.Sprint(got) != "[102 104 105 106 107]" {
		t.Errorf("manage/personal_access_tokens ids %v, want the non-impersonation tokens of alice and bob (members in the hierarchy)", got)
	}
	if r := doGet(t, s, tokGroupBot, "/groups/10/manage/personal_access_tokens"); r.status != 403 {
		t.Errorf("non-owner manage: status %d, want 403", r.status)
	}
	// No administrators on GitLab.com.
	if r := doGet(t, s, tokAdmin, "/application/settings"); r.status != 403 {
		t.Errorf("settings on GitLab.com: status %d, want 403", r.status)
	}
	if r := doGet(t, s, tokAdmin, "/users/2/impersonation_tokens"); r.status != 403 {
		t.Errorf("impersonation tokens on GitLab.com: status %d, want 403", r.status)
	}
}

func TestCountsAndMutate(t *testing.T) {
	s := NewServer(testWorld(), Options{})
	defer s.Close()
	doGet(t, s, tokAlice, "/projects/20/access_tokens")
	doGet(t, s, tokAlice, "/projects/top%2Fapp/access_tokens")
	doGet(t, s, tokAlice, "/nope")
	c := s.Counts()
	if c["GET /projects/:id/access_tokens"] != 2 || c["unknown"] != 1 || s.TotalRequests() != 3 {
		t.Errorf("counts %v total %d", c, s.TotalRequests())
	}
	s.ResetCounts()
	if s.TotalRequests() != 0 || len(s.Counts()) != 0 {
		t.Error("ResetCounts left counts")
	}
	// Revoke a token between two pages: the next page sees it.
	if r := doGet(t, s, tokCarol, "/user"); r.status != 200 {
		t.Fatalf("carol before revoke: %d", r.status)
	}
	s.Mutate(func(w *World) {
		for _, tk := range w.Tokens {
			if tk.ID == 108 {
				tk.Revoked = true
			}
		}
		w.Tokens = append(w.Tokens, &PersonalAccessToken{ID: 114, UserID: 4, Name: "new", Scopes: []string{"api"}, CreatedAt: testNow, Value: "glpat-test-carol-new-00000"})
	})
	if r := doGet(t, s, tokCarol, "/user"); r.status != 401 {
		t.Errorf("revoked by Mutate: status %d, want 401", r.status)
	}
	if r := doGet(t, s, "glpat-test-carol-new-00000", "/personal_access_tokens"); r.status != 200 || fmt.Sprint(jsonIDs(decodeList(t, r))) != "[108 114]" {
		t.Errorf("token created by Mutate: status %d", r.status)
	}
}
