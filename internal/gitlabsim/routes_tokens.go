package gitlabsim

import (
	"net/http"
	"strings"
	"time"
)

// tokenFilter holds the filters shared by the PAT list and the resource
// token lists (https://docs.gitlab.com/api/personal_access_tokens/,
// https://docs.gitlab.com/api/project_access_tokens/).
type tokenFilter struct {
	state                         string
	revoked, revokedSet           bool
	createdBefore, createdAfter   *time.Time
	lastUsedBefore, lastUsedAfter *time.Time
	expiresBefore, expiresAfter   *time.Time
	search                        string
	sort                          string
}

var tokenSorts = []string{"created_asc", "created_desc", "expires_asc", "expires_desc", "last_used_asc", "last_used_desc", "name_asc", "name_desc", "expires_at_asc_id_desc"}

func parseTokenFilter(rc *reqCtx) (*tokenFilter, *apiError) {
	f := &tokenFilter{search: strings.ToLower(rc.q.Get("search"))}
	var err *apiError
	if f.state, err = valuesParam(rc, "state", "active", "inactive"); err != nil {
		return nil, err
	}
	if f.revoked, f.revokedSet, err = boolParam(rc, "revoked"); err != nil {
		return nil, err
	}
	for name, dst := range map[string]**time.Time{
		"created_before": &f.createdBefore, "created_after": &f.createdAfter,
		"last_used_before": &f.lastUsedBefore, "last_used_after": &f.lastUsedAfter,
		"expires_before": &f.expiresBefore, "expires_after": &f.expiresAfter,
	} {
		if *dst, err = timeParam(rc, name); err != nil {
			return nil, err
		}
	}
	if f.sort, err = valuesParam(rc, "sort", tokenSorts...); err != nil {
		return nil, err
	}
	return f, nil
}

// keep reports whether a token passes the filters. Bounds follow the model
// scopes: created and last_used bounds are inclusive, expires_before is
// strict and expires_after inclusive; a NULL column never matches a bound.
func (f *tokenFilter) keep(ix *index, t *PersonalAccessToken) bool {
	switch f.state {
	case "active":
		if !ix.tokenActive(t) {
			return false
		}
	case "inactive":
		if ix.tokenActive(t) {
			return false
		}
	}
	if f.revokedSet && t.Revoked != f.revoked {
		return false
	}
	if f.createdBefore != nil && t.CreatedAt.After(*f.createdBefore) {
		return false
	}
	if f.createdAfter != nil && t.CreatedAt.Before(*f.createdAfter) {
		return false
	}
	if f.lastUsedBefore != nil && (t.LastUsedAt == nil || t.LastUsedAt.After(*f.lastUsedBefore)) {
		return false
	}
	if f.lastUsedAfter != nil && (t.LastUsedAt == nil || t.LastUsedAt.Before(*f.lastUsedAfter)) {
		return false
	}
	if f.expiresBefore != nil && (t.ExpiresAt == nil || !t.ExpiresAt.Before(midnightUTC(*f.expiresBefore))) {
		return false
	}
	if f.expiresAfter != nil && (t.ExpiresAt == nil || t.ExpiresAt.Before(midnightUTC(*f.expiresAfter))) {
		return false
	}
	if f.search != "" && !strings.Contains(strings.ToLower(t.Name), f.search) {
		return false
	}
	return true
}

func (f *tokenFilter) empty() bool {
	return f.state == "" && !f.revokedSet && f.createdBefore == nil && f.createdAfter == nil &&
		f.lastUsedBefore == nil && f.lastUsedAfter == nil && f.expiresBefore == nil && f.expiresAfter == nil &&
		f.search == "" && f.sort == ""
}

// apply filters and sorts tokens; without sort they stay in ID order
// (GitLab's default ORDER BY id).
func (f *tokenFilter) apply(ix *index, in []*PersonalAccessToken) []*PersonalAccessToken {
	if f.empty() {
		return in // nothing to filter or sort: serve the ID-ordered slice as is
	}
	out := make([]*PersonalAccessToken, 0, len(in))
	for _, t := range in {
		if f.keep(ix, t) {
			out = append(out, t)
		}
	}
	if f.sort == "" {
		return out
	}
	id := func(t *PersonalAccessToken) int64 { return t.ID }
	desc := strings.HasSuffix(f.sort, "_desc")
	// NULLs sort last ascending and first descending, as PostgreSQL does.
	nullTime := func(p *time.Time) time.Time {
		if p == nil {
			return time.Unix(1<<40, 0)
		}
		return *p
	}
	var cmp func(a, b *PersonalAccessToken) int
	switch {
	case strings.HasPrefix(f.sort, "created"):
		cmp = func(a, b *PersonalAccessToken) int { return cmpTime(a.CreatedAt, b.CreatedAt) }
	case f.sort == "expires_at_asc_id_desc":
		out = sortBy(out, func(a, b *PersonalAccessToken) int {
			if c := cmpTime(nullTime(a.ExpiresAt), nullTime(b.ExpiresAt)); c != 0 {
				return c
			}
			return compareInt64(b.ID, a.ID)
		}, id)
		return out
	case strings.HasPrefix(f.sort, "expires"):
		cmp = func(a, b *PersonalAccessToken) int { return cmpTime(nullTime(a.ExpiresAt), nullTime(b.ExpiresAt)) }
	case strings.HasPrefix(f.sort, "last_used"):
		cmp = func(a, b *PersonalAccessToken) int { return cmpTime(nullTime(a.LastUsedAt), nullTime(b.LastUsedAt)) }
	default:
		cmp = func(a, b *PersonalAccessToken) int { return cmpStr(a.Name, b.Name) }
	}
	if desc {
		// Descending on the key and on the ID tie-breaker.
		out = sortBy(out, func(a, b *PersonalAccessToken) int {
			if c := cmp(b, a); c != 0 {
				return c
			}
			return compareInt64(b.ID, a.ID)
		}, id)
		return out
	}
	return sortBy(out, cmp, id)
}

func compareInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// filteredTokenList builds the handler of a token list route: the route's guard
// and source (of, shared with Visible), then the token filters, then a page
// of entities. resource marks a project or group access token list.
func filteredTokenList(of func(*reqCtx) ([]*PersonalAccessToken, *apiError), entity func(*index, *PersonalAccessToken) tokenEntity, resource bool) handlerFunc {
	return func(s *Server, rc *reqCtx) (any, *apiError) {
		list, err := of(rc)
		if err != nil {
			return nil, err
		}
		f, err := parseTokenFilter(rc)
		if err != nil {
			return nil, err
		}
		if resource && !rc.ix.has(featResourceTokenState) {
			f.state = "" // state came to the resource token lists in 17.2
		}
		return paged(s, rc, f.apply(rc.ix, list), func(t *PersonalAccessToken) tokenEntity { return entity(rc.ix, t) })
	}
}

// listedItem builds the handler of GET <list route>/:<param>: the list's
// guard and source (of), then the ID in the second path parameter
// (400 "<param> is invalid"), then the list's item with that ID, or
// notFound when the list does not hold it.
func listedItem[T, E any](of func(*reqCtx) ([]T, *apiError), param string, id func(T) int64, entity func(*Server, *reqCtx, T) E, notFound *apiError) handlerFunc {
	return func(s *Server, rc *reqCtx) (any, *apiError) {
		list, err := of(rc)
		if err != nil {
			return nil, err
		}
		want, ok := parseID(rc.params[1])
		if !ok {
			return nil, errValidation(param + " is invalid")
		}
		for _, item := range list {
			if id(item) == want {
				return entity(s, rc, item), nil
			}
		}
		return nil, notFound
	}
}

func resourceTokenOf(_ *Server, rc *reqCtx, t *PersonalAccessToken) tokenEntity {
	return rc.ix.resourceTokenEntity(t)
}

// listPATs is GET /personal_access_tokens
// (https://docs.gitlab.com/api/personal_access_tokens/): an administrator
// sees every token of the instance, impersonation and bot tokens included;
// anyone else only their own, impersonation tokens excluded.
var listPATs = filteredTokenList(patsOf, (*index).patEntity, false)

// patsOf is the guard and source of GET /personal_access_tokens, shared
// with Visible: the tokens the list holds before filters.
func patsOf(rc *reqCtx) ([]*PersonalAccessToken, *apiError) {
	ix := rc.ix
	var src []*PersonalAccessToken
	filtered := false
	if raw, present := rc.q["user_id"]; present {
		uid, valid := parseIntParam(raw[0])
		if !valid {
			return nil, errValidation("user_id is invalid")
		}
		if !rc.c.admin {
			// restrict_non_admins!: filtering on another user is a 401.
			if strings.TrimSpace(raw[0]) != "" && int64(uid) != rc.c.user.ID {
				return nil, errUnauthorized
			}
		} else {
			u := ix.users[int64(uid)]
			if u == nil || strings.TrimSpace(raw[0]) == "" {
				return nil, errNotFound
			}
			// A user without tokens has an empty list, not everyone's.
			src, filtered = ix.tokensByUser[u.ID], true
		}
	}
	if rc.c.admin {
		if !filtered {
			src = ix.w.Tokens
		}
	} else {
		for _, t := range ix.tokensByUser[rc.c.user.ID] {
			if !t.Impersonation {
				src = append(src, t)
			}
		}
	}
	return src, nil
}

// getPAT is GET /personal_access_tokens/:id
// (https://docs.gitlab.com/api/personal_access_tokens/): an administrator
// gets any token or 404; anyone else their own or 401, so that they cannot
// probe which IDs exist.
func getPAT(s *Server, rc *reqCtx) (any, *apiError) {
	id, ok := parseID(rc.params[0])
	if !ok {
		return nil, errValidation("id is invalid")
	}
	t := rc.ix.tokens[id]
	if rc.c.admin {
		if t == nil {
			return nil, errNotFound
		}
		return rc.ix.patEntity(t), nil
	}
	if t == nil || t.UserID != rc.c.user.ID {
		return nil, errUnauthorized
	}
	return rc.ix.patEntity(t), nil
}

// getPATSelf is GET /personal_access_tokens/self: the calling token, with
// any scope (https://docs.gitlab.com/api/personal_access_tokens/).
func getPATSelf(s *Server, rc *reqCtx) (any, *apiError) {
	return rc.ix.patEntity(rc.c.token), nil
}

// resourceProject resolves a project :id the caller can see, or 404.
func resourceProject(rc *reqCtx) (*Project, *apiError) {
	p := rc.ix.findProject(rc.params[0])
	if p == nil || !rc.canSeeProject(p) {
		return nil, errProject404
	}
	return p, nil
}

// resourceGroup resolves a group :id the caller can see, or 404.
func resourceGroup(rc *reqCtx) (*Group, *apiError) {
	g := rc.ix.findGroup(rc.params[0])
	if g == nil || !rc.canSeeGroup(g) {
		return nil, errGroup404
	}
	return g, nil
}

func (rc *reqCtx) projectLevel(p *Project) int {
	if rc.c.admin {
		return 50
	}
	return rc.ix.projectAccess(rc.c.user.ID, p)
}

func (rc *reqCtx) groupLevel(g *Group) int {
	if rc.c.admin {
		return 50
	}
	return rc.ix.groupAccess(rc.c.user.ID, g)
}

// listProjectAccessTokens is GET /projects/:id/access_tokens
// (https://docs.gitlab.com/api/project_access_tokens/):
// Maintainer or Owner, else 401 (not 403); a project the caller cannot see
// is 404. Active and inactive tokens are both listed (GitLab 17.9+ keeps
// the bots of inactive tokens).
var listProjectAccessTokens = filteredTokenList(projectAccessTokensOf, (*index).resourceTokenEntity, true)

// projectAccessTokensOf is the guard and source of the project access token
// routes, shared with Visible.
func projectAccessTokensOf(rc *reqCtx) ([]*PersonalAccessToken, *apiError) {
	p, err := resourceProject(rc)
	if err != nil {
		return nil, err
	}
	if rc.projectLevel(p) < 40 {
		return nil, errUnauthorized
	}
	return rc.ix.projectBotTokens[p.ID], nil
}

var getProjectAccessToken = listedItem(projectAccessTokensOf, "token_id", patID, resourceTokenOf,
	errMessage(http.StatusNotFound, "404 project Access Token Not Found"))

// listGroupAccessTokens is GET /groups/:id/access_tokens
// (https://docs.gitlab.com/api/group_access_tokens/): Owner,
// else 401.
var listGroupAccessTokens = filteredTokenList(groupAccessTokensOf, (*index).resourceTokenEntity, true)

// groupAccessTokensOf is the guard and source of the group access token
// routes, shared with Visible.
func groupAccessTokensOf(rc *reqCtx) ([]*PersonalAccessToken, *apiError) {
	g, err := resourceGroup(rc)
	if err != nil {
		return nil, err
	}
	if rc.groupLevel(g) < 50 {
		return nil, errUnauthorized
	}
	return rc.ix.groupBotTokens[g.ID], nil
}

var getGroupAccessToken = listedItem(groupAccessTokensOf, "token_id", patID, resourceTokenOf,
	errMessage(http.StatusNotFound, "404 group Access Token Not Found"))

// deployActiveFilter applies the deploy-token lists' active parameter:
// true keeps tokens neither revoked nor expired; false filters nothing,
// as the finder reads params[:active] ? items.active : items
// (https://gitlab.com/gitlab-org/gitlab/-/blob/master/app/finders/deploy_tokens/tokens_finder.rb).
func deployActiveFilter(rc *reqCtx, in []*DeployToken) ([]*DeployToken, *apiError) {
	active, _, err := boolParam(rc, "active")
	if err != nil || !active {
		return in, err
	}
	out := make([]*DeployToken, 0, len(in))
	for _, d := range in {
		if !d.Revoked && !rc.ix.deployTokenExpired(d) {
			out = append(out, d)
		}
	}
	return out, nil
}

// deployTokenList builds the handler of a deploy token list route: the
// route's guard and source (of, shared with Visible), then the active
// filter, then a page of entities.
func deployTokenList(of func(*reqCtx) ([]*DeployToken, *apiError)) handlerFunc {
	return func(s *Server, rc *reqCtx) (any, *apiError) {
		all, err := of(rc)
		if err != nil {
			return nil, err
		}
		list, err := deployActiveFilter(rc, all)
		if err != nil {
			return nil, err
		}
		return paged(s, rc, list, rc.ix.deployTokenEntity)
	}
}

func deployTokenOf(_ *Server, rc *reqCtx, d *DeployToken) deployTokenEntity {
	return rc.ix.deployTokenEntity(d)
}

// listAllDeployTokens is GET /deploy_tokens: administrators only, and not
// on GitLab.com (https://docs.gitlab.com/api/deploy_tokens/).
var listAllDeployTokens = deployTokenList(allDeployTokensOf)

// allDeployTokensOf is the guard and source of GET /deploy_tokens, shared
// with Visible.
func allDeployTokensOf(rc *reqCtx) ([]*DeployToken, *apiError) {
	if !rc.c.admin {
		return nil, errForbidden
	}
	return rc.ix.w.DeployTokens, nil
}

// Deploy token lists need Maintainer+; GitLab answers the refusal with
// authorize! (403).
var listProjectDeployTokens = deployTokenList(projectDeployTokensOf)

// projectDeployTokensOf is the guard and source of the project deploy token
// routes, shared with Visible.
func projectDeployTokensOf(rc *reqCtx) ([]*DeployToken, *apiError) {
	p, err := resourceProject(rc)
	if err != nil {
		return nil, err
	}
	if rc.projectLevel(p) < 40 {
		return nil, errForbidden
	}
	return rc.ix.projectDeployTokens[p.ID], nil
}

var getProjectDeployToken = listedItem(projectDeployTokensOf, "token_id", deployID, deployTokenOf, errNotFound)

var listGroupDeployTokens = deployTokenList(groupDeployTokensOf)

// groupDeployTokensOf is the guard and source of the group deploy token
// routes, shared with Visible.
func groupDeployTokensOf(rc *reqCtx) ([]*DeployToken, *apiError) {
	g, err := resourceGroup(rc)
	if err != nil {
		return nil, err
	}
	if rc.groupLevel(g) < 40 {
		return nil, errForbidden
	}
	return rc.ix.groupDeployTokens[g.ID], nil
}

var getGroupDeployToken = listedItem(groupDeployTokensOf, "token_id", deployID, deployTokenOf, errNotFound)

// listTriggers is GET /projects/:id/triggers: authorize! :admin_build,
// Maintainer+, else 403 (https://gitlab.com/gitlab-org/gitlab/-/blob/master/lib/api/ci/triggers.rb).
func listTriggers(s *Server, rc *reqCtx) (any, *apiError) {
	list, err := triggersOf(rc)
	if err != nil {
		return nil, err
	}
	return paged(s, rc, list, func(tr *Trigger) triggerEntity { return s.triggerEntity(rc.ix, tr, rc.c) })
}

// triggersOf is the guard and source of the trigger routes, shared with
// Visible.
func triggersOf(rc *reqCtx) ([]*Trigger, *apiError) {
	p, err := resourceProject(rc)
	if err != nil {
		return nil, err
	}
	if rc.projectLevel(p) < 40 {
		return nil, errForbidden
	}
	return rc.ix.triggers[p.ID], nil
}

var getTrigger = listedItem(triggersOf, "trigger_id", triggerID,
	func(s *Server, rc *reqCtx, tr *Trigger) triggerEntity { return s.triggerEntity(rc.ix, tr, rc.c) }, errNotFound)

// serviceAccountGroup is the guard of the group service-account routes
// (API::GroupServiceAccounts: before { authorize! :admin_service_accounts,
// user_group }, https://gitlab.com/gitlab-org/gitlab/-/blob/master/ee/lib/api/group_service_accounts.rb):
// a group the caller cannot see is 404 Group Not Found; the permission is
// the Owner's or an administrator's of a top-level group whose licence has
// service accounts (Premium and Ultimate; ee/app/policies/ee/group_policy.rb,
// https://docs.gitlab.com/api/service_accounts/), and anyone else, a
// subgroup or a Free group on GitLab.com gets 403.
func serviceAccountGroup(rc *reqCtx) (*Group, *apiError) {
	g, err := resourceGroup(rc)
	if err != nil {
		return nil, err
	}
	if g.ParentID != 0 || rc.groupLevel(g) < 50 || !rc.ix.licensed(g, "premium") {
		return nil, errForbidden
	}
	return g, nil
}

// licensed reports whether a group's subscription is at least plan (free,
// premium, ultimate). Only GitLab.com sells plans per group; a
// self-managed EE instance is taken to hold an Ultimate licence.
func (ix *index) licensed(g *Group, plan string) bool {
	if !ix.w.GitLabCom {
		return true
	}
	top := g
	if a := ix.ancestors(g); len(a) > 0 {
		top = a[len(a)-1]
	}
	rank := map[string]int{"free": 0, "premium": 1, "ultimate": 2, "": 2}
	return rank[top.Plan] >= rank[plan]
}

// manageGroup is the guard of the /groups/:id/manage routes (API::Manage::Groups,
// https://gitlab.com/gitlab-org/gitlab/-/blob/master/ee/lib/api/manage/groups.rb,
// https://docs.gitlab.com/api/groups/#credentials-inventory-management):
//   - a group the caller cannot see: 404 Group Not Found (find_group!);
//   - the feature off (before 18.6, off GitLab.com, or its flag
//     manage_pat_by_group_owners_ready off): not_found!, which is
//     {"message":"404 Not Found"}, not the catch-all of a missing route;
//   - the group setting require_dpop_for_manage_api_endpoints on and no
//     DPoP proof: 401 dpop_error (checkDPoP);
//   - anyone but the Owner of the top-level group (authorize!
//     :admin_group), or a group without Ultimate, which the credentials
//     inventory needs (https://docs.gitlab.com/user/group/credentials_inventory/,
//     credentials_inventory among the Ultimate features of
//     ee/app/models/gitlab_subscriptions/features.rb): 403.
func manageGroup(rc *reqCtx) (*Group, *apiError) {
	g, err := resourceGroup(rc)
	if err != nil {
		return nil, err
	}
	if !rc.ix.has(featCredentialsInventory) || rc.ix.w.CredentialsInventoryOff {
		return nil, errNotFound
	}
	if g.RequireDPoPForManageAPI && rc.ix.has(featDPoPGroupSetting) {
		if err := checkDPoP(rc.r); err != nil {
			return nil, err
		}
	}
	if g.ParentID != 0 || rc.groupLevel(g) < 50 || !rc.ix.licensed(g, "ultimate") {
		return nil, errForbidden
	}
	return g, nil
}

// listManagedPATs is GET /groups/:id/manage/personal_access_tokens (manageGroup):
// the PATs of the group's enterprise users. A World has no enterprise-user
// flag; the simulator counts as enterprise users the human users with a
// direct membership somewhere in the group's hierarchy.
var listManagedPATs = filteredTokenList(managedPATsOf, (*index).baseTokenEntity, false)

// managedPATsOf is the guard and source of
// GET /groups/:id/manage/personal_access_tokens, shared with Visible.
func managedPATsOf(rc *reqCtx) ([]*PersonalAccessToken, *apiError) {
	g, err := manageGroup(rc)
	if err != nil {
		return nil, err
	}
	ix := rc.ix
	inTree := map[int64]bool{g.ID: true}
	for _, d := range ix.descendants(g) {
		inTree[d.ID] = true
	}
	users := map[int64]bool{}
	for gid := range inTree {
		for uid := range ix.groupMember[gid] {
			users[uid] = true
		}
		for _, p := range ix.projectsIn[gid] {
			for uid := range ix.projectMember[p.ID] {
				users[uid] = true
			}
		}
	}
	var list []*PersonalAccessToken
	for _, t := range ix.w.Tokens {
		u := ix.users[t.UserID]
		if users[t.UserID] && u != nil && u.UserType == UserTypeHuman && !t.Impersonation {
			list = append(list, t)
		}
	}
	return list, nil
}

// listManagedResourceTokens is GET /groups/:id/manage/resource_access_tokens:
// the project and group access tokens of the whole hierarchy.
var listManagedResourceTokens = filteredTokenList(managedResourceTokensOf, (*index).resourceTokenEntity, true)

// managedResourceTokensOf is the guard and source of
// GET /groups/:id/manage/resource_access_tokens, shared with Visible.
func managedResourceTokensOf(rc *reqCtx) ([]*PersonalAccessToken, *apiError) {
	g, err := manageGroup(rc)
	if err != nil {
		return nil, err
	}
	ix := rc.ix
	var list []*PersonalAccessToken
	for _, grp := range append([]*Group{g}, ix.descendants(g)...) {
		list = append(list, ix.groupBotTokens[grp.ID]...)
	}
	for _, p := range ix.projectsBelow(g, true) {
		list = append(list, ix.projectBotTokens[p.ID]...)
	}
	return sortBy(list, func(a, b *PersonalAccessToken) int { return 0 }, func(t *PersonalAccessToken) int64 { return t.ID }), nil
}

// listGroupServiceAccountPATs is GET
// /groups/:id/service_accounts/:user_id/personal_access_tokens (17.11,
// https://docs.gitlab.com/api/service_accounts/): serviceAccountGroup's
// guard, so 403 to anyone but the Owner (the docs list 401; the route's
// authorize! answers 403); a user that is not a service account of the
// group is 404.
var listGroupServiceAccountPATs = filteredTokenList(serviceAccountPATsOf, (*index).baseTokenEntity, false)

// serviceAccountPATsOf is the guard and source of
// GET /groups/:id/service_accounts/:user_id/personal_access_tokens, shared
// with Visible.
func serviceAccountPATsOf(rc *reqCtx) ([]*PersonalAccessToken, *apiError) {
	g, err := serviceAccountGroup(rc)
	if err != nil {
		return nil, err
	}
	uid, ok := parseID(rc.params[1])
	if !ok {
		return nil, errValidation("user_id is invalid")
	}
	u := rc.ix.users[uid]
	if u == nil || u.UserType != UserTypeServiceAccount || u.ServiceAccountGroupID != g.ID {
		return nil, errUser404
	}
	return rc.ix.tokensByUser[u.ID], nil
}
