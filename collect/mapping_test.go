package collect

import (
	"github.com/tokenaudit/tokenaudit/inventory"

	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
)

// fixtures are GitLab's example responses, kept with the simulator's
// (internal/gitlabsim/testdata/fixtures/SOURCES.md says where each is from).
const fixtures = "../internal/gitlabsim/testdata/fixtures"

// decodeFixture decodes one of GitLab's example responses, or fails.
func decodeFixture(t *testing.T, name string, v any) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	return b
}

func date(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func TestMapPATFixtures(t *testing.T) {
	human := &inventory.Owner{ID: 3, Username: "alice", Type: inventory.OwnerHuman, State: "active", ProjectsReachable: -1}
	inst := inventory.Resource{Type: inventory.ResourceInstance}
	tests := []struct {
		name    string
		fixture string
		owner   *inventory.Owner
		want    inventory.Token
	}{{
		name:    "expires_at null, description, no last_used_ips key",
		fixture: "personal_access_tokens_list.json",
		owner:   human,
		want: inventory.Token{
			Kind: inventory.KindPersonal, ID: 4, Name: "Test Token", Description: "Test Token description",
			Owner: human, Resource: inst, Scopes: []string{"api"},
			CreatedAt: ts("2020-07-23T14:31:47.729Z"), LastUsedAt: ts("2021-10-06T17:58:37.550Z"),
			UsageReported: true, LastUsedIPs: nil, Active: true, Sources: []string{srcPATs},
		},
	}, {
		name:    "service account token with description null and never used",
		fixture: "groups_service_accounts_personal_access_tokens_list.json",
		want: inventory.Token{
			Kind: inventory.KindPersonal, ID: 187, Name: "service_accounts_token2b",
			Owner: &inventory.Owner{ID: 195, Type: inventory.OwnerUnknown, ProjectsReachable: -1}, Resource: inst,
			Scopes: []string{"api"}, CreatedAt: ts("2025-03-26T14:42:51.084Z"),
			UsageReported: true, Active: true, Sources: []string{srcPATs},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var list []patWire
			decodeFixture(t, tt.fixture, &list)
			got := mapPAT(&list[0], inventory.KindPersonal, tt.owner, inst, srcPATs)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("mapPAT mismatch (-want +got):\n%s", diff)
			}
			if !got.Expires.Never() {
				t.Errorf("expires_at null mapped to %v, want never", got.Expires)
			}
		})
	}
}

func TestMapPATObservedGitLabCom(t *testing.T) {
	var p patWire
	decodeFixture(t, "personal_access_tokens_self__observed_gitlab_com_2026.json", &p)
	got := mapPAT(&p, inventory.KindPersonal, nil, inventory.Resource{Type: inventory.ResourceInstance}, srcPATSelf)
	if got.Expires.String() != "2026-04-28" || !got.Expires.DateOnly {
		t.Errorf("expires = %q (date only %v), want 2026-04-28 as a date", got.Expires.String(), got.Expires.DateOnly)
	}
	if !got.Expires.At.Equal(time.Date(2026, 4, 28, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("expiry instant = %v, want midnight UTC at the start of the date", got.Expires.At)
	}
	if got.LastUsedIPs == nil || len(got.LastUsedIPs) != 0 {
		t.Errorf("last_used_ips [] mapped to %#v, want an empty non-nil list", got.LastUsedIPs)
	}
	if diff := cmp.Diff([]string{"read_api", "api", "read_repository"}, got.Scopes); diff != "" {
		t.Errorf("scopes (-want +got):\n%s", diff)
	}
}

func TestMapPATOddData(t *testing.T) {
	// Unknown scopes are kept, last_used_at may be missing, last_used_ips
	// filled, a revoked and expired token.
	raw := `[{"id":9,"name":"odd","revoked":true,"created_at":"2024-01-02T03:04:05.000Z","description":null,
	"scopes":["mcp","granular","read_api"],"user_id":7,"active":false,"expires_at":"2024-02-01",
	"last_used_ips":["10.0.0.1","2001:db8::1"]}]`
	var list []patWire
	if err := json.Unmarshal([]byte(raw), &list); err != nil {
		t.Fatal(err)
	}
	got := mapPAT(&list[0], inventory.KindPersonal, nil, inventory.Resource{Type: inventory.ResourceInstance}, srcPATs)
	want := inventory.Token{
		Kind: inventory.KindPersonal, ID: 9, Name: "odd", Owner: &inventory.Owner{ID: 7, Type: inventory.OwnerUnknown, ProjectsReachable: -1},
		Resource: inventory.Resource{Type: inventory.ResourceInstance}, Scopes: []string{"mcp", "granular", "read_api"},
		CreatedAt: ts("2024-01-02T03:04:05Z"), Expires: inventory.Expiry{At: date("2024-02-01"), DateOnly: true},
		UsageReported: true, LastUsedIPs: []string{"10.0.0.1", "2001:db8::1"}, Revoked: true,
		Sources: []string{srcPATs},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mapPAT mismatch (-want +got):\n%s", diff)
	}
}

func TestMapResourceTokenFixtures(t *testing.T) {
	for _, f := range []string{"project_access_tokens_list.json", "group_access_tokens_list.json"} {
		t.Run(f, func(t *testing.T) {
			var list []resourceTokenWire
			decodeFixture(t, f, &list)
			if len(list) != 2 {
				t.Fatalf("fixture has %d tokens, want 2", len(list))
			}
			res := inventory.Resource{Type: inventory.ResourceProject, ID: 5, Path: "acme/api"}
			got := mapResourceToken(&list[1], inventory.KindProjectAccess, nil, res, srcProjectTokens)
			if got.AccessLevel != 40 || !got.Revoked || got.Active || got.ID != 43 {
				t.Errorf("got access %d revoked %v active %v id %d, want 40 true false 43", got.AccessLevel, got.Revoked, got.Active, got.ID)
			}
			if got.Expires.String() != "2021-01-31" {
				t.Errorf("expires %q, want 2021-01-31", got.Expires.String())
			}
			first := mapResourceToken(&list[0], inventory.KindProjectAccess, nil, res, srcProjectTokens)
			if !first.LastUsedAt.IsZero() {
				t.Errorf("last_used_at null mapped to %v", first.LastUsedAt)
			}
		})
	}
}

func TestMapDeployTokenFixture(t *testing.T) {
	var list []gitlab.DeployToken
	decodeFixture(t, "deploy_tokens_list.json", &list)
	got := mapDeployToken(&list[0], inventory.Resource{Type: inventory.ResourceInstance}, srcDeployTokens)
	want := inventory.Token{
		Kind: inventory.KindDeploy, ID: 1, Name: "MyToken", Username: "gitlab+deploy-token-1", Resource: inventory.Resource{Type: inventory.ResourceInstance},
		Scopes: []string{"read_repository", "read_registry"}, Expires: inventory.Expiry{At: ts("2020-02-14T00:00:00Z")},
		Active: true, Sources: []string{srcDeployTokens},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mapDeployToken mismatch (-want +got):\n%s", diff)
	}
	if got.Expires.String() != "2020-02-14T00:00:00Z" {
		t.Errorf("deploy expiry keeps RFC 3339, got %q", got.Expires.String())
	}
}

// TestMapTriggerDropsValue checks that a trigger's token, which GitLab sends
// in full to its owner, appears nowhere in the mapped Token.
func TestMapTriggerDropsValue(t *testing.T) {
	for _, f := range []string{"projects_triggers_list.json", "projects_triggers_list__legacy_with_deleted_at.json"} {
		t.Run(f, func(t *testing.T) {
			var list []triggerWire
			raw := decodeFixture(t, f, &list)
			value := list[0].Token
			if value == "" || !strings.Contains(string(raw), value) {
				t.Fatal("fixture has no trigger token value to drop")
			}
			got := mapTrigger(&list[0], nil, inventory.Resource{Type: inventory.ResourceProject, ID: 1})
			b, err := json.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(b), value) || strings.Contains(got.Name+got.Description, value) {
				t.Error("mapped trigger carries the token value")
			}
			if got.Kind != inventory.KindPipelineTrigger || got.ID != 10 || got.Name != "my trigger" || got.Owner != nil {
				t.Errorf("got kind %s id %d name %q owner %v", got.Kind, got.ID, got.Name, got.Owner)
			}
			if !got.Expires.Never() || !got.Active || !got.LastUsedAt.IsZero() {
				t.Errorf("trigger without expiry: expires %v active %v last used %v", got.Expires, got.Active, got.LastUsedAt)
			}
		})
	}
}

// TestMapTriggerExpired checks that the collector keeps GitLab's facts about
// an expired trigger and judges nothing: the expiry is kept as sent and the
// trigger stays active as far as GitLab says (it sends no flag); whether it
// still works is audit's judgement at its own time.
func TestMapTriggerExpired(t *testing.T) {
	raw := `{"id":3,"description":"d","created_at":"2024-01-01T00:00:00Z","last_used":"2024-06-01T00:00:00Z",
	"expires_at":"2025-01-01T00:00:00Z","token":"abcd","owner":{"id":5,"username":"bob","state":"active"}}`
	var tr triggerWire
	if err := json.Unmarshal([]byte(raw), &tr); err != nil {
		t.Fatal(err)
	}
	got := mapTrigger(&tr, mapBasicUser(tr.Owner), inventory.Resource{Type: inventory.ResourceProject, ID: 1})
	if !got.Active || got.Revoked || got.Expires.String() != "2025-01-01T00:00:00Z" {
		t.Errorf("expired trigger: active %v revoked %v expires %q, want GitLab's facts (active, not revoked, expiry as sent)", got.Active, got.Revoked, got.Expires.String())
	}
	if got.Owner == nil || got.Owner.Username != "bob" || got.Owner.Type != inventory.OwnerUnknown {
		t.Errorf("owner = %+v, want bob of unknown type", got.Owner)
	}
}

func TestMapUserFixtures(t *testing.T) {
	var bot userWire
	decodeFixture(t, "users_get_project_bot__clientgo.json", &bot)
	if got := mapUser(&bot); got.Type != inventory.OwnerProjectBot && got.Type != inventory.OwnerGroupBot && got.Type != inventory.OwnerOtherBot {
		t.Errorf("bot user %q mapped to type %s", bot.Username, got.Type)
	}
	var admins []userWire
	decodeFixture(t, "users_list_as_admin.json", &admins)
	got := mapUser(&admins[0])
	want := &inventory.Owner{ID: 1, Username: "john_smith", Type: inventory.OwnerHuman, State: "active", Email: "john@example.com", LastActivityOn: date("2012-05-23"), ProjectsReachable: -1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mapUser mismatch (-want +got):\n%s", diff)
	}
}

func TestOwnerType(t *testing.T) {
	tests := []struct {
		username, userType string
		bot                bool
		want               inventory.OwnerType
	}{
		{"alice", "", false, inventory.OwnerHuman},
		{"project_12_bot_4ffca233d8298ea1b3a9c0e1f2d3c4b5", "", true, inventory.OwnerProjectBot},
		{"group_7_bot_4ffca233d8298ea1b3a9c0e1f2d3c4b5", "", true, inventory.OwnerGroupBot},
		{"project_12_bot", "", true, inventory.OwnerProjectBot},
		{"project_12_bot3", "", true, inventory.OwnerProjectBot},
		// A service account is known from GitLab's lists of them, not its
		// name: an old generated name says nothing more than a free one,
		// and a person may be called anything.
		{"service_account_group_345_6018816a18e515214e0c34c2b33523fc", "", true, inventory.OwnerOtherBot},
		{"terraform-automation", "", true, inventory.OwnerOtherBot},
		{"service_account_6018816a18e515214e0c34c2b33523fc", "", false, inventory.OwnerHuman},
		{"alert-bot", "", true, inventory.OwnerOtherBot},
		{"ghost", "ghost", true, inventory.OwnerOtherBot},
		{"project_12_bot_fake", "human", false, inventory.OwnerHuman},
	}
	for _, tt := range tests {
		if got := ownerType(tt.username, tt.userType, tt.bot); got != tt.want {
			t.Errorf("ownerType(%q, %q, %v) = %s, want %s", tt.username, tt.userType, tt.bot, got, tt.want)
		}
	}
}

func TestMergeKeepsBothSources(t *testing.T) {
	a := inventory.Token{Kind: inventory.KindProjectAccess, ID: 1, Owner: &inventory.Owner{ID: 9, Username: "project_3_bot_ab", Type: inventory.OwnerProjectBot},
		Resource: inventory.Resource{Type: inventory.ResourceProject, ID: 3, Path: "acme/api"}, Active: true, UsageReported: true,
		Sources: []string{srcPATs}}
	b := inventory.Token{Kind: inventory.KindProjectAccess, ID: 1, AccessLevel: 40, Owner: &inventory.Owner{ID: 9, Type: inventory.OwnerProjectBot},
		Resource: inventory.Resource{Type: inventory.ResourceProject, ID: 3}, Active: true, LastUsedIPs: []string{"10.0.0.1"},
		Sources: []string{srcProjectTokens}}
	merge(&a, b)
	if a.AccessLevel != 40 || a.Resource.Path != "acme/api" || a.Owner.Username != "project_3_bot_ab" {
		t.Errorf("merged = %+v", a)
	}
	if diff := cmp.Diff([]string{srcPATs, srcProjectTokens}, a.Sources); diff != "" {
		t.Errorf("sources (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"10.0.0.1"}, a.LastUsedIPs); diff != "" {
		t.Errorf("ips (-want +got):\n%s", diff)
	}
}
