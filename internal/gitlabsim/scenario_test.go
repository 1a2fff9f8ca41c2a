package gitlabsim

import (
	"errors"
	"io/fs"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func ptr[T any](v T) *T { return &v }

// ignoreValues leaves token values out of diffs: they are secrets, never
// printed, and checked separately.
var ignoreValues = cmp.Options{
	cmpopts.IgnoreFields(PersonalAccessToken{}, "Value"),
	cmpopts.IgnoreFields(DeployToken{}, "Value"),
	cmpopts.IgnoreFields(Trigger{}, "Value"),
	cmpopts.EquateEmpty(),
}

func TestLoadScenarioOdd(t *testing.T) {
	got, err := LoadScenario("testdata/scenarios/odd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	bot := "project_77_bot_0123456789abcdef0123456789abcdef"
	want := &World{
		Now: now, Version: GeneratorVersion, Revision: GeneratorRevision, LastUsedIPs: "absent",
		Settings: defaultSettings(),
		Users: []*User{
			{ID: 1, Username: "root", Name: "root", Email: "root@example.com", State: "active", Admin: true, UserType: UserTypeHuman, CreatedAt: date(2018, 1, 1)},
			{ID: 2, Username: "dana", Name: "dana", Email: "dana@example.com", State: "blocked", UserType: UserTypeHuman, CreatedAt: date(2019, 1, 1)},
			{ID: 3, Username: "erik", Name: "erik", Email: "erik@example.com", State: "active", UserType: UserTypeHuman, CreatedAt: date(2019, 6, 1)},
			{ID: 4, Username: bot, Name: "old-ci", Email: bot + "@noreply.gitlab.example.com", State: "active", UserType: UserTypeProjectBot,
				BotSourceType: "project", BotSourceID: 77, CreatedAt: date(2023, 1, 1)},
			{ID: 5, Username: "service_account_33", Name: "service_account_33", Email: "service_account_33@noreply.gitlab.example.com",
				State: "active", UserType: UserTypeServiceAccount, CreatedAt: date(2024, 1, 1)},
		},
		Groups: []*Group{{ID: 1, Name: "legacy", Path: "legacy", Visibility: "private", CreatedAt: now.AddDate(-1, 0, 0)}},
		Projects: []*Project{{ID: 1, Name: "monolith", Path: "monolith", GroupID: 1, Visibility: "private",
			CreatedAt: date(2018, 6, 1), LastActivityAt: date(2018, 6, 1), JobTokenScope: JobTokenScope{InboundEnabled: true}}},
		Tokens: []*PersonalAccessToken{
			{ID: 1, UserID: 3, Name: "from-2015", Scopes: []string{"api"}, CreatedAt: time.Date(2015, 4, 1, 8, 0, 0, 0, time.UTC),
				LastUsedAt: ptr(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)), Plant: PlantNeverExpires},
			{ID: 2, UserID: 3, Name: "new-things", Scopes: []string{"read_api", "mcp", "granular"}, CreatedAt: time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC),
				ExpiresAt: ptr(date(2027, 6, 1)), Plant: PlantUnknownScope},
			{ID: 3, UserID: 3, Name: "gone", Scopes: []string{"read_repository"}, CreatedAt: time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC),
				ExpiresAt: ptr(date(2026, 11, 1)), LastUsedAt: ptr(time.Date(2026, 10, 30, 8, 0, 0, 0, time.UTC)), Plant: PlantExpired},
			{ID: 4, UserID: 3, Name: "leaked", Scopes: []string{"api"}, CreatedAt: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC),
				ExpiresAt: ptr(date(2027, 3, 1)), Revoked: true, Plant: PlantRevoked},
			{ID: 5, UserID: 2, Name: "still-active", Scopes: []string{"read_api"}, CreatedAt: time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC),
				ExpiresAt: ptr(date(2027, 4, 1)), LastUsedAt: ptr(time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)), Plant: PlantBlockedOwner},
			{ID: 6, UserID: 4, Name: "old-ci", Scopes: []string{"api"}, CreatedAt: date(2023, 1, 1)},
			{ID: 7, UserID: 5, Name: "sa", Scopes: []string{"sudo"}, CreatedAt: date(2024, 1, 1)},
		},
		DeployTokens: []*DeployToken{
			{ID: 1, Name: "forever", Username: "gitlab+deploy-token-1", ProjectID: 1, Scopes: []string{"read_repository"}, Plant: PlantDeployNeverExpires},
			{ID: 2, Name: "revoked-one", Username: "gitlab+deploy-token-2", GroupID: 1, ExpiresAt: ptr(date(2026, 1, 1)), Revoked: true, Scopes: []string{"read_registry"}},
		},
		Triggers: []*Trigger{
			{ID: 1, ProjectID: 1, Description: "orphan", CreatedAt: date(2020, 1, 1), UpdatedAt: date(2020, 1, 1),
				LastUsed: ptr(date(2026, 11, 20)), Plant: PlantTriggerNoOwner},
			{ID: 2, ProjectID: 1, OwnerID: 2, Description: "blocked", CreatedAt: date(2025, 1, 1), UpdatedAt: date(2025, 1, 1),
				ExpiresAt: ptr(date(2027, 1, 1)), Plant: PlantTriggerBlockedOwner},
		},
	}
	if diff := cmp.Diff(want, got, ignoreValues); diff != "" {
		t.Errorf("LoadScenario(odd.yaml) mismatch (-want +got):\n%s", diff)
	}

	// Values: the given one kept, the others generated in GitLab's formats,
	// unique, and the same on every load.
	if got.Tokens[6].Value != "glpat-oddscenario000000001" {
		t.Error("token 7: the value given in the file was not kept")
	}
	again, err := LoadScenario("testdata/scenarios/odd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	check := func(what string, id int64, v, v2 string, re *regexp.Regexp) {
		t.Helper()
		if !re.MatchString(v) || seen[v] || v != v2 {
			t.Errorf("%s %d: value malformed, repeated or not the same on a second load", what, id)
		}
		seen[v] = true
	}
	for i, x := range got.Tokens[:6] {
		check("token", x.ID, x.Value, again.Tokens[i].Value, patValue)
	}
	for i, d := range got.DeployTokens {
		check("deploy token", d.ID, d.Value, again.DeployTokens[i].Value, deployValue)
	}
	for i, tr := range got.Triggers {
		check("trigger", tr.ID, tr.Value, again.Triggers[i].Value, triggerValue)
	}
	basic, err := LoadScenario("testdata/scenarios/basic.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if basic.Tokens[0].Value == got.Tokens[0].Value {
		t.Error("two scenario files generate the same first token value")
	}
}

func TestLoadScenarioBasic(t *testing.T) {
	w, err := LoadScenario("testdata/scenarios/basic.yaml")
	if err != nil {
		t.Fatal(err)
	}
	users, groups, projects := indexWorld(w)
	var ids []int64
	for _, u := range w.Users {
		ids = append(ids, u.ID)
	}
	// IDs not given follow the highest so far: the bot with id 9 makes the
	// service account 10.
	if diff := cmp.Diff([]int64{1, 2, 3, 4, 5, 9, 10}, ids); diff != "" {
		t.Errorf("user IDs mismatch (-want +got):\n%s", diff)
	}
	if gb := users[9]; !regexp.MustCompile(`^group_1_bot_[0-9a-f]{32}$`).MatchString(gb.Username) || memberLevel(groups[1].Members, 9) != 30 {
		t.Errorf("group bot: username %q, level %d in acme; want group_1_bot_<hex>, 30", gb.Username, memberLevel(groups[1].Members, 9))
	}
	if sa := users[10]; !regexp.MustCompile(`^service_account_group_1_[0-9a-f]{32}$`).MatchString(sa.Username) || sa.ServiceAccountGroupID != 1 {
		t.Errorf("group service account: username %q, group %d", sa.Username, sa.ServiceAccountGroupID)
	}
	for id, want := range map[int64]struct {
		parent int64
		path   string
	}{1: {0, "acme"}, 2: {1, "acme/platform"}, 3: {2, "acme/platform/tools"}} {
		if g := groups[id]; g == nil || g.ParentID != want.parent || groupPath(groups, g) != want.path {
			t.Errorf("group %d: want %s under %d", id, want.path, want.parent)
		}
	}
	api, cli, dotfiles := projects[3], projects[4], projects[5]
	if api == nil || cli == nil || dotfiles == nil {
		t.Fatalf("projects %v, want IDs 3, 4, 5", projects)
	}
	if diff := cmp.Diff([]Membership{{UserID: 3, AccessLevel: 40}, {UserID: 5, AccessLevel: 40}}, api.Members); diff != "" {
		t.Errorf("acme/platform/api members mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(JobTokenScope{InboundEnabled: true, AllowlistProjectIDs: []int64{4}, AllowlistGroupIDs: []int64{2}}, api.JobTokenScope); diff != "" {
		t.Errorf("acme/platform/api job token scope mismatch (-want +got):\n%s", diff)
	}
	if cli.GroupID != 3 || dotfiles.UserID != 3 || dotfiles.GroupID != 0 || !dotfiles.Archived || dotfiles.JobTokenScope.InboundEnabled {
		t.Errorf("cli in group %d; dotfiles in user %d, archived %v, inbound %v", cli.GroupID, dotfiles.UserID, dotfiles.Archived, dotfiles.JobTokenScope.InboundEnabled)
	}
	if s := w.Settings; !s.RequirePersonalAccessTokenExpiry || s.MaxPersonalAccessTokenLifetime == nil || *s.MaxPersonalAccessTokenLifetime != 365 {
		t.Errorf("settings %+v, want expiry required, max lifetime 365", s)
	}
	wantCounts := map[string]int{KindPersonal: 3, KindImpersonation: 1, KindProjectAccess: 1, KindGroupAccess: 1, KindDeploy: 2, KindPipelineTrigger: 1}
	if diff := cmp.Diff(wantCounts, w.TokenCounts()); diff != "" {
		t.Errorf("TokenCounts() mismatch (-want +got):\n%s", diff)
	}
	if w.AdminToken() != w.Tokens[0].Value {
		t.Error("AdminToken() is not root's token")
	}
	if v, path := w.GroupOwnerToken(); v != w.Tokens[1].Value || path != "acme" {
		t.Errorf("GroupOwnerToken() is not alice's token for acme (path %q)", path)
	}
}

func TestParseScenarioErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // substrings of the error
	}{
		{"unknown top-level key", "now: 2026-11-27T12:00:00Z\ncolour: red\n", []string{"line 2", "colour"}},
		{"unknown user key", "users:\n  - username: a\n    usernme: b\n", []string{"line 3", "usernme"}},
		{"unknown token key", "users:\n  - username: a\ntokens:\n  - user: a\n    name: x\n    expires: 2027-01-01\n", []string{"line 6", "expires"}},
		{"syntax", "users: [\n", []string{"decode scenario"}},
		{"token of unknown user", "users:\n  - username: a\ntokens:\n  - user: a\n    name: ok\n  - user: bob\n    name: ci\n",
			[]string{"line 6", `token "ci"`, `unknown user "bob"`}},
		{"project in unknown group", "groups:\n  - path: acme\nprojects:\n  - path: api\n    group: acmee\n",
			[]string{"line 4", `project "api"`, `unknown group "acmee"`}},
		{"project full path in unknown namespace", "projects:\n  - path: nobody/api\n", []string{`project "nobody/api"`, `unknown namespace "nobody"`}},
		{"project without namespace", "projects:\n  - path: api\n", []string{`project "api"`, "group or a user"}},
		{"group of unknown parent", "groups:\n  - path: a/b\n", []string{"line 2", `group "a/b"`, `unknown parent group "a"`}},
		{"duplicate username", "users:\n  - username: a\n  - username: a\n", []string{"line 3", `user "a"`, "twice"}},
		{"duplicate user id", "users:\n  - {username: a, id: 4}\n  - {username: b, id: 4}\n", []string{"line 3", `user "b"`, "id 4 is used twice"}},
		{"negative id", "users:\n  - {username: a, id: -1}\n", []string{`user "a"`, "not positive"}},
		{"bad state", "users:\n  - {username: a, state: sleeping}\n", []string{`user "a"`, `unknown state "sleeping"`}},
		{"bad type", "users:\n  - {username: a, type: robot}\n", []string{`user "a"`, `unknown type "robot"`}},
		{"bot of unknown project", "users:\n  - {type: project_bot, bot_source_type: project, bot_source: x/y}\n", []string{"user #1", `unknown project "x/y"`}},
		{"bot without source type", "users:\n  - {type: project_bot, bot_source: 7}\n", []string{"user #1", "bot_source_type"}},
		{"bot level of deleted project", "users:\n  - {type: project_bot, bot_source_type: project, bot_source: 7, access_level: 40}\n",
			[]string{"user #1", "does not exist"}},
		{"bad access level", "users:\n  - username: a\ngroups:\n  - path: g\n    members: [{user: a, access_level: 45}]\n",
			[]string{`group "g"`, "access_level 45"}},
		{"member of unknown user", "groups:\n  - path: g\n    members: [{user: zed, access_level: 30}]\n", []string{`group "g"`, `unknown user "zed"`}},
		{"allowlist of unknown project", "groups:\n  - path: g\nprojects:\n  - path: g/a\n    job_token_scope: {allowlist_projects: [g/b]}\n",
			[]string{`project "g/a"`, `unknown project "g/b"`}},
		{"token expiry not a date", "users:\n  - username: a\ntokens:\n  - {user: a, name: t, expires_at: 2027-01-01T10:00:00Z}\n",
			[]string{`token "t"`, "must be a date"}},
		{"deploy token with project and group", "groups:\n  - path: g\nprojects:\n  - path: g/p\ndeploy_tokens:\n  - {name: d, project: g/p, group: g}\n",
			[]string{"line 6", `deploy_token "d"`, "exactly one"}},
		{"trigger of unknown owner", "groups:\n  - path: g\nprojects:\n  - path: g/p\ntriggers:\n  - {project: g/p, owner: ghost}\n",
			[]string{"line 6", `unknown owner "ghost"`}},
		{"trigger of unknown project", "triggers:\n  - {project: g/p}\n", []string{`unknown project "g/p"`}},
		{"bad last_used_ips", "last_used_ips: sometimes\n", []string{"last_used_ips", "sometimes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseScenario([]byte(tt.yaml))
			if err == nil {
				t.Fatalf("ParseScenario succeeded, want an error containing %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestParseScenarioDuplicateValue checks that two tokens with one value are
// refused without the value appearing in the error.
func TestParseScenarioDuplicateValue(t *testing.T) {
	const secret = "glpat-duplicatedsecret0001"
	_, err := ParseScenario([]byte("users:\n  - username: a\ntokens:\n  - {user: a, name: one, value: " + secret +
		"}\n  - {user: a, name: two, value: " + secret + "}\n"))
	if err == nil {
		t.Fatal("ParseScenario accepted two tokens with the same value")
	}
	if strings.Contains(err.Error(), "duplicatedsecret") {
		t.Error("the error shows the token value")
	}
	if !strings.Contains(err.Error(), `token "two"`) || !strings.Contains(err.Error(), `token "one"`) {
		t.Errorf("error %q does not name both tokens", err)
	}
}

func TestParseScenarioEmpty(t *testing.T) {
	w, err := ParseScenario(nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC); !w.Now.Equal(want) || w.Version != GeneratorVersion || w.Settings != defaultSettings() {
		t.Errorf("empty scenario: now %v, version %q, settings %+v; want the generator's defaults", w.Now, w.Version, w.Settings)
	}
}

func TestLoadScenarioMissingFile(t *testing.T) {
	_, err := LoadScenario("testdata/scenarios/nope.yaml")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadScenario(nope.yaml) = %v, want a not-exist error", err)
	}
}
