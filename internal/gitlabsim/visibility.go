package gitlabsim

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Visibility is the ground truth of what one caller can list: every token
// list route the caller may read, with the tokens each holds unfiltered.
// It is computed with the server's own code (the authentication, route
// availability and the guard-and-source function each list handler
// calls), so it is what the server answers, not a second reading of
// GitLab's rules.
type Visibility struct {
	UserID int64
	// Admin: the caller is an administrator (never on GitLab.com).
	Admin bool
	// Lists maps the path below /api/v4 of each token list the caller may
	// read ("/personal_access_tokens", "/projects/20/access_tokens",
	// "/users/7/impersonation_tokens", ...) to the IDs it holds, ascending,
	// without filters. Lists the caller may read but that are empty are
	// left out, as are lists its token's scopes do not reach.
	Lists map[string][]int64
	// PATs are the IDs of the tokens stored as personal access tokens
	// (personal, impersonation, service-account, project and group access
	// tokens) in any of Lists; DeployTokens and Triggers likewise.
	PATs, DeployTokens, Triggers map[int64]bool
}

// Total is the number of distinct tokens the caller can list.
func (v *Visibility) Total() int { return len(v.PATs) + len(v.DeployTokens) + len(v.Triggers) }

// Visible returns what the caller with this token value can list from the
// served World. An error says the token does not authenticate at all
// (unknown, expired, revoked, blocked owner); it never holds the value.
func (s *Server) Visible(token string) (*Visibility, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.ix.visible(token)
}

// Visible is Server.Visible for a World not being served; it builds the
// server's lookups first, so call it once per World and caller.
func (w *World) Visible(token string) (*Visibility, error) {
	return buildIndex(w).visible(token)
}

// tokenTable is the table a token list draws from.
type tokenTable int

const (
	tablePAT tokenTable = iota
	tableDeploy
	tableTrigger
)

// tokenList is one token list route: its template (as in apiRoutes), the
// :param values of each of its instances in a World, and its handler's
// guard and source.
type tokenList struct {
	template string
	table    tokenTable
	params   func(ix *index) [][]string
	ids      func(rc *reqCtx) ([]int64, *apiError)
}

func routeIDs[T any](src func(*reqCtx) ([]T, *apiError), id func(T) int64) func(*reqCtx) ([]int64, *apiError) {
	return func(rc *reqCtx) ([]int64, *apiError) {
		list, err := src(rc)
		if err != nil {
			return nil, err
		}
		out := make([]int64, len(list))
		for i, x := range list {
			out[i] = id(x)
		}
		return out, nil
	}
}

func patID(t *PersonalAccessToken) int64 { return t.ID }
func deployID(d *DeployToken) int64      { return d.ID }
func triggerID(t *Trigger) int64         { return t.ID }

func noParams(*index) [][]string { return [][]string{nil} }

// eachID is the :id parameter of every item.
func eachID[T any](items []T, id func(T) int64) [][]string {
	out := make([][]string, len(items))
	for i, x := range items {
		out[i] = []string{strconv.FormatInt(id(x), 10)}
	}
	return out
}

func eachProject(ix *index) [][]string {
	return eachID(ix.w.Projects, func(p *Project) int64 { return p.ID })
}

func eachGroup(ix *index) [][]string {
	return eachID(ix.w.Groups, func(g *Group) int64 { return g.ID })
}

func eachUser(ix *index) [][]string {
	return eachID(ix.w.Users, func(u *User) int64 { return u.ID })
}

// eachGroupServiceAccount pairs every group service account with its group.
func eachGroupServiceAccount(ix *index) [][]string {
	var out [][]string
	for _, u := range ix.w.Users {
		if u.UserType == UserTypeServiceAccount && u.ServiceAccountGroupID != 0 {
			out = append(out, []string{strconv.FormatInt(u.ServiceAccountGroupID, 10), strconv.FormatInt(u.ID, 10)})
		}
	}
	return out
}

// tokenLists are every route that lists tokens, unfiltered. The admin PAT
// list's user_id filter and the state filters only narrow these.
var tokenLists = []tokenList{
	{"GET /personal_access_tokens", tablePAT, noParams, routeIDs(patsOf, patID)},
	{"GET /users/:id/impersonation_tokens", tablePAT, eachUser, routeIDs(impersonationTokensOf, patID)},
	{"GET /projects/:id/access_tokens", tablePAT, eachProject, routeIDs(projectAccessTokensOf, patID)},
	{"GET /groups/:id/access_tokens", tablePAT, eachGroup, routeIDs(groupAccessTokensOf, patID)},
	{"GET /groups/:id/service_accounts/:user_id/personal_access_tokens", tablePAT, eachGroupServiceAccount, routeIDs(serviceAccountPATsOf, patID)},
	{"GET /groups/:id/manage/personal_access_tokens", tablePAT, eachGroup, routeIDs(managedPATsOf, patID)},
	{"GET /groups/:id/manage/resource_access_tokens", tablePAT, eachGroup, routeIDs(managedResourceTokensOf, patID)},
	{"GET /deploy_tokens", tableDeploy, noParams, routeIDs(allDeployTokensOf, deployID)},
	{"GET /projects/:id/deploy_tokens", tableDeploy, eachProject, routeIDs(projectDeployTokensOf, deployID)},
	{"GET /groups/:id/deploy_tokens", tableDeploy, eachGroup, routeIDs(groupDeployTokensOf, deployID)},
	{"GET /projects/:id/triggers", tableTrigger, eachProject, routeIDs(triggersOf, triggerID)},
}

// routeByTemplate finds a served route; a token list must name one.
func routeByTemplate(template string) *apiRoute {
	for _, r := range apiRoutes {
		if r.template == template {
			return r
		}
	}
	panic("gitlabsim: token list " + template + " is not a served route")
}

// expandPath fills a template's :params in order: "GET /projects/:id/triggers"
// with ["20"] is "/projects/20/triggers".
func expandPath(template string, params []string) string {
	segs := strings.Split(strings.TrimPrefix(template, "GET "), "/")
	n := 0
	for i, sg := range segs {
		if strings.HasPrefix(sg, ":") && n < len(params) {
			segs[i] = params[n]
			n++
		}
	}
	return strings.Join(segs, "/")
}

func (ix *index) visible(secret string) (*Visibility, error) {
	c, aerr := ix.authenticateSecret(secret, scopeAny)
	if aerr != nil {
		return nil, fmt.Errorf("gitlabsim: token refused: %d %s", aerr.status, aerr.body)
	}
	v := &Visibility{UserID: c.user.ID, Admin: c.admin, Lists: map[string][]int64{},
		PATs: map[int64]bool{}, DeployTokens: map[int64]bool{}, Triggers: map[int64]bool{}}
	for _, tl := range tokenLists {
		rt := routeByTemplate(tl.template)
		// The route's own availability and scope, as serveRoute applies them.
		if !ix.has(rt.feature) {
			continue
		}
		cl, aerr := ix.authenticateSecret(secret, rt.scope)
		if aerr != nil {
			continue
		}
		set := map[tokenTable]map[int64]bool{tablePAT: v.PATs, tableDeploy: v.DeployTokens, tableTrigger: v.Triggers}[tl.table]
		for _, params := range tl.params(ix) {
			ids, err := tl.ids(&reqCtx{ix: ix, c: cl, params: params, q: url.Values{}})
			if err != nil || len(ids) == 0 {
				continue
			}
			ids = slices.Clone(ids)
			slices.Sort(ids)
			v.Lists[expandPath(tl.template, params)] = ids
			for _, id := range ids {
				set[id] = true
			}
		}
	}
	return v, nil
}
