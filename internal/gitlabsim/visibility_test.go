package gitlabsim

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
)

// walkList lists one token list to the end through client-go and records
// it in got under path when it answers and holds tokens. A refusal (401,
// 403, 404) is a list the caller may not read; anything else fails.
func walkList[T any](t *testing.T, got map[string][]int64, path string, f func(p gitlab.PaginationOptionFunc) ([]T, *gitlab.Response, error), id func(T) int64) {
	t.Helper()
	items, err := gitlab.ScanAndCollect(f)
	if err != nil {
		for _, st := range []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound} {
			if gitlab.HasStatusCode(err, st) {
				return
			}
		}
		t.Fatalf("%s: %v", path, err)
	}
	if len(items) == 0 {
		return
	}
	ids := make([]int64, len(items))
	for i, it := range items {
		ids[i] = id(it)
	}
	slices.Sort(ids)
	got[path] = ids
}

// clientGoLists asks the server, through client-go, for every token list
// of the World as the caller with token: the PAT list, every user's
// impersonation tokens, every project's and group's access tokens, deploy
// tokens and triggers, every group service account's PATs, the instance
// deploy tokens and, on GitLab.com, the credentials inventory.
func clientGoLists(t *testing.T, s *Server, w *World, token string) map[string][]int64 {
	t.Helper()
	c := newGitLabClient(t, s, token)
	got := map[string][]int64{}
	pat := func(x *gitlab.PersonalAccessToken) int64 { return x.ID }
	dep := func(x *gitlab.DeployToken) int64 { return x.ID }

	walkList(t, got, "/personal_access_tokens", func(p gitlab.PaginationOptionFunc) ([]*gitlab.PersonalAccessToken, *gitlab.Response, error) {
		return c.PersonalAccessTokens.ListPersonalAccessTokens(&gitlab.ListPersonalAccessTokensOptions{ListOptions: lo(100)}, p)
	}, pat)
	walkList(t, got, "/deploy_tokens", func(p gitlab.PaginationOptionFunc) ([]*gitlab.DeployToken, *gitlab.Response, error) {
		return c.DeployTokens.ListAllDeployTokens(p)
	}, dep)
	for _, u := range w.Users {
		walkList(t, got, fmt.Sprintf("/users/%d/impersonation_tokens", u.ID), func(p gitlab.PaginationOptionFunc) ([]*gitlab.ImpersonationToken, *gitlab.Response, error) {
			return c.Users.GetAllImpersonationTokens(u.ID, &gitlab.GetAllImpersonationTokensOptions{ListOptions: lo(100)}, p)
		}, func(x *gitlab.ImpersonationToken) int64 { return x.ID })
		if u.UserType == UserTypeServiceAccount && u.ServiceAccountGroupID != 0 {
			walkList(t, got, fmt.Sprintf("/groups/%d/service_accounts/%d/personal_access_tokens", u.ServiceAccountGroupID, u.ID), func(p gitlab.PaginationOptionFunc) ([]*gitlab.PersonalAccessToken, *gitlab.Response, error) {
				return c.Groups.ListServiceAccountPersonalAccessTokens(u.ServiceAccountGroupID, u.ID, &gitlab.ListServiceAccountPersonalAccessTokensOptions{ListOptions: lo(100)}, p)
			}, pat)
		}
	}
	for _, pr := range w.Projects {
		walkList(t, got, fmt.Sprintf("/projects/%d/access_tokens", pr.ID), func(p gitlab.PaginationOptionFunc) ([]*gitlab.ProjectAccessToken, *gitlab.Response, error) {
			return c.ProjectAccessTokens.ListProjectAccessTokens(pr.ID, &gitlab.ListProjectAccessTokensOptions{ListOptions: lo(100)}, p)
		}, func(x *gitlab.ProjectAccessToken) int64 { return x.ID })
		walkList(t, got, fmt.Sprintf("/projects/%d/deploy_tokens", pr.ID), func(p gitlab.PaginationOptionFunc) ([]*gitlab.DeployToken, *gitlab.Response, error) {
			return c.DeployTokens.ListProjectDeployTokens(pr.ID, &gitlab.ListProjectDeployTokensOptions{ListOptions: lo(100)}, p)
		}, dep)
		walkList(t, got, fmt.Sprintf("/projects/%d/triggers", pr.ID), func(p gitlab.PaginationOptionFunc) ([]*gitlab.PipelineTrigger, *gitlab.Response, error) {
			return c.PipelineTriggers.ListPipelineTriggers(pr.ID, &gitlab.ListPipelineTriggersOptions{ListOptions: lo(100)}, p)
		}, func(x *gitlab.PipelineTrigger) int64 { return x.ID })
	}
	for _, g := range w.Groups {
		walkList(t, got, fmt.Sprintf("/groups/%d/access_tokens", g.ID), func(p gitlab.PaginationOptionFunc) ([]*gitlab.GroupAccessToken, *gitlab.Response, error) {
			return c.GroupAccessTokens.ListGroupAccessTokens(g.ID, &gitlab.ListGroupAccessTokensOptions{ListOptions: lo(100)}, p)
		}, func(x *gitlab.GroupAccessToken) int64 { return x.ID })
		walkList(t, got, fmt.Sprintf("/groups/%d/deploy_tokens", g.ID), func(p gitlab.PaginationOptionFunc) ([]*gitlab.DeployToken, *gitlab.Response, error) {
			return c.DeployTokens.ListGroupDeployTokens(g.ID, &gitlab.ListGroupDeployTokensOptions{ListOptions: lo(100)}, p)
		}, dep)
		if !w.GitLabCom {
			continue
		}
		walkList(t, got, fmt.Sprintf("/groups/%d/manage/personal_access_tokens", g.ID), func(p gitlab.PaginationOptionFunc) ([]*gitlab.GroupPersonalAccessToken, *gitlab.Response, error) {
			return c.GroupCredentials.ListGroupPersonalAccessTokens(g.ID, &gitlab.ListGroupPersonalAccessTokensOptions{ListOptions: lo(100)}, p)
		}, func(x *gitlab.GroupPersonalAccessToken) int64 { return x.ID })
		// client-go v2.64 has no method for this route.
		walkList(t, got, fmt.Sprintf("/groups/%d/manage/resource_access_tokens", g.ID), func(p gitlab.PaginationOptionFunc) ([]*gitlab.GroupAccessToken, *gitlab.Response, error) {
			req, err := c.NewRequest(http.MethodGet, fmt.Sprintf("groups/%d/manage/resource_access_tokens", g.ID), &gitlab.ListOptions{PerPage: 100}, []gitlab.RequestOptionFunc{gitlab.RequestOptionFunc(p)})
			if err != nil {
				return nil, nil, err
			}
			var out []*gitlab.GroupAccessToken
			resp, err := c.Do(req, &out)
			return out, resp, err
		}, func(x *gitlab.GroupAccessToken) int64 { return x.ID })
	}
	return got
}

// compareLists reports the lists Visible and the server disagree on.
func compareLists(t *testing.T, who string, v *Visibility, got map[string][]int64) {
	t.Helper()
	bad := 0
	for path, ids := range got {
		if want, ok := v.Lists[path]; !ok || !slices.Equal(ids, want) {
			bad++
			if bad <= 5 {
				t.Errorf("%s: GET %s lists %d tokens (first %v), Visible says %d (first %v)", who, path, len(ids), head(ids), len(want), head(want))
			}
		}
	}
	for path, want := range v.Lists {
		if _, ok := got[path]; !ok {
			bad++
			if bad <= 5 {
				t.Errorf("%s: Visible has %s with %d tokens; the server lists none or refuses", who, path, len(want))
			}
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d lists differ in all", who, bad)
	}
}

// developerToken finds an active human, no administrator, whose highest
// role anywhere is Developer, and returns their usable token.
func developerToken(t *testing.T, w *World) (string, *User) {
	t.Helper()
	best := map[int64]int{}
	for _, g := range w.Groups {
		for _, m := range g.Members {
			best[m.UserID] = max(best[m.UserID], m.AccessLevel)
		}
	}
	for _, p := range w.Projects {
		for _, m := range p.Members {
			best[m.UserID] = max(best[m.UserID], m.AccessLevel)
		}
		if p.GroupID == 0 {
			best[p.UserID] = 50 // Owner of a personal project
		}
	}
	for _, u := range w.Users {
		if best[u.ID] == 30 && !u.Admin && u.State == "active" && u.UserType == UserTypeHuman {
			if tk := w.usableToken(u.ID); tk != nil {
				return tk.Value, u
			}
		}
	}
	t.Fatal("no Developer-only user with a usable token")
	return "", nil
}

// Visible must be exactly what the server lists through client-go, for an
// administrator, a group owner and a developer; and for each the lists hold
// what GitLab's rules give that role.
func TestVisibleMatchesServer(t *testing.T) {
	w, s := serveGenerated(t, "small", 7)
	ownerToken, _ := w.GroupOwnerToken()
	devToken, dev := developerToken(t, w)

	for _, who := range []struct {
		name, token string
	}{{"admin", w.AdminToken()}, {"group owner", ownerToken}, {"developer", devToken}} {
		v, err := s.Visible(who.token)
		if err != nil {
			t.Fatalf("%s: %v", who.name, err)
		}
		compareLists(t, who.name, v, clientGoLists(t, s, w, who.token))

		switch who.name {
		case "admin":
			// Everything, and the admin-only lists.
			if !v.Admin || len(v.PATs) != len(w.Tokens) || len(v.DeployTokens) != len(w.DeployTokens) || len(v.Triggers) != len(w.Triggers) {
				t.Errorf("admin sees %d/%d PATs, %d/%d deploy tokens, %d/%d triggers, admin=%v; want everything",
					len(v.PATs), len(w.Tokens), len(v.DeployTokens), len(w.DeployTokens), len(v.Triggers), len(w.Triggers), v.Admin)
			}
			if len(v.Lists["/deploy_tokens"]) != len(w.DeployTokens) {
				t.Errorf("admin /deploy_tokens: %d, want %d", len(v.Lists["/deploy_tokens"]), len(w.DeployTokens))
			}
		case "group owner":
			// More than their own PATs: the group's access tokens at least.
			var own int
			for _, tk := range w.Tokens {
				if tk.UserID == v.UserID && !tk.Impersonation {
					own++
				}
			}
			if v.Admin || len(v.PATs) <= own || len(v.Triggers) == 0 {
				t.Errorf("group owner sees %d PATs (%d own), %d triggers; want resource tokens and triggers too", len(v.PATs), own, len(v.Triggers))
			}
		case "developer":
			// Only their own PATs, impersonation tokens excluded.
			var own []int64
			for _, tk := range w.Tokens {
				if tk.UserID == dev.ID && !tk.Impersonation {
					own = append(own, tk.ID)
				}
			}
			if len(v.Lists) != 1 || !slices.Equal(v.Lists["/personal_access_tokens"], own) || v.Total() != len(own) {
				t.Errorf("developer sees lists %v, want only /personal_access_tokens %v", mapKeys(v.Lists), own)
			}
		}
	}
}

func mapKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// On GitLab.com the credentials inventory counts and nobody is an
// administrator; scopes and refused tokens are honoured.
func TestVisibleGitLabComScopesAndRefusals(t *testing.T) {
	w := testWorld()
	w.GitLabCom, w.Version = true, GeneratorGitLabComVersion
	s := NewServer(w, Options{})
	defer s.Close()
	for _, who := range []string{tokAlice, tokAdmin, tokBob, tokCarol} {
		v, err := s.Visible(who)
		if err != nil {
			t.Fatalf("user %v: %v", gtUserOf(w, who).Username, err)
		}
		compareLists(t, gtUserOf(w, who).Username, v, clientGoLists(t, s, w, who))
	}
	v, _ := s.Visible(tokAlice)
	if got := fmt.Sprint(v.Lists["/groups/10/manage/personal_access_tokens"]); got != "[102 104 105 106 107]" {
		t.Errorf("alice's credentials inventory %s, want [102 104 105 106 107]", got)
	}
	if v, _ := s.Visible(tokAdmin); v.Admin || v.Lists["/deploy_tokens"] != nil {
		t.Errorf("GitLab.com admin: Admin %v, /deploy_tokens %v; want no administrator", v.Admin, v.Lists["/deploy_tokens"])
	}

	// A read_user token reaches only the users API, where alice is no
	// administrator: nothing.
	if v, err := s.Visible(tokAliceUser); err != nil {
		t.Errorf("read_user token: %v", err)
	} else if len(v.Lists) != 0 {
		t.Errorf("read_user token: lists %v, want none", mapKeys(v.Lists))
	}
	for i, tok := range []string{"glpat-nobody", tokAliceRevoked, tokAliceExpired, tokDave, tokDeploy} {
		if _, err := s.Visible(tok); err == nil {
			t.Errorf("refused token #%d (unknown, revoked, expired, blocked owner, deploy) got a Visibility", i)
		}
	}

	// World.Visible, without a server, agrees.
	wv, err := w.Visible(tokAlice)
	sv, _ := s.Visible(tokAlice)
	if err != nil || fmt.Sprint(wv) != fmt.Sprint(sv) {
		t.Errorf("World.Visible differs from Server.Visible: %v", err)
	}
}
