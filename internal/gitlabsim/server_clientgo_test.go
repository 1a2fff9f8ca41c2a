package gitlabsim

import (
	"fmt"
	"slices"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
)

func newGitLabClient(t *testing.T, s *Server, token string) *gitlab.Client {
	t.Helper()
	c, err := gitlab.NewClient(token, gitlab.WithBaseURL(s.URL()+"/api/v4"), gitlab.WithoutRetries())
	if err != nil {
		t.Fatalf("client-go client: %v", err)
	}
	return c
}

// serveGenerated serves the preset's World for seed with default options
// until the end of the test or benchmark.
func serveGenerated(tb testing.TB, preset string, seed int64) (*World, *Server) {
	tb.Helper()
	w, err := Generate(preset, seed)
	if err != nil {
		tb.Fatal(err)
	}
	s := NewServer(w, Options{})
	tb.Cleanup(s.Close)
	return w, s
}

// Ground truth, computed from the World alone (not from the server's index).

func gtGroupAccess(w *World, uid, gid int64) int {
	groups := map[int64]*Group{}
	for _, g := range w.Groups {
		groups[g.ID] = g
	}
	best := 0
	for n := 0; gid != 0 && n <= len(w.Groups); n++ {
		g := groups[gid]
		if g == nil {
			break
		}
		for _, m := range g.Members {
			if m.UserID == uid && m.AccessLevel > best {
				best = m.AccessLevel
			}
		}
		gid = g.ParentID
	}
	return best
}

func gtProjectAccess(w *World, uid int64, p *Project) int {
	best := gtGroupAccess(w, uid, p.GroupID)
	if p.GroupID == 0 && p.UserID == uid {
		best = 50
	}
	for _, m := range p.Members {
		if m.UserID == uid && m.AccessLevel > best {
			best = m.AccessLevel
		}
	}
	return best
}

func gtUserOf(w *World, token string) *User {
	for _, t := range w.Tokens {
		if t.Value == token {
			for _, u := range w.Users {
				if u.ID == t.UserID {
					return u
				}
			}
		}
	}
	return nil
}

// gtBotTokens lists the IDs of the access tokens of a project or group.
func gtBotTokens(w *World, sourceType string, id int64) []int64 {
	bots := map[int64]bool{}
	for _, u := range w.Users {
		if u.UserType == UserTypeProjectBot && u.BotSourceType == sourceType && u.BotSourceID == id {
			bots[u.ID] = true
		}
	}
	var ids []int64
	for _, t := range w.Tokens {
		if bots[t.UserID] {
			ids = append(ids, t.ID)
		}
	}
	return ids
}

func collectIDs[T any](t *testing.T, what string, f func(p gitlab.PaginationOptionFunc) ([]T, *gitlab.Response, error), id func(T) int64) []int64 {
	t.Helper()
	items, err := gitlab.ScanAndCollect(f)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	ids := make([]int64, 0, len(items))
	for _, it := range items {
		ids = append(ids, id(it))
	}
	slices.Sort(ids)
	return ids
}

func sortedIDs(ids []int64) []int64 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

func sameIDs(t *testing.T, what string, got, want []int64) {
	t.Helper()
	want = sortedIDs(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s: %d items, want %d (first difference in %v vs %v)", what, len(got), len(want), head(got), head(want))
	}
}

func head(ids []int64) []int64 {
	if len(ids) > 5 {
		return ids[:5]
	}
	return ids
}

func lo(n int64) gitlab.ListOptions { return gitlab.ListOptions{PerPage: n} }

func TestClientGoAdminView(t *testing.T) {
	w, s := serveGenerated(t, "small", 7)
	c := newGitLabClient(t, s, w.AdminToken())

	if v, _, err := c.Version.GetVersion(); err != nil || v.Version != w.Version {
		t.Fatalf("version: %v %v", v, err)
	}
	if _, _, err := c.Metadata.GetMetadata(); err != nil {
		t.Fatalf("metadata: %v", err)
	}
	me, _, err := c.Users.CurrentUser()
	if err != nil || !me.IsAdmin {
		t.Fatalf("current user: admin=%v err=%v", me != nil && me.IsAdmin, err)
	}
	st, _, err := c.Settings.GetSettings()
	if err != nil || st.RequirePersonalAccessTokenExpiry != w.Settings.RequirePersonalAccessTokenExpiry {
		t.Fatalf("settings: %v", err)
	}

	all := idsOf(w.Tokens, patID)
	sameIDs(t, "admin PAT list", collectIDs(t, "PATs", func(p gitlab.PaginationOptionFunc) ([]*gitlab.PersonalAccessToken, *gitlab.Response, error) {
		return c.PersonalAccessTokens.ListPersonalAccessTokens(&gitlab.ListPersonalAccessTokensOptions{ListOptions: lo(100)}, p)
	}, func(x *gitlab.PersonalAccessToken) int64 { return x.ID }), all)
	// Default per_page (20): many more pages, same result.
	sameIDs(t, "admin PAT list, default per_page", collectIDs(t, "PATs", func(p gitlab.PaginationOptionFunc) ([]*gitlab.PersonalAccessToken, *gitlab.Response, error) {
		return c.PersonalAccessTokens.ListPersonalAccessTokens(&gitlab.ListPersonalAccessTokensOptions{}, p)
	}, func(x *gitlab.PersonalAccessToken) int64 { return x.ID }), all)

	one, _, err := c.PersonalAccessTokens.GetSinglePersonalAccessTokenByID(w.Tokens[3].ID)
	if err != nil || one.ID != w.Tokens[3].ID || one.Active != w.TokenActive(w.Tokens[3]) {
		t.Errorf("get PAT by id: %v", err)
	}
	if self, _, err := c.PersonalAccessTokens.GetSinglePersonalAccessToken(); err != nil || self.UserID != me.ID {
		t.Errorf("PAT self: %v", err)
	}

	users := idsOf(w.Users, func(u *User) int64 { return u.ID })
	projects := idsOf(w.Projects, func(p *Project) int64 { return p.ID })
	groups := idsOf(w.Groups, func(g *Group) int64 { return g.ID })
	deploy := idsOf(w.DeployTokens, deployID)
	sameIDs(t, "admin users", collectIDs(t, "users", func(p gitlab.PaginationOptionFunc) ([]*gitlab.User, *gitlab.Response, error) {
		return c.Users.ListUsers(&gitlab.ListUsersOptions{ListOptions: lo(100)}, p)
	}, func(x *gitlab.User) int64 { return x.ID }), users)
	sameIDs(t, "admin projects", collectIDs(t, "projects", func(p gitlab.PaginationOptionFunc) ([]*gitlab.Project, *gitlab.Response, error) {
		return c.Projects.ListProjects(&gitlab.ListProjectsOptions{ListOptions: lo(100)}, p)
	}, func(x *gitlab.Project) int64 { return x.ID }), projects)
	sameIDs(t, "admin projects, keyset", collectIDs(t, "projects keyset", func(p gitlab.PaginationOptionFunc) ([]*gitlab.Project, *gitlab.Response, error) {
		return c.Projects.ListProjects(&gitlab.ListProjectsOptions{ListOptions: gitlab.ListOptions{PerPage: 30, Pagination: "keyset", OrderBy: "id", Sort: "asc"}}, p)
	}, func(x *gitlab.Project) int64 { return x.ID }), projects)
	sameIDs(t, "admin groups", collectIDs(t, "groups", func(p gitlab.PaginationOptionFunc) ([]*gitlab.Group, *gitlab.Response, error) {
		return c.Groups.ListGroups(&gitlab.ListGroupsOptions{ListOptions: lo(10)}, p)
	}, func(x *gitlab.Group) int64 { return x.ID }), groups)
	sameIDs(t, "admin deploy tokens", collectIDs(t, "deploy tokens", func(p gitlab.PaginationOptionFunc) ([]*gitlab.DeployToken, *gitlab.Response, error) {
		return c.DeployTokens.ListAllDeployTokens(p)
	}, func(x *gitlab.DeployToken) int64 { return x.ID }), deploy)

	// GET /service_accounts lists every service account, group ones too
	// (User.service_account in ee/lib/api/service_accounts.rb).
	var allSAs []int64
	for _, u := range w.Users {
		if u.UserType == UserTypeServiceAccount {
			allSAs = append(allSAs, u.ID)
		}
	}
	sameIDs(t, "service accounts", collectIDs(t, "service accounts", func(p gitlab.PaginationOptionFunc) ([]*gitlab.ServiceAccount, *gitlab.Response, error) {
		return c.Users.ListServiceAccounts(&gitlab.ListServiceAccountsOptions{}, p)
	}, func(x *gitlab.ServiceAccount) int64 { return x.ID }), allSAs)

	// Every project's and group's token lists, followed to the end.
	var projectTokens, triggers, groupTokens, projectDeploy, groupDeploy int
	for _, p := range w.Projects {
		ids := collectIDs(t, "project tokens", func(o gitlab.PaginationOptionFunc) ([]*gitlab.ProjectAccessToken, *gitlab.Response, error) {
			return c.ProjectAccessTokens.ListProjectAccessTokens(p.ID, &gitlab.ListProjectAccessTokensOptions{ListOptions: lo(5)}, o)
		}, func(x *gitlab.ProjectAccessToken) int64 { return x.ID })
		sameIDs(t, fmt.Sprintf("project %d access tokens", p.ID), ids, gtBotTokens(w, "project", p.ID))
		projectTokens += len(ids)
		triggers += len(collectIDs(t, "triggers", func(o gitlab.PaginationOptionFunc) ([]*gitlab.PipelineTrigger, *gitlab.Response, error) {
			return c.PipelineTriggers.ListPipelineTriggers(p.ID, &gitlab.ListPipelineTriggersOptions{ListOptions: lo(5)}, o)
		}, func(x *gitlab.PipelineTrigger) int64 { return x.ID }))
		projectDeploy += len(collectIDs(t, "project deploy tokens", func(o gitlab.PaginationOptionFunc) ([]*gitlab.DeployToken, *gitlab.Response, error) {
			return c.DeployTokens.ListProjectDeployTokens(p.ID, &gitlab.ListProjectDeployTokensOptions{ListOptions: lo(5)}, o)
		}, func(x *gitlab.DeployToken) int64 { return x.ID }))
		if len(p.JobTokenScope.AllowlistProjectIDs) > 0 || len(p.JobTokenScope.AllowlistGroupIDs) > 0 {
			sc, _, err := c.JobTokenScope.GetProjectJobTokenAccessSettings(p.ID)
			if err != nil || sc.InboundEnabled != p.JobTokenScope.InboundEnabled {
				t.Errorf("project %d job token scope: %v", p.ID, err)
			}
			sameIDs(t, "job token allowlist", collectIDs(t, "allowlist", func(o gitlab.PaginationOptionFunc) ([]*gitlab.Project, *gitlab.Response, error) {
				return c.JobTokenScope.GetProjectJobTokenInboundAllowList(p.ID, &gitlab.GetJobTokenInboundAllowListOptions{}, o)
			}, func(x *gitlab.Project) int64 { return x.ID }), p.JobTokenScope.AllowlistProjectIDs)
			sameIDs(t, "job token groups allowlist", collectIDs(t, "groups allowlist", func(o gitlab.PaginationOptionFunc) ([]*gitlab.Group, *gitlab.Response, error) {
				return c.JobTokenScope.GetJobTokenAllowlistGroups(p.ID, &gitlab.GetJobTokenAllowlistGroupsOptions{}, o)
			}, func(x *gitlab.Group) int64 { return x.ID }), p.JobTokenScope.AllowlistGroupIDs)
		}
	}
	for _, g := range w.Groups {
		ids := collectIDs(t, "group tokens", func(o gitlab.PaginationOptionFunc) ([]*gitlab.GroupAccessToken, *gitlab.Response, error) {
			return c.GroupAccessTokens.ListGroupAccessTokens(g.ID, &gitlab.ListGroupAccessTokensOptions{ListOptions: lo(5)}, o)
		}, func(x *gitlab.GroupAccessToken) int64 { return x.ID })
		sameIDs(t, fmt.Sprintf("group %d access tokens", g.ID), ids, gtBotTokens(w, "group", g.ID))
		groupTokens += len(ids)
		groupDeploy += len(collectIDs(t, "group deploy tokens", func(o gitlab.PaginationOptionFunc) ([]*gitlab.DeployToken, *gitlab.Response, error) {
			return c.DeployTokens.ListGroupDeployTokens(g.ID, &gitlab.ListGroupDeployTokensOptions{ListOptions: lo(5)}, o)
		}, func(x *gitlab.DeployToken) int64 { return x.ID }))
	}
	counts := w.TokenCounts()
	if projectTokens != counts[KindProjectAccess] || groupTokens != counts[KindGroupAccess] || triggers != len(w.Triggers) || projectDeploy+groupDeploy != len(w.DeployTokens) {
		t.Errorf("per-resource totals: project %d/%d group %d/%d triggers %d/%d deploy %d/%d",
			projectTokens, counts[KindProjectAccess], groupTokens, counts[KindGroupAccess], triggers, len(w.Triggers), projectDeploy+groupDeploy, len(w.DeployTokens))
	}

	// Memberships of a user with some.
	for _, g := range w.Groups {
		if len(g.Members) == 0 {
			continue
		}
		ms, _, err := c.Users.GetUserMemberships(g.Members[0].UserID, &gitlab.GetUserMembershipOptions{})
		if err != nil || len(ms) == 0 {
			t.Errorf("memberships of user %d: %d, %v", g.Members[0].UserID, len(ms), err)
		}
		break
	}
}

func TestClientGoGroupOwnerView(t *testing.T) {
	w, s := serveGenerated(t, "small", 7)
	token, groupPath := w.GroupOwnerToken()
	if token == "" {
		t.Fatal("no group owner token")
	}
	me := gtUserOf(w, token)
	c := newGitLabClient(t, s, token)

	var own []int64
	for _, tk := range w.Tokens {
		if tk.UserID == me.ID && !tk.Impersonation {
			own = append(own, tk.ID)
		}
	}
	sameIDs(t, "own PATs", collectIDs(t, "PATs", func(p gitlab.PaginationOptionFunc) ([]*gitlab.PersonalAccessToken, *gitlab.Response, error) {
		return c.PersonalAccessTokens.ListPersonalAccessTokens(&gitlab.ListPersonalAccessTokensOptions{ListOptions: lo(3)}, p)
	}, func(x *gitlab.PersonalAccessToken) int64 { return x.ID }), own)

	var visible, memberGroups []int64
	for _, p := range w.Projects {
		if p.Visibility == "public" || p.Visibility == "internal" || gtProjectAccess(w, me.ID, p) > 0 {
			visible = append(visible, p.ID)
		}
	}
	for _, g := range w.Groups {
		if gtGroupAccess(w, me.ID, g.ID) > 0 {
			memberGroups = append(memberGroups, g.ID)
		}
	}
	users := idsOf(w.Users, func(u *User) int64 { return u.ID })
	sameIDs(t, "visible projects", collectIDs(t, "projects", func(p gitlab.PaginationOptionFunc) ([]*gitlab.Project, *gitlab.Response, error) {
		return c.Projects.ListProjects(&gitlab.ListProjectsOptions{ListOptions: lo(100)}, p)
	}, func(x *gitlab.Project) int64 { return x.ID }), visible)
	sameIDs(t, "member groups", collectIDs(t, "groups", func(p gitlab.PaginationOptionFunc) ([]*gitlab.Group, *gitlab.Response, error) {
		return c.Groups.ListGroups(&gitlab.ListGroupsOptions{ListOptions: lo(100)}, p)
	}, func(x *gitlab.Group) int64 { return x.ID }), memberGroups)
	sameIDs(t, "users (basic)", collectIDs(t, "users", func(p gitlab.PaginationOptionFunc) ([]*gitlab.User, *gitlab.Response, error) {
		return c.Users.ListUsers(&gitlab.ListUsersOptions{ListOptions: lo(100)}, p)
	}, func(x *gitlab.User) int64 { return x.ID }), users)

	// The group tree, by full path.
	var top *Group
	for _, g := range w.Groups {
		if g.ParentID == 0 && g.Path == groupPath {
			top = g
		}
	}
	if top == nil {
		t.Fatalf("group %s not in the World", groupPath)
	}
	below := map[int64]bool{top.ID: true}
	for changed := true; changed; {
		changed = false
		for _, g := range w.Groups {
			if below[g.ParentID] && !below[g.ID] {
				below[g.ID], changed = true, true
			}
		}
	}
	var descendants, projectsBelow, groupTokens, sas []int64
	for _, g := range w.Groups {
		if below[g.ID] && g.ID != top.ID {
			descendants = append(descendants, g.ID)
		}
		if below[g.ID] {
			groupTokens = append(groupTokens, gtBotTokens(w, "group", g.ID)...)
		}
	}
	for _, p := range w.Projects {
		if below[p.GroupID] {
			projectsBelow = append(projectsBelow, p.ID)
		}
	}
	for _, u := range w.Users {
		if u.UserType == UserTypeServiceAccount && u.ServiceAccountGroupID == top.ID {
			sas = append(sas, u.ID)
		}
	}
	sameIDs(t, "descendant groups", collectIDs(t, "descendants", func(p gitlab.PaginationOptionFunc) ([]*gitlab.Group, *gitlab.Response, error) {
		return c.Groups.ListDescendantGroups(groupPath, &gitlab.ListDescendantGroupsOptions{ListOptions: lo(10)}, p)
	}, func(x *gitlab.Group) int64 { return x.ID }), descendants)
	sameIDs(t, "projects below", collectIDs(t, "group projects", func(p gitlab.PaginationOptionFunc) ([]*gitlab.Project, *gitlab.Response, error) {
		return c.Groups.ListGroupProjects(groupPath, &gitlab.ListGroupProjectsOptions{ListOptions: lo(10), IncludeSubGroups: gitlab.Ptr(true), WithShared: gitlab.Ptr(false), Simple: gitlab.Ptr(true)}, p)
	}, func(x *gitlab.Project) int64 { return x.ID }), projectsBelow)
	var gotGroupTokens []int64
	for _, g := range append([]int64{top.ID}, descendants...) {
		gotGroupTokens = append(gotGroupTokens, collectIDs(t, "group tokens", func(p gitlab.PaginationOptionFunc) ([]*gitlab.GroupAccessToken, *gitlab.Response, error) {
			return c.GroupAccessTokens.ListGroupAccessTokens(g, &gitlab.ListGroupAccessTokensOptions{ListOptions: lo(10)}, p)
		}, func(x *gitlab.GroupAccessToken) int64 { return x.ID })...)
	}
	sameIDs(t, "group access tokens in the tree", sortedIDs(gotGroupTokens), groupTokens)
	sameIDs(t, "group service accounts", collectIDs(t, "group SAs", func(p gitlab.PaginationOptionFunc) ([]*gitlab.GroupServiceAccount, *gitlab.Response, error) {
		return c.Groups.ListServiceAccounts(groupPath, &gitlab.ListServiceAccountsOptions{}, p)
	}, func(x *gitlab.GroupServiceAccount) int64 { return x.ID }), sas)
	for _, id := range sas {
		var want []int64
		for _, tk := range w.Tokens {
			if tk.UserID == id {
				want = append(want, tk.ID)
			}
		}
		sameIDs(t, "service account PATs", collectIDs(t, "SA PATs", func(p gitlab.PaginationOptionFunc) ([]*gitlab.PersonalAccessToken, *gitlab.Response, error) {
			return c.Groups.ListServiceAccountPersonalAccessTokens(groupPath, id, &gitlab.ListServiceAccountPersonalAccessTokensOptions{}, p)
		}, func(x *gitlab.PersonalAccessToken) int64 { return x.ID }), want)
	}

	// What a group owner may not read answers as GitLab does.
	if _, resp, err := c.DeployTokens.ListAllDeployTokens(); err == nil || resp.StatusCode != 403 {
		t.Errorf("owner lists all deploy tokens: %v", err)
	}
	if _, resp, err := c.Settings.GetSettings(); err == nil || resp.StatusCode != 403 {
		t.Errorf("owner reads settings: %v", err)
	}
}

func TestClientGoCredentialsInventory(t *testing.T) {
	w, err := Generate("small", 7)
	if err != nil {
		t.Fatal(err)
	}
	w.GitLabCom, w.Version = true, GeneratorGitLabComVersion
	s := NewServer(w, Options{})
	defer s.Close()
	token, groupPath := w.GroupOwnerToken()
	c := newGitLabClient(t, s, token)
	got, err := gitlab.ScanAndCollect(func(p gitlab.PaginationOptionFunc) ([]*gitlab.GroupPersonalAccessToken, *gitlab.Response, error) {
		return c.GroupCredentials.ListGroupPersonalAccessTokens(groupPath, &gitlab.ListGroupPersonalAccessTokensOptions{ListOptions: lo(50)}, p)
	})
	if err != nil {
		t.Fatalf("credentials inventory: %v", err)
	}
	if len(got) == 0 {
		t.Error("credentials inventory of the largest group is empty")
	}
	users := map[int64]*User{}
	for _, u := range w.Users {
		users[u.ID] = u
	}
	imp := map[int64]bool{}
	for _, tk := range w.Tokens {
		imp[tk.ID] = tk.Impersonation
	}
	for _, tk := range got {
		if u := users[tk.UserID]; u == nil || u.UserType != UserTypeHuman || imp[tk.ID] {
			t.Errorf("credentials inventory lists token %d, not a human's own PAT", tk.ID)
		}
	}
}
