package gitlabsim

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// fixturesDir holds GitLab's example responses the tests compare against
// (testdata/fixtures/SOURCES.md says where each comes from). collect's
// tests read the same copy.
var fixturesDir = filepath.Join("testdata", "fixtures")

func readSharedFixture(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join(fixturesDir, name))
}

// fixtureCase maps a fixture of an endpoint the simulator serves to the
// request that fetches the simulator's object of that kind.
type fixtureCase struct {
	fixture string
	token   string
	path    string
	com     bool // serve the World as GitLab.com
	// version serves the World as that GitLab; "" is testWorld's
	// (GeneratorGitLabComVersion on GitLab.com).
	version string
	// extra: keys the simulator sends beyond the fixture, each for a
	// documented reason (a newer GitLab than the example). "a.b" is key b
	// of the nested object a.
	extra []string
	// missing: fixture keys the simulator leaves out, with the reason in
	// the comment beside the case.
	missing []string
	// retyped: keys whose JSON type deliberately differs from the fixture.
	retyped []string
}

var (
	// PersonalAccessTokenWithLastUsedIps sends last_used_ips from about
	// 17.9 (lib/api/entities/personal_access_token_with_last_used_ips.rb);
	// the docs examples predate it.
	patExtra = []string{"last_used_ips"}
	// ResourceAccessToken gained resource_type/resource_id (≈17.10) and,
	// with MR !250307, last_used_ips (lib/api/entities/resource_access_token.rb).
	resourceExtra = []string{"resource_type", "resource_id", "last_used_ips"}
	// BasicProjectDetails has readme_url and forks_count
	// (lib/api/entities/basic_project_details.rb@05f0ebba); newer
	// namespace entities carry full_path, parent_id, avatar_url and web_url.
	projectExtra = []string{"readme_url", "forks_count", "empty_repo", "namespace.full_path", "namespace.parent_id", "namespace.avatar_url", "namespace.web_url"}
)

var fixtureCases = []fixtureCase{
	{fixture: "personal_access_tokens_list.json", token: tokAdmin, path: "/personal_access_tokens", extra: patExtra},
	{fixture: "personal_access_tokens_list__clientgo_with_user_filter.json", token: tokAdmin, path: "/personal_access_tokens?user_id=2", extra: patExtra},
	{fixture: "personal_access_tokens_list__clientgo_without_user_filter.json", token: tokAlice, path: "/personal_access_tokens", extra: patExtra},
	{fixture: "personal_access_tokens_get__clientgo.json", token: tokAdmin, path: "/personal_access_tokens/102", extra: patExtra},
	// The current shape: a real GitLab.com answer of March 2026 (18.10),
	// with granular and not yet expired; no extra key allowed.
	{fixture: "personal_access_tokens_self__observed_gitlab_com_2026.json", token: tokAlice, path: "/personal_access_tokens/self", com: true, version: "18.10.0-pre"},
	// The newest entity adds expired (lib/api/entities/personal_access_token.rb).
	{fixture: "personal_access_tokens_self__observed_gitlab_com_2026.json", token: tokAlice, path: "/personal_access_tokens/self", com: true, version: "18.11.0-pre", extra: []string{"expired"}},
	{fixture: "personal_access_tokens_list.json", token: tokAdmin, path: "/personal_access_tokens", version: "18.11.0-ee", extra: []string{"expired", "granular", "last_used_ips"}},
	{fixture: "project_access_tokens_list.json", token: tokAlice, path: "/projects/20/access_tokens", extra: resourceExtra},
	{fixture: "project_access_tokens_get.json", token: tokAlice, path: "/projects/20/access_tokens/109", extra: resourceExtra},
	{fixture: "project_access_tokens_list__clientgo.json", token: tokAlice, path: "/projects/20/access_tokens", extra: append([]string{"last_used_at"}, resourceExtra...)},
	{fixture: "project_access_tokens_get__clientgo.json", token: tokAlice, path: "/projects/20/access_tokens/109", extra: append([]string{"last_used_at"}, resourceExtra...)},
	// The 17.2 docs example predates description (17.7).
	{fixture: "group_access_tokens_list.json", token: tokAlice, path: "/groups/10/access_tokens", extra: append([]string{"description"}, resourceExtra...)},
	// The 14.x shape lacks last_used_at and description too; the current
	// shape is the one above and the credentials-inventory example below.
	{fixture: "group_access_tokens_list__v14.json", token: tokAlice, path: "/groups/10/access_tokens", extra: append([]string{"description", "last_used_at"}, resourceExtra...)},
	{fixture: "group_access_tokens_list__clientgo.json", token: tokAlice, path: "/groups/10/access_tokens", extra: append([]string{"last_used_at"}, resourceExtra...)},
	{fixture: "group_access_tokens_get__clientgo.json", token: tokAlice, path: "/groups/10/access_tokens/110", extra: append([]string{"last_used_at"}, resourceExtra...)},
	{fixture: "groups_manage_personal_access_tokens_list.json", token: tokAlice, path: "/groups/10/manage/personal_access_tokens", com: true, extra: []string{"last_used_ips"}},
	{fixture: "groups_manage_resource_access_tokens_list.json", token: tokAlice, path: "/groups/10/manage/resource_access_tokens", com: true, extra: []string{"last_used_ips"}},
	// The users.md example predates description (17.7); last_used_ips as
	// on the other token routes of this server.
	{fixture: "impersonation_tokens_list__first_element.json", token: tokAdmin, path: "/users/2/impersonation_tokens", extra: []string{"description", "last_used_ips"}},
	{fixture: "groups_service_accounts_personal_access_tokens_list.json", token: tokAlice, path: "/groups/10/service_accounts/8/personal_access_tokens", extra: []string{"last_used_ips"}},
	// The first element; the second shows the optional unconfirmed_email.
	{fixture: "groups_service_accounts_list.json", token: tokAlice, path: "/groups/10/service_accounts"},
	{fixture: "service_accounts_list.json", token: tokAdmin, path: "/service_accounts"},
	{fixture: "service_accounts_list__clientgo.json", token: tokAdmin, path: "/service_accounts"},
	{fixture: "users_list.json", token: tokCarol, path: "/users"},
	// UserWithAdmin inherits Entities::User, which exposes bot. The docs
	// example is the Free one: Premium and Ultimate add
	// provisioned_by_group_id (https://docs.gitlab.com/api/users/#as-an-administrator),
	// as the simulator's EE does; so do the two client-go fixtures below.
	{fixture: "users_list_as_admin.json", token: tokAdmin, path: "/users", extra: []string{"bot", "provisioned_by_group_id"}},
	{fixture: "users_get.json", token: tokCarol, path: "/users/2"},
	// Hand-written client-go fixtures, older than the docs examples above.
	// The list one gives UserBasic a public_email the docs example and
	// UserBasic do not have.
	{fixture: "users_list__clientgo.json", token: tokCarol, path: "/users", extra: []string{"locked", "avatar_url"}, missing: []string{"public_email"}},
	{fixture: "users_get__clientgo.json", token: tokCarol, path: "/users/2", extra: []string{"locked", "discord", "pronouns", "work_information", "local_time", "is_followed"}},
	// Hand-written client-go fixture: plan and trial are GitLab.com-only,
	// scim_identities needs group SAML, none of which a World models.
	{fixture: "users_get_as_admin__clientgo.json", token: tokAdmin, path: "/users/2",
		extra:   []string{"locked", "bot", "discord", "pronouns", "work_information", "followers", "following", "local_time", "is_followed", "created_by", "email_reset_offered_at", "highest_role", "using_license_seat", "sign_in_count", "last_sign_in_ip", "current_sign_in_ip", "provisioned_by_group_id"},
		missing: []string{"plan", "trial", "scim_identities"}},
	{fixture: "users_get_project_bot__clientgo.json", token: tokAdmin, path: "/users/5", extra: []string{"locked", "is_auditor", "using_license_seat", "provisioned_by_group_id"}},
	// The docs example (https://docs.gitlab.com/api/users/, user memberships)
	// types access_level as a string, taken for a doc typo: client-go and
	// every other access_level are integers. The int-typed client-go example
	// is the one checked.
	{fixture: "users_memberships__clientgo.json", token: tokAdmin, path: "/users/3/memberships"},
	{fixture: "deploy_tokens_list.json", token: tokAdmin, path: "/deploy_tokens"},
	{fixture: "projects_deploy_tokens_list.json", token: tokAlice, path: "/projects/20/deploy_tokens"},
	{fixture: "groups_deploy_tokens_list.json", token: tokAlice, path: "/groups/10/deploy_tokens"},
	// The current entity adds expires_at (lib/api/entities/trigger.rb); the
	// legacy deleted_at example is not the current shape.
	{fixture: "projects_triggers_list.json", token: tokAlice, path: "/projects/20/triggers", extra: []string{"expires_at"}},
	{fixture: "projects_job_token_scope_get.json", token: tokAlice, path: "/projects/20/job_token_scope"},
	{fixture: "projects_job_token_scope_allowlist_list.json", token: tokAlice, path: "/projects/20/job_token_scope/allowlist", extra: projectExtra},
	{fixture: "projects_job_token_scope_groups_allowlist_list.json", token: tokAlice, path: "/projects/20/job_token_scope/groups_allowlist"},
	{fixture: "groups_list.json", token: tokAdmin, path: "/groups"},
	{fixture: "groups_projects_list.json", token: tokAlice, path: "/groups/10/projects", extra: projectExtra},
	// The token settings the World models that the 17.6-era docs example
	// leaves out (https://docs.gitlab.com/api/settings/).
	{fixture: "application_settings_get.json", token: tokAdmin, path: "/application/settings",
		extra: []string{"max_personal_access_token_lifetime", "service_access_tokens_expiration_enforced", "throttle_authenticated_api_enabled", "throttle_authenticated_api_requests_per_period", "throttle_authenticated_api_period_in_seconds"},
		// A decimal column, a JSON string as Rails renders BigDecimal and
		// client-go decodes it; the docs example shows a number.
		retyped: []string{"polling_interval_multiplier"}},
}

// notServed are fixtures of shapes the simulator does not serve that other
// tests still read: collect's tests decode the legacy trigger shape, with
// deleted_at, which current GitLab no longer sends.
var notServed = []string{
	"projects_triggers_list__legacy_with_deleted_at.json",
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "?"
}

// compareShape reports differences between a fixture object and the
// simulator's: keys missing from the simulator, keys only the simulator
// sends (unless allowed), and JSON kinds that differ. null on either side
// is compatible with any kind (nullable fields); nested objects are
// compared the same way.
func compareShape(prefix string, fx, sim map[string]any, extra, missing, retyped map[string]bool) []string {
	var diffs []string
	for k, fv := range fx {
		key := prefix + k
		sv, ok := sim[k]
		if !ok {
			if !missing[key] {
				diffs = append(diffs, "missing key "+key)
			}
			continue
		}
		fk, sk := jsonKind(fv), jsonKind(sv)
		if fk == "null" || sk == "null" {
			continue
		}
		if fk != sk && !retyped[key] {
			diffs = append(diffs, "key "+key+": fixture "+fk+", simulator "+sk)
			continue
		}
		if fk == "object" {
			diffs = append(diffs, compareShape(key+".", fv.(map[string]any), sv.(map[string]any), extra, missing, retyped)...)
		}
	}
	for k := range sim {
		if _, ok := fx[k]; !ok && !extra[prefix+k] {
			diffs = append(diffs, "extra key "+prefix+k)
		}
	}
	sort.Strings(diffs)
	return diffs
}

func firstObject(t *testing.T, what string, b []byte) map[string]any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: decode: %v", what, err)
	}
	switch x := v.(type) {
	case map[string]any:
		return x
	case []any:
		if len(x) == 0 {
			t.Fatalf("%s: empty list", what)
		}
		m, ok := x[0].(map[string]any)
		if !ok {
			t.Fatalf("%s: list of %s", what, jsonKind(x[0]))
		}
		return m
	}
	t.Fatalf("%s: JSON %s, want object or list", what, jsonKind(v))
	return nil
}

func TestFixtureShapes(t *testing.T) {
	entries, err := os.ReadDir(fixturesDir)
	if err != nil {
		t.Fatalf("fixtures directory %s: %v", fixturesDir, err)
	}
	known := map[string]bool{}
	for _, c := range fixtureCases {
		known[c.fixture] = true
	}
	for _, n := range notServed {
		known[n] = true
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json") && !known[e.Name()] {
			t.Errorf("fixture %s is neither checked nor listed as not served", e.Name())
		}
	}

	// One server per offering and version the cases ask for.
	servers := map[[2]string]*Server{}
	serverFor := func(com bool, version string) *Server {
		key := [2]string{fmt.Sprint(com), version}
		if s := servers[key]; s != nil {
			return s
		}
		w := testWorld()
		if com {
			w.GitLabCom, w.Version = true, GeneratorGitLabComVersion
		}
		if version != "" {
			w.Version = version
		}
		s := NewServer(w, Options{})
		servers[key] = s
		return s
	}
	defer func() {
		for _, s := range servers {
			s.Close()
		}
	}()

	for _, c := range fixtureCases {
		t.Run(c.fixture+c.version, func(t *testing.T) {
			b, err := readSharedFixture(c.fixture)
			if err != nil {
				t.Fatalf("read fixture: %v", err)
			}
			fx := firstObject(t, c.fixture, b)
			s := serverFor(c.com, c.version)
			r := doGet(t, s, c.token, c.path)
			if r.status != 200 {
				t.Fatalf("GET %s: status %d", c.path, r.status)
			}
			sim := firstObject(t, c.path, r.body)
			set := func(keys []string) map[string]bool {
				m := map[string]bool{}
				for _, k := range keys {
					m[k] = true
				}
				return m
			}
			for _, d := range compareShape("", fx, sim, set(c.extra), set(c.missing), set(c.retyped)) {
				t.Errorf("GET %s vs %s: %s", c.path, c.fixture, d)
			}
		})
	}
}
