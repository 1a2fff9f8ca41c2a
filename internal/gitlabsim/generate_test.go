package gitlabsim

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// generated caches one World per preset and seed: generating is
// deterministic (TestGenerateDeterministic), so tests that only read a World
// may share it.
var generated sync.Map

func world(t testing.TB, preset string) *World {
	t.Helper()
	if w, ok := generated.Load(preset); ok {
		return w.(*World)
	}
	w, err := Generate(preset, 42)
	if err != nil {
		t.Fatalf("Generate(%q): %v", preset, err)
	}
	generated.Store(preset, w)
	return w
}

func TestPresets(t *testing.T) {
	want := []string{"tiny", "small", "medium", "large", "xl"}
	if got := Presets(); !slices.Equal(got, want) {
		t.Errorf("Presets() = %v, want %v", got, want)
	}
}

func TestGenerateUnknownPreset(t *testing.T) {
	_, err := Generate("huge", 1)
	if err == nil {
		t.Fatal("Generate(huge) succeeded, want an error")
	}
	for _, want := range []string{`"huge"`, "tiny, small, medium, large, xl"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestGenerateDeterministic(t *testing.T) {
	for _, preset := range []string{"tiny", "medium"} {
		a, err := Generate(preset, 7)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Generate(preset, 7)
		if err != nil {
			t.Fatal(err)
		}
		// No diff is printed: the Worlds hold token values.
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: two runs with seed 7 differ", preset)
		}
		c, err := Generate(preset, 8)
		if err != nil {
			t.Fatal(err)
		}
		if reflect.DeepEqual(a, c) {
			t.Errorf("%s: seeds 7 and 8 give the same World", preset)
		}
		if a.Tokens[0].Value == c.Tokens[0].Value {
			t.Errorf("%s: seeds 7 and 8 give the same first token value", preset)
		}
	}
}

func TestGenerateNow(t *testing.T) {
	w := world(t, "tiny")
	if want := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC); !w.Now.Equal(want) {
		t.Errorf("Now = %v, want %v", w.Now, want)
	}
	s := w.Settings
	if s.RequirePersonalAccessTokenExpiry || s.MaxPersonalAccessTokenLifetime != nil || s.PersonalAccessTokenPrefix != "glpat-" {
		t.Errorf("Settings = %+v, want expiry not required, no max lifetime, prefix glpat-", s)
	}
}

func TestGenerateSizes(t *testing.T) {
	tests := []struct {
		preset                 string
		minTokens, maxTokens   int
		minProjects            int
		maxProjects            int
		minPATs                int // tokens on /personal_access_tokens
		minUsers, minTopGroups int
	}{
		{"tiny", 10, 14, 3, 6, 1, 4, 2},
		{"small", 450, 550, 90, 110, 100, 100, 5},
		{"medium", 4500, 5500, 900, 1100, 1000, 1000, 20},
		{"large", 18000, 22000, 4500, 5500, 10000, 5000, 50},
		// Above 10,000 results GitLab drops the count headers, so xl
		// exercises that on /personal_access_tokens.
		{"xl", 100000, 140000, 20000, 25000, 10001, 20000, 100},
	}
	for _, tt := range tests {
		t.Run(tt.preset, func(t *testing.T) {
			w := world(t, tt.preset)
			total := len(w.Tokens) + len(w.DeployTokens) + len(w.Triggers)
			if total < tt.minTokens || total > tt.maxTokens {
				t.Errorf("%d tokens, want %d to %d", total, tt.minTokens, tt.maxTokens)
			}
			if n := len(w.Projects); n < tt.minProjects || n > tt.maxProjects {
				t.Errorf("%d projects, want %d to %d", n, tt.minProjects, tt.maxProjects)
			}
			if len(w.Tokens) < tt.minPATs {
				t.Errorf("%d personal access tokens, want at least %d", len(w.Tokens), tt.minPATs)
			}
			if len(w.Users) < tt.minUsers {
				t.Errorf("%d users, want at least %d", len(w.Users), tt.minUsers)
			}
			tops := 0
			for _, g := range w.Groups {
				if g.ParentID == 0 {
					tops++
				}
			}
			if tops < tt.minTopGroups {
				t.Errorf("%d top-level groups, want at least %d", tops, tt.minTopGroups)
			}
			counts := w.TokenCounts()
			for _, k := range []string{KindPersonal, KindImpersonation, KindServiceAccount, KindProjectAccess, KindGroupAccess, KindDeploy, KindPipelineTrigger} {
				if counts[k] == 0 {
					t.Errorf("no token of kind %s", k)
				}
			}
		})
	}
}

// checkIDs fails unless ids are positive, unique and ascending.
func checkIDs(t *testing.T, what string, ids []int64) {
	t.Helper()
	for i, id := range ids {
		if id <= 0 || (i > 0 && id <= ids[i-1]) {
			t.Errorf("%s: id %d at index %d is not positive and ascending", what, id, i)
			return
		}
	}
}

func idsOf[T any](items []*T, id func(*T) int64) []int64 {
	out := make([]int64, len(items))
	for i, it := range items {
		out[i] = id(it)
	}
	return out
}

var (
	patValue     = regexp.MustCompile(`^glpat-[A-Za-z0-9_-]{20}$`)
	deployValue  = regexp.MustCompile(`^gldt-[A-Za-z0-9_-]{20}$`)
	triggerValue = regexp.MustCompile(`^glptt-[0-9a-f]{40}$`)
	botUsername  = regexp.MustCompile(`^(project|group)_(\d+)_bot_[0-9a-f]{32}$`)
	groupSA      = regexp.MustCompile(`^service_account_group_(\d+)_[0-9a-f]{32}$`)
	instanceSA   = regexp.MustCompile(`^service_account_[0-9a-f]{32}$`)
	freeFormSA   = regexp.MustCompile(`^[a-z][a-z0-9-]*[a-z0-9]$`)
	deployUser   = regexp.MustCompile(`^gitlab\+deploy-token-(\d+)$`)
)

// TestGenerateConsistency checks what any GitLab instance guarantees:
// references resolve, dates are ordered, values are unique and well formed.
func TestGenerateConsistency(t *testing.T) {
	type variant struct {
		name, preset string
		opts         []GenOption
	}
	variants := []variant{{"tiny", "tiny", nil}, {"small", "small", nil}, {"medium", "medium", nil},
		{"medium on GitLab.com", "medium", []GenOption{WithGitLabCom()}},
		{"medium with Admin Mode", "medium", []GenOption{WithAdminMode()}},
		{"medium 16.11 CE", "medium", []GenOption{WithVersion("16.11.0-ce")}},
		{"medium 17.5 EE", "medium", []GenOption{WithVersion("17.5.0-ee")}},
	}
	for _, vt := range variants {
		preset := vt.preset
		t.Run(vt.name, func(t *testing.T) {
			w := world(t, preset)
			if vt.opts != nil {
				var err error
				if w, err = Generate(preset, 42, vt.opts...); err != nil {
					t.Fatal(err)
				}
				checkNothingBeforeItsOwner(t, w)
			}
			checkIDs(t, "users", idsOf(w.Users, func(u *User) int64 { return u.ID }))
			checkIDs(t, "groups", idsOf(w.Groups, func(g *Group) int64 { return g.ID }))
			checkIDs(t, "projects", idsOf(w.Projects, func(p *Project) int64 { return p.ID }))
			checkIDs(t, "tokens", idsOf(w.Tokens, func(x *PersonalAccessToken) int64 { return x.ID }))
			checkIDs(t, "deploy tokens", idsOf(w.DeployTokens, func(x *DeployToken) int64 { return x.ID }))
			checkIDs(t, "triggers", idsOf(w.Triggers, func(x *Trigger) int64 { return x.ID }))

			users, groups, projects := indexWorld(w)
			if u := w.Users[0]; u.ID != 1 || u.Username != "root" || !u.Admin || u.State != "active" {
				t.Errorf("user 1 = %d %q admin=%v %s, want root, an active administrator", u.ID, u.Username, u.Admin, u.State)
			}
			states := map[string]int{}
			for _, u := range w.Users {
				states[u.State]++
				if u.CreatedAt.After(w.Now) {
					t.Errorf("user %d created after Now", u.ID)
				}
			}
			for _, s := range []string{"active", "blocked", "deactivated"} {
				if states[s] == 0 && !(preset == "tiny" && s == "deactivated") {
					t.Errorf("no %s user", s)
				}
			}

			fullPaths := map[string]bool{}
			for _, g := range w.Groups {
				if g.ParentID != 0 {
					p := groups[g.ParentID]
					if p == nil {
						t.Errorf("group %d: unknown parent %d", g.ID, g.ParentID)
						continue
					}
					if g.CreatedAt.Before(p.CreatedAt) {
						t.Errorf("group %d created before its parent", g.ID)
					}
				}
				path := groupPath(groups, g)
				if fullPaths[path] {
					t.Errorf("group path %q used twice", path)
				}
				fullPaths[path] = true
				checkMembers(t, fmt.Sprintf("group %d", g.ID), g.Members, users)
			}
			archived, inUser := 0, 0
			for _, p := range w.Projects {
				var ns string
				switch {
				case p.GroupID != 0 && groups[p.GroupID] != nil:
					ns = groupPath(groups, groups[p.GroupID])
					if p.CreatedAt.Before(groups[p.GroupID].CreatedAt) {
						t.Errorf("project %d created before its group", p.ID)
					}
				case p.GroupID == 0 && users[p.UserID] != nil:
					ns = users[p.UserID].Username
					inUser++
				default:
					t.Errorf("project %d: no namespace (group %d, user %d)", p.ID, p.GroupID, p.UserID)
				}
				if fullPaths[ns+"/"+p.Path] {
					t.Errorf("project path %q used twice", ns+"/"+p.Path)
				}
				fullPaths[ns+"/"+p.Path] = true
				if p.Archived {
					archived++
				}
				if p.LastActivityAt.Before(p.CreatedAt) || p.LastActivityAt.After(w.Now) {
					t.Errorf("project %d: last activity outside [created, now]", p.ID)
				}
				checkMembers(t, fmt.Sprintf("project %d", p.ID), p.Members, users)
				for _, id := range p.JobTokenScope.AllowlistProjectIDs {
					if projects[id] == nil || id == p.ID {
						t.Errorf("project %d: job token allowlist names project %d", p.ID, id)
					}
				}
				for _, id := range p.JobTokenScope.AllowlistGroupIDs {
					if groups[id] == nil {
						t.Errorf("project %d: job token allowlist names group %d", p.ID, id)
					}
				}
			}
			if preset != "tiny" && (archived == 0 || inUser == 0) {
				t.Errorf("%d archived projects and %d in user namespaces, want some of each", archived, inUser)
			}

			values := map[string]bool{}
			unique := func(what string, id int64, v string, re *regexp.Regexp) {
				t.Helper()
				// Never print a value.
				if !re.MatchString(v) {
					t.Errorf("%s %d: value does not match %s", what, id, re)
				}
				if values[v] {
					t.Errorf("%s %d: value used before", what, id)
				}
				values[v] = true
			}
			for _, x := range w.Tokens {
				unique("token", x.ID, x.Value, patValue)
				if users[x.UserID] == nil {
					t.Errorf("token %d: unknown user %d", x.ID, x.UserID)
				}
				if x.CreatedAt.After(w.Now) {
					t.Errorf("token %d created after Now", x.ID)
				}
				if u := x.LastUsedAt; u != nil && (u.Before(x.CreatedAt) || u.After(w.Now)) {
					t.Errorf("token %d: last used outside [created, now]", x.ID)
				}
				if e := x.ExpiresAt; e != nil && !e.Equal(e.Truncate(24*time.Hour)) {
					t.Errorf("token %d: expires_at %v is not a date", x.ID, e)
				}
				if (x.LastUsedAt == nil) != (len(x.LastUsedIPs) == 0) {
					t.Errorf("token %d: last_used_at %v with %d IPs", x.ID, x.LastUsedAt, len(x.LastUsedIPs))
				}
				if x.Impersonation && users[x.UserID].UserType != UserTypeHuman {
					t.Errorf("token %d: impersonation token of a %s", x.ID, users[x.UserID].UserType)
				}
			}
			for _, d := range w.DeployTokens {
				unique("deploy token", d.ID, d.Value, deployValue)
				if m := deployUser.FindStringSubmatch(d.Username); m == nil || m[1] != strconv.FormatInt(d.ID, 10) {
					t.Errorf("deploy token %d: username %q", d.ID, d.Username)
				}
				if (d.ProjectID == 0) == (d.GroupID == 0) || (d.ProjectID != 0 && projects[d.ProjectID] == nil) || (d.GroupID != 0 && groups[d.GroupID] == nil) {
					t.Errorf("deploy token %d: project %d, group %d", d.ID, d.ProjectID, d.GroupID)
				}
			}
			for _, tr := range w.Triggers {
				unique("trigger", tr.ID, tr.Value, triggerValue)
				p := projects[tr.ProjectID]
				if p == nil {
					t.Errorf("trigger %d: unknown project %d", tr.ID, tr.ProjectID)
					continue
				}
				if tr.CreatedAt.Before(p.CreatedAt) || tr.UpdatedAt.Before(tr.CreatedAt) {
					t.Errorf("trigger %d: created before its project or updated before created", tr.ID)
				}
				if tr.LastUsed != nil && tr.LastUsed.Before(tr.CreatedAt) {
					t.Errorf("trigger %d: used before created", tr.ID)
				}
				if tr.OwnerID != 0 {
					if users[tr.OwnerID] == nil {
						t.Errorf("trigger %d: unknown owner %d", tr.ID, tr.OwnerID)
					} else if memberLevel(p.Members, tr.OwnerID) < 40 {
						t.Errorf("trigger %d: owner %d is no Maintainer of project %d", tr.ID, tr.OwnerID, p.ID)
					}
				}
			}
		})
	}
}

func indexWorld(w *World) (map[int64]*User, map[int64]*Group, map[int64]*Project) {
	users := map[int64]*User{}
	for _, u := range w.Users {
		users[u.ID] = u
	}
	groups := map[int64]*Group{}
	for _, g := range w.Groups {
		groups[g.ID] = g
	}
	projects := map[int64]*Project{}
	for _, p := range w.Projects {
		projects[p.ID] = p
	}
	return users, groups, projects
}

func groupPath(groups map[int64]*Group, g *Group) string {
	if g.ParentID == 0 {
		return g.Path
	}
	return groupPath(groups, groups[g.ParentID]) + "/" + g.Path
}

func groupDepth(groups map[int64]*Group, g *Group) int {
	if g.ParentID == 0 {
		return 0
	}
	return 1 + groupDepth(groups, groups[g.ParentID])
}

func memberLevel(ms []Membership, userID int64) int {
	for _, m := range ms {
		if m.UserID == userID {
			return m.AccessLevel
		}
	}
	return 0
}

func checkMembers(t *testing.T, what string, ms []Membership, users map[int64]*User) {
	t.Helper()
	seen := map[int64]bool{}
	for _, m := range ms {
		if users[m.UserID] == nil || seen[m.UserID] || !slices.Contains(accessLevels, m.AccessLevel) {
			t.Errorf("%s: member %d at level %d (unknown, repeated or bad level)", what, m.UserID, m.AccessLevel)
		}
		seen[m.UserID] = true
	}
}

// TestGenerateShape checks the shape the issue asks for in medium: deep
// nesting, top-level groups of very different sizes, every access level,
// job token scopes on and off.
func TestGenerateShape(t *testing.T) {
	w := world(t, "medium")
	_, groups, _ := indexWorld(w)
	maxDepth := 0
	for _, g := range w.Groups {
		maxDepth = max(maxDepth, groupDepth(groups, g))
	}
	if maxDepth < 3 {
		t.Errorf("groups nest %d levels below the top, want at least 3", maxDepth)
	}
	smallTops, bigTops := 0, 0
	for _, g := range w.Groups {
		if g.ParentID != 0 {
			continue
		}
		switch n := w.GroupProjectCount(g.ID); {
		case n < 20:
			smallTops++
		case n >= 100:
			bigTops++
		}
	}
	if smallTops < 5 || bigTops < 1 {
		t.Errorf("%d top-level groups with < 20 projects and %d with >= 100, want at least 5 and 1", smallTops, bigTops)
	}
	levels := map[int]bool{}
	for _, g := range w.Groups {
		for _, m := range g.Members {
			levels[m.AccessLevel] = true
		}
	}
	inboundOff, projectLists, groupLists := 0, 0, 0
	for _, p := range w.Projects {
		for _, m := range p.Members {
			levels[m.AccessLevel] = true
		}
		if !p.JobTokenScope.InboundEnabled {
			inboundOff++
		}
		if len(p.JobTokenScope.AllowlistProjectIDs) > 0 {
			projectLists++
		}
		if len(p.JobTokenScope.AllowlistGroupIDs) > 0 {
			groupLists++
		}
	}
	for _, l := range accessLevels {
		if !levels[l] {
			t.Errorf("no membership at access level %d", l)
		}
	}
	if n := len(w.Projects); inboundOff == 0 || inboundOff > n/2 || projectLists == 0 || groupLists == 0 {
		t.Errorf("job token scope: %d of %d projects with inbound off, %d with project and %d with group allowlists; want most on and some lists", inboundOff, n, projectLists, groupLists)
	}
}

// TestGenerateBots checks bot and service-account users against GitLab's
// naming (https://docs.gitlab.com/user/project/settings/project_access_tokens/#bot-users-for-projects,
// https://docs.gitlab.com/api/service_accounts/: free-form usernames since
// 16.10) and that every bot is a direct member of its resource.
func TestGenerateBots(t *testing.T) {
	for _, tt := range []struct {
		preset  string
		orphans int
	}{{"tiny", 0}, {"medium", 1}} {
		t.Run(tt.preset, func(t *testing.T) {
			w := world(t, tt.preset)
			_, groups, projects := indexWorld(w)
			tokensOf := map[int64]int{}
			for _, x := range w.Tokens {
				tokensOf[x.UserID]++
			}
			orphans, groupSAs, instanceSAs, prefixed, freeForm := 0, 0, 0, 0, 0
			for _, u := range w.Users {
				switch u.UserType {
				case UserTypeProjectBot:
					m := botUsername.FindStringSubmatch(u.Username)
					if m == nil || m[1] != u.BotSourceType || m[2] != strconv.FormatInt(u.BotSourceID, 10) {
						t.Errorf("bot %d: username %q does not name its %s %d", u.ID, u.Username, u.BotSourceType, u.BotSourceID)
					}
					if u.Email != u.Username+"@noreply."+GeneratorHost || !u.Bot() || u.Admin {
						t.Errorf("bot %d: email %q, bot %v, admin %v", u.ID, u.Email, u.Bot(), u.Admin)
					}
					if tokensOf[u.ID] != 1 {
						t.Errorf("bot %d has %d tokens, want 1 (one bot per token, as GitLab does)", u.ID, tokensOf[u.ID])
					}
					var members []Membership
					switch {
					case u.BotSourceType == "project" && projects[u.BotSourceID] != nil:
						members = projects[u.BotSourceID].Members
					case u.BotSourceType == "group" && groups[u.BotSourceID] != nil:
						members = groups[u.BotSourceID].Members
					case u.BotSourceType == "project":
						orphans++
						continue
					default:
						t.Errorf("bot %d: unknown %s %d", u.ID, u.BotSourceType, u.BotSourceID)
						continue
					}
					if memberLevel(members, u.ID) == 0 {
						t.Errorf("bot %d is no member of its %s %d", u.ID, u.BotSourceType, u.BotSourceID)
					}
				case UserTypeServiceAccount:
					// Since 16.10 a service account may have any username;
					// the ones GitLab generates name their group.
					if u.ServiceAccountGroupID != 0 {
						groupSAs++
						if g := groups[u.ServiceAccountGroupID]; g == nil || g.ParentID != 0 {
							t.Errorf("service account %d: group %d, want a top-level group", u.ID, u.ServiceAccountGroupID)
						}
					} else {
						instanceSAs++
					}
					switch m := groupSA.FindStringSubmatch(u.Username); {
					case m != nil:
						prefixed++
						if m[1] != strconv.FormatInt(u.ServiceAccountGroupID, 10) {
							t.Errorf("service account %d: %q in group %d, want the group the username names", u.ID, u.Username, u.ServiceAccountGroupID)
						}
					case instanceSA.MatchString(u.Username):
						prefixed++
						if u.ServiceAccountGroupID != 0 {
							t.Errorf("service account %d: %q is an instance account's name, in group %d", u.ID, u.Username, u.ServiceAccountGroupID)
						}
					case strings.HasPrefix(u.Username, "service_account") || botUsername.MatchString(u.Username) || !freeFormSA.MatchString(u.Username):
						t.Errorf("service account %d: username %q", u.ID, u.Username)
					default:
						freeForm++
					}
					if u.Email != u.Username+"@noreply."+GeneratorHost || !u.Bot() || u.Admin {
						t.Errorf("service account %d: email %q, bot %v, admin %v", u.ID, u.Email, u.Bot(), u.Admin)
					}
				case UserTypeHuman:
					if u.BotSourceType != "" || u.ServiceAccountGroupID != 0 || u.Bot() {
						t.Errorf("human %d has bot attributes", u.ID)
					}
				default:
					t.Errorf("user %d: user type %q", u.ID, u.UserType)
				}
			}
			if orphans != tt.orphans {
				t.Errorf("%d bots of deleted projects, want %d", orphans, tt.orphans)
			}
			if instanceSAs == 0 || (tt.preset != "tiny" && groupSAs == 0) {
				t.Errorf("%d instance and %d group service accounts", instanceSAs, groupSAs)
			}
			if tt.preset != "tiny" && (prefixed == 0 || freeForm == 0) {
				t.Errorf("%d service accounts with GitLab's generated names and %d with free-form ones, want both", prefixed, freeForm)
			}
			// Each bot's membership carries its token's access level: every
			// project/group token has a bot member (or an orphaned bot).
			counts := w.TokenCounts()
			bots := 0
			for _, u := range w.Users {
				if u.UserType == UserTypeProjectBot {
					bots++
				}
			}
			if bots != counts[KindProjectAccess]+counts[KindGroupAccess] {
				t.Errorf("%d bots for %d project and %d group access tokens", bots, counts[KindProjectAccess], counts[KindGroupAccess])
			}
		})
	}
}

func TestWellKnownTokens(t *testing.T) {
	for _, preset := range []string{"tiny", "small", "medium"} {
		t.Run(preset, func(t *testing.T) {
			w := world(t, preset)
			users, _, _ := indexWorld(w)
			byValue := map[string]*PersonalAccessToken{}
			for _, x := range w.Tokens {
				byValue[x.Value] = x
			}
			today := w.Now.Truncate(24 * time.Hour)

			admin := byValue[w.AdminToken()]
			if admin == nil {
				t.Fatal("AdminToken() is no token of the World")
			}
			if admin.UserID != 1 || !slices.Equal(admin.Scopes, []string{"read_api"}) || admin.Plant != PlantHealthy ||
				!w.TokenActive(admin) || admin.ExpiresAt == nil || !admin.ExpiresAt.Equal(today.AddDate(0, 0, 300)) {
				t.Errorf("admin token %d: user %d, scopes %v, plant %s, expires %v; want root's active read_api token expiring in 300 days",
					admin.ID, admin.UserID, admin.Scopes, admin.Plant, admin.ExpiresAt)
			}

			value, path := w.GroupOwnerToken()
			owner := byValue[value]
			if owner == nil {
				t.Fatal("GroupOwnerToken() is no token of the World")
			}
			var largest *Group
			for _, g := range w.Groups {
				if g.ParentID == 0 && (largest == nil || w.GroupProjectCount(g.ID) > w.GroupProjectCount(largest.ID)) {
					largest = g
				}
			}
			u := users[owner.UserID]
			if path != largest.Path || memberLevel(largest.Members, u.ID) != 50 {
				t.Errorf("group owner token of user %d for %q; want a direct Owner of %q, the largest top-level group", u.ID, path, largest.Path)
			}
			if u.Admin || u.State != "active" || u.UserType != UserTypeHuman || owner.Impersonation ||
				!slices.Contains(owner.Scopes, "read_api") || !w.TokenActive(owner) || owner.Plant != PlantHealthy {
				t.Errorf("group owner token %d: user %q admin=%v %s, scopes %v, plant %s; want an active non-admin human's healthy read_api token",
					owner.ID, u.Username, u.Admin, u.State, owner.Scopes, owner.Plant)
			}
		})
	}
}

func TestTokenKind(t *testing.T) {
	tests := []struct {
		owner *User
		imp   bool
		want  string
	}{
		{&User{UserType: UserTypeHuman, Username: "alice"}, false, KindPersonal},
		{&User{UserType: UserTypeHuman, Username: "alice"}, true, KindImpersonation},
		{&User{UserType: UserTypeServiceAccount, Username: "service_account_group_3_ab"}, false, KindServiceAccount},
		{&User{UserType: UserTypeProjectBot, Username: "project_7_bot_ab"}, false, KindProjectAccess},
		{&User{UserType: UserTypeProjectBot, Username: "group_7_bot_ab"}, false, KindGroupAccess},
		{nil, false, KindPersonal},
	}
	for _, tt := range tests {
		if got := TokenKind(tt.owner, &PersonalAccessToken{Impersonation: tt.imp}); got != tt.want {
			t.Errorf("TokenKind(%+v, impersonation=%v) = %s, want %s", tt.owner, tt.imp, got, tt.want)
		}
	}
}

func TestTokenCountsTiny(t *testing.T) {
	w := world(t, "tiny")
	got := w.TokenCounts()
	sp := presetSpecs[0].spec
	want := map[string]int{
		KindPersonal: sp.Personal, KindImpersonation: sp.Impersonation, KindServiceAccount: sp.ServiceAccount,
		KindProjectAccess: sp.ProjectAccess, KindGroupAccess: sp.GroupAccess, KindDeploy: sp.Deploy, KindPipelineTrigger: sp.Triggers,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("TokenCounts() = %v, want %v", got, want)
	}
	total := 0
	for _, n := range w.PlantCounts() {
		total += n
	}
	if total != len(w.Tokens)+len(w.DeployTokens)+len(w.Triggers) {
		t.Errorf("PlantCounts() counts %d tokens, want every token once", total)
	}
}

func BenchmarkGenerate(b *testing.B) {
	for _, preset := range Presets() {
		b.Run(preset, func(b *testing.B) {
			b.ReportAllocs()
			var w *World
			for b.Loop() {
				var err error
				if w, err = Generate(preset, 1); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(w.Tokens)+len(w.DeployTokens)+len(w.Triggers)), "tokens")
			b.ReportMetric(float64(len(w.Projects)), "projects")
		})
	}
}

// The planted-risk conditions, written from their definitions (the Plant*
// constants) independently of how the generator draws them. Conditions
// starting with "!" are departures from healthy that no label allows.
const day = 24 * time.Hour

var knownScopes = []string{
	"api", "read_api", "read_user", "read_repository", "write_repository", "read_registry", "write_registry",
	"sudo", "admin_mode", "create_runner", "manage_runner", "ai_features", "k8s_proxy", "read_service_ping",
	"self_rotate", "read_virtual_registry", "write_virtual_registry",
}

func patConditions(w *World, x *PersonalAccessToken, owner *User, level int, groupProjects, groupActiveProjects int) []string {
	var c []string
	now := w.Now
	if x.Revoked {
		c = append(c, PlantRevoked)
	}
	if x.ExpiresAt == nil {
		c = append(c, PlantNeverExpires)
	} else {
		left := x.ExpiresAt.Sub(now)
		switch {
		case left <= 0:
			c = append(c, PlantExpired)
		case left <= 7*day:
			c = append(c, PlantExpiring7d)
		case left <= 30*day:
			c = append(c, PlantExpiring30d)
		case left > 300*day:
			c = append(c, "!expires over 300 days out")
		}
		if x.ExpiresAt.Sub(x.CreatedAt) > 365*day {
			c = append(c, PlantLongLifetime)
		}
	}
	if now.Sub(x.CreatedAt) > 365*day {
		c = append(c, "!created over 365 days ago")
	}
	if slices.Contains(x.Scopes, "api") {
		if owner.Admin {
			c = append(c, PlantAdminAPI)
		} else {
			c = append(c, PlantAPIScope)
		}
	}
	if slices.Contains(x.Scopes, "sudo") {
		c = append(c, PlantSudoScope)
	}
	if slices.Contains(x.Scopes, "admin_mode") {
		c = append(c, PlantAdminModeScope)
	}
	for _, s := range x.Scopes {
		if !slices.Contains(knownScopes, s) {
			c = append(c, PlantUnknownScope)
			break
		}
	}
	if x.LastUsedAt == nil {
		if now.Sub(x.CreatedAt) > 30*day {
			c = append(c, PlantNeverUsedOld)
		}
	} else if u := usedAgo(now.Sub(*x.LastUsedAt), PlantStale); u != "" {
		c = append(c, u)
	}
	if owner.State != "active" {
		c = append(c, PlantBlockedOwner)
	}
	if level == 50 {
		c = append(c, PlantOwnerAccess)
	} else if level > 40 {
		c = append(c, "!resource token above Maintainer")
	}
	if TokenKind(owner, x) == KindGroupAccess {
		switch {
		case groupProjects <= SmallGroupMaxProjects:
			c = append(c, PlantSmallGroupToken)
		case groupActiveProjects > SmallGroupMaxProjects:
			c = append(c, PlantLargeGroupToken)
		default:
			c = append(c, "!group size depends on archived projects")
		}
	}
	return c
}

func deployConditions(w *World, d *DeployToken) []string {
	var c []string
	if d.Revoked {
		c = append(c, "!revoked")
	}
	if d.ExpiresAt == nil {
		c = append(c, PlantDeployNeverExpires)
	} else if left := d.ExpiresAt.Sub(w.Now); left <= 31*day || left > 300*day {
		c = append(c, "!expires outside 31-300 days")
	}
	for _, s := range d.Scopes {
		if strings.HasPrefix(s, "write_") {
			c = append(c, PlantDeployWrite)
			break
		}
	}
	return c
}

// usedAgo is the condition of a token last used ago: stale (its kind's
// plant label) past 90 days; a "!" condition no label plants past 400 days
// or past 30 up to 90; "" within 30 days.
func usedAgo(ago time.Duration, stale string) string {
	switch {
	case ago > 400*day:
		return "!last used over 400 days ago"
	case ago > 90*day:
		return stale
	case ago > 30*day:
		return "!last used 31-90 days ago"
	}
	return ""
}

func triggerConditions(w *World, tr *Trigger, users map[int64]*User) []string {
	var c []string
	if tr.OwnerID == 0 {
		c = append(c, PlantTriggerNoOwner)
	} else if users[tr.OwnerID].State != "active" {
		c = append(c, PlantTriggerBlockedOwner)
	}
	if tr.LastUsed == nil {
		c = append(c, "!never used")
	} else if u := usedAgo(w.Now.Sub(*tr.LastUsed), PlantTriggerStale); u != "" {
		c = append(c, u)
	}
	if tr.ExpiresAt != nil && !tr.ExpiresAt.After(w.Now) {
		c = append(c, "!expired")
	}
	return c
}

// TestPlants checks, for every token of medium, that exactly its planted
// risk applies and nothing else departs from healthy, that each label sits
// on the kinds it is meant for, and that every label appears.
func TestPlants(t *testing.T) {
	w := world(t, "medium")
	users, groups, projects := indexWorld(w)
	counts := map[int64]int{}
	active := map[int64]int{}
	for _, p := range w.Projects {
		for id := p.GroupID; id != 0; id = groups[id].ParentID {
			counts[id]++
			if !p.Archived {
				active[id]++
			}
		}
	}
	adminToken := w.AdminToken()

	// Which labels each kind may carry.
	patLabels := []string{PlantHealthy, PlantNeverExpires, PlantLongLifetime, PlantExpiring7d, PlantExpiring30d,
		PlantExpired, PlantRevoked, PlantAPIScope, PlantUnknownScope, PlantStale, PlantNeverUsedOld}
	allowed := map[string][]string{
		KindPersonal:        append(slices.Clone(patLabels), PlantBlockedOwner, PlantAdminAPI, PlantSudoScope, PlantAdminModeScope),
		KindImpersonation:   patLabels,
		KindServiceAccount:  patLabels,
		KindProjectAccess:   append(slices.Clone(patLabels), PlantOwnerAccess),
		KindGroupAccess:     {PlantSmallGroupToken, PlantLargeGroupToken},
		KindDeploy:          {PlantDeployHealthy, PlantDeployNeverExpires, PlantDeployWrite},
		KindPipelineTrigger: {PlantTriggerHealthy, PlantTriggerNoOwner, PlantTriggerBlockedOwner, PlantTriggerStale},
	}
	seen := map[string]int{}
	for _, x := range w.Tokens {
		owner := users[x.UserID]
		kind := TokenKind(owner, x)
		seen[x.Plant]++
		if !slices.Contains(allowed[kind], x.Plant) {
			t.Errorf("%s token %d: label %q is not one of %v", kind, x.ID, x.Plant, allowed[kind])
		}
		level, gp, ga := 0, 0, 0
		switch {
		case owner.BotSourceType == "project" && projects[owner.BotSourceID] != nil:
			level = memberLevel(projects[owner.BotSourceID].Members, owner.ID)
		case owner.BotSourceType == "group":
			level = memberLevel(groups[owner.BotSourceID].Members, owner.ID)
			gp, ga = counts[owner.BotSourceID], active[owner.BotSourceID]
		}
		got := patConditions(w, x, owner, level, gp, ga)
		want := []string{x.Plant}
		if x.Plant == PlantHealthy {
			want = nil
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s token %d labelled %q: conditions %v, want %v", kind, x.ID, x.Plant, got, want)
		}
		// An administrator's token is planted as such; the one exception is
		// the well-known read-only admin token.
		adminLabel := x.Plant == PlantAdminAPI || x.Plant == PlantSudoScope || x.Plant == PlantAdminModeScope
		if owner.Admin != adminLabel && x.Value != adminToken {
			t.Errorf("token %d labelled %q: owner admin=%v", x.ID, x.Plant, owner.Admin)
		}
		if x.Plant == PlantNeverUsedOld && w.Now.Sub(x.CreatedAt) > 300*day {
			t.Errorf("token %d labelled %q: created %v, want 31-300 days ago", x.ID, x.Plant, x.CreatedAt)
		}
		if x.Plant == PlantNeverExpires && !w.TokenActive(x) {
			t.Errorf("token %d labelled %q is not active", x.ID, x.Plant)
		}
	}
	for _, d := range w.DeployTokens {
		seen[d.Plant]++
		if !slices.Contains(allowed[KindDeploy], d.Plant) {
			t.Errorf("deploy token %d: label %q", d.ID, d.Plant)
		}
		got, want := deployConditions(w, d), []string{d.Plant}
		if d.Plant == PlantDeployHealthy {
			want = nil
			for _, s := range d.Scopes {
				if !strings.HasPrefix(s, "read_") {
					t.Errorf("deploy token %d labelled healthy has scope %s", d.ID, s)
				}
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("deploy token %d labelled %q: conditions %v, want %v", d.ID, d.Plant, got, want)
		}
	}
	for _, tr := range w.Triggers {
		seen[tr.Plant]++
		if !slices.Contains(allowed[KindPipelineTrigger], tr.Plant) {
			t.Errorf("trigger %d: label %q", tr.ID, tr.Plant)
		}
		got, want := triggerConditions(w, tr, users), []string{tr.Plant}
		if tr.Plant == PlantTriggerHealthy {
			want = nil
		}
		if !slices.Equal(got, want) {
			t.Errorf("trigger %d labelled %q: conditions %v, want %v", tr.ID, tr.Plant, got, want)
		}
	}
	for _, labels := range allowed {
		for _, l := range labels {
			if seen[l] == 0 {
				t.Errorf("no token labelled %q", l)
			}
		}
	}
	if !reflect.DeepEqual(seen, w.PlantCounts()) {
		t.Errorf("PlantCounts() = %v, want %v", w.PlantCounts(), seen)
	}
	// Mostly healthy.
	healthy := seen[PlantHealthy] + seen[PlantDeployHealthy] + seen[PlantTriggerHealthy] + seen[PlantSmallGroupToken]
	if total := len(w.Tokens) + len(w.DeployTokens) + len(w.Triggers); healthy*2 < total {
		t.Errorf("%d of %d tokens healthy, want most", healthy, total)
	}
}

func TestGenerateNothingBeforeItsOwner(t *testing.T) {
	// Several seeds: a stale trigger predating its owner is rare.
	for _, seed := range []int64{1, 3, 42} {
		w, err := Generate("medium", seed)
		if err != nil {
			t.Fatal(err)
		}
		checkNothingBeforeItsOwner(t, w)
	}
}

func checkNothingBeforeItsOwner(t *testing.T, w *World) {
	t.Helper()
	users, _, _ := indexWorld(w)
	for _, x := range w.Tokens {
		if x.CreatedAt.Before(users[x.UserID].CreatedAt) {
			t.Errorf("token %d created before its user %d", x.ID, x.UserID)
		}
	}
	for _, tr := range w.Triggers {
		if u := users[tr.OwnerID]; u != nil && tr.CreatedAt.Before(u.CreatedAt) {
			t.Errorf("trigger %d created before its owner %d", tr.ID, tr.OwnerID)
		}
	}
	for _, p := range w.Projects {
		if u := users[p.UserID]; u != nil && p.CreatedAt.Before(u.CreatedAt) {
			t.Errorf("project %d created before its namespace's user %d", p.ID, p.UserID)
		}
	}
}
