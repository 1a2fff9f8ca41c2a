package gitlabsim

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// canSeeProject: administrators see every project; other users public and
// internal projects and those they are members of, directly or through a
// group (https://docs.gitlab.com/api/projects/). Anything else is answered 404.
func (rc *reqCtx) canSeeProject(p *Project) bool {
	if rc.c.admin {
		return true
	}
	switch p.Visibility {
	case "public", "internal":
		return true
	}
	return rc.ix.projectAccess(rc.c.user.ID, p) > 0
}

// canSeeGroup: administrators see every group; other users public and
// internal groups, those they are members of (directly or inherited), and
// the ancestors of groups and projects they are members of, which GitLab
// lets them read too.
func (rc *reqCtx) canSeeGroup(g *Group) bool {
	if rc.c.admin {
		return true
	}
	switch g.Visibility {
	case "public", "internal":
		return true
	}
	return rc.ix.groupAccess(rc.c.user.ID, g) > 0 || rc.ix.belowMember[rc.c.user.ID][g.ID]
}

// projectFilter holds the filters of GET /projects and /groups/:id/projects.
type projectFilter struct {
	archived, archivedSet     bool
	membership, owned, simple bool
	minAccess                 int
	visibility                string
	search                    string
	idAfter, idBefore         int64
	orderBy, sort             string
}

func parseProjectFilter(rc *reqCtx) (*projectFilter, *apiError) {
	f := &projectFilter{search: strings.ToLower(rc.q.Get("search"))}
	var err *apiError
	if f.archived, f.archivedSet, err = boolParam(rc, "archived"); err != nil {
		return nil, err
	}
	if f.membership, _, err = boolParam(rc, "membership"); err != nil {
		return nil, err
	}
	if f.owned, _, err = boolParam(rc, "owned"); err != nil {
		return nil, err
	}
	if f.simple, _, err = boolParam(rc, "simple"); err != nil {
		return nil, err
	}
	if f.visibility, err = valuesParam(rc, "visibility", "private", "internal", "public"); err != nil {
		return nil, err
	}
	if _, err = valuesParam(rc, "min_access_level", "5", "10", "15", "20", "30", "40", "50"); err != nil {
		return nil, err
	}
	f.minAccess, _, _ = intParam(rc, "min_access_level")
	for name, dst := range map[string]*int64{"id_after": &f.idAfter, "id_before": &f.idBefore} {
		n, _, err := intParam(rc, name)
		if err != nil {
			return nil, err
		}
		*dst = int64(n)
	}
	if f.orderBy, err = valuesParam(rc, "order_by", "id", "name", "path", "created_at", "updated_at", "last_activity_at", "star_count", "similarity"); err != nil {
		return nil, err
	}
	if f.sort, err = valuesParam(rc, "sort", "asc", "desc"); err != nil {
		return nil, err
	}
	if f.orderBy == "" {
		f.orderBy = "created_at"
	}
	if f.sort == "" {
		f.sort = "desc"
	}
	return f, nil
}

// keep applies the filters that need the caller: membership, owned (the
// caller's personal projects and projects of groups they own) and
// min_access_level (the caller's own access, administrators included).
func (f *projectFilter) keep(rc *reqCtx, p *Project) bool {
	if f.archivedSet && p.Archived != f.archived {
		return false
	}
	if f.visibility != "" && visibilityOr(p.Visibility) != f.visibility {
		return false
	}
	if f.idAfter > 0 && p.ID <= f.idAfter {
		return false
	}
	if f.idBefore > 0 && p.ID >= f.idBefore {
		return false
	}
	if f.search != "" && !strings.Contains(strings.ToLower(p.Name), f.search) && !strings.Contains(strings.ToLower(p.Path), f.search) {
		return false
	}
	if f.membership || f.owned || f.minAccess > 0 {
		level := rc.ix.projectAccess(rc.c.user.ID, p)
		if f.membership && level == 0 {
			return false
		}
		if f.owned && level < 50 {
			return false
		}
		if f.minAccess > 0 && level < f.minAccess {
			return false
		}
	}
	return true
}

func (f *projectFilter) order(in []*Project) []*Project {
	id := func(p *Project) int64 { return p.ID }
	var cmp func(a, b *Project) int
	switch f.orderBy {
	case "id":
		cmp = func(a, b *Project) int { return 0 }
	case "name":
		cmp = func(a, b *Project) int { return cmpStr(a.Name, b.Name) }
	case "path":
		cmp = func(a, b *Project) int { return cmpStr(a.Path, b.Path) }
	case "updated_at", "last_activity_at":
		cmp = func(a, b *Project) int { return cmpTime(a.LastActivityAt, b.LastActivityAt) }
	case "star_count", "similarity":
		cmp = func(a, b *Project) int { return 0 }
	default:
		cmp = func(a, b *Project) int { return cmpTime(a.CreatedAt, b.CreatedAt) }
	}
	if f.sort == "desc" {
		return sortBy(in, func(a, b *Project) int {
			if c := cmp(b, a); c != 0 {
				return c
			}
			return compareInt64(b.ID, a.ID)
		}, id)
	}
	return sortBy(in, cmp, id)
}

func (s *Server) projectConv(rc *reqCtx, simple bool) func(*Project) map[string]any {
	if simple {
		return func(p *Project) map[string]any { return s.projectSimple(rc.ix, p) }
	}
	return func(p *Project) map[string]any { return s.projectEntity(rc.ix, p) }
}

// listProjects is GET /projects (https://docs.gitlab.com/api/projects/): administrators get every
// project, others the projects visible to them. Offset pagination stops at
// offset 50,000 (405); keyset pagination (pagination=keyset, order_by=id)
// goes on with Link rel="next" and id_after / id_before.
func listProjects(s *Server, rc *reqCtx) (any, *apiError) {
	f, err := parseProjectFilter(rc)
	if err != nil {
		return nil, err
	}
	keyset := rc.q.Get("pagination") == "keyset"
	if keyset && f.orderBy != "id" {
		return nil, &apiError{status: http.StatusMethodNotAllowed, body: `{"error":"Keyset pagination is not yet available for this type of request"}`}
	}
	pp, perr := parsePageParams(rc.q)
	if perr != nil {
		return nil, perr
	}
	if !keyset && pp.offsetLimitExceeded() {
		return nil, errOffsetLimit("Project")
	}
	// The two usual orders come presorted from the index; the rest are
	// sorted per request.
	base, presorted := rc.ix.w.Projects, false
	switch f.orderBy {
	case "id":
		presorted = true
	case "created_at":
		base, presorted = rc.ix.projectsByCreated, true
	}
	var list []*Project
	for _, p := range base {
		if rc.canSeeProject(p) && f.keep(rc, p) {
			list = append(list, p)
		}
	}
	if !presorted {
		list = f.order(list)
	} else if f.sort == "desc" {
		slices.Reverse(list)
	}
	conv := s.projectConv(rc, f.simple)
	if !keyset {
		return paged(s, rc, list, conv)
	}
	// Keyset: the first per_page items after the cursor; the next link
	// moves the cursor past the last one. No count headers.
	n := pp.perPage
	more := len(list) > n
	if more {
		list = list[:n]
	}
	rc.w.Header().Set("X-Per-Page", strconv.Itoa(n))
	if more && len(list) > 0 {
		last := list[len(list)-1].ID
		key, drop := "id_after", "id_before"
		if f.sort == "desc" {
			key, drop = "id_before", "id_after"
		}
		extra := map[string]string{key: strconv.FormatInt(last, 10), "per_page": strconv.Itoa(n)}
		u := pageURL(rc.r, requestBase(rc.r), extra)
		u = removeQueryKey(u, drop)
		rc.w.Header().Set("Link", "<"+u+`>; rel="next"`)
	}
	out := make([]map[string]any, 0, len(list))
	for _, p := range list {
		out = append(out, conv(p))
	}
	return out, nil
}

// removeQueryKey drops one parameter from a URL built by pageURL.
func removeQueryKey(u, key string) string {
	base, query, ok := strings.Cut(u, "?")
	if !ok {
		return u
	}
	var kept []string
	for _, kv := range strings.Split(query, "&") {
		if k, _, _ := strings.Cut(kv, "="); k != key {
			kept = append(kept, kv)
		}
	}
	return base + "?" + strings.Join(kept, "&")
}

func getProject(s *Server, rc *reqCtx) (any, *apiError) {
	p, err := resourceProject(rc)
	if err != nil {
		return nil, err
	}
	return s.projectEntity(rc.ix, p), nil
}

// getJobTokenScope and the allowlists need Maintainer+ (authorize_admin_project,
// 403 otherwise; https://docs.gitlab.com/api/project_job_token_scopes/).
func getJobTokenScope(s *Server, rc *reqCtx) (any, *apiError) {
	p, err := resourceProject(rc)
	if err != nil {
		return nil, err
	}
	if rc.projectLevel(p) < 40 {
		return nil, errForbidden
	}
	return map[string]any{"inbound_enabled": p.JobTokenScope.InboundEnabled, "outbound_enabled": false}, nil
}

func listJobTokenAllowlist(s *Server, rc *reqCtx) (any, *apiError) {
	p, err := resourceProject(rc)
	if err != nil {
		return nil, err
	}
	if rc.projectLevel(p) < 40 {
		return nil, errForbidden
	}
	var list []*Project
	for _, id := range p.JobTokenScope.AllowlistProjectIDs {
		if t := rc.ix.projects[id]; t != nil {
			list = append(list, t)
		}
	}
	return paged(s, rc, list, s.projectConv(rc, true))
}

func listJobTokenGroupsAllowlist(s *Server, rc *reqCtx) (any, *apiError) {
	p, err := resourceProject(rc)
	if err != nil {
		return nil, err
	}
	if rc.projectLevel(p) < 40 {
		return nil, errForbidden
	}
	var list []*Group
	for _, id := range p.JobTokenScope.AllowlistGroupIDs {
		if g := rc.ix.groups[id]; g != nil {
			list = append(list, g)
		}
	}
	return paged(s, rc, list, func(g *Group) map[string]any {
		return map[string]any{"id": g.ID, "web_url": s.base + "/groups/" + rc.ix.groupFullPath[g.ID], "name": g.Name}
	})
}

// groupFilter holds the filters of the group lists.
type groupFilter struct {
	allAvailable, allSet bool
	topLevelOnly, owned  bool
	minAccess            int
	search               string
	orderBy, sort        string
}

func parseGroupFilter(rc *reqCtx) (*groupFilter, *apiError) {
	f := &groupFilter{search: strings.ToLower(rc.q.Get("search"))}
	var err *apiError
	if f.allAvailable, f.allSet, err = boolParam(rc, "all_available"); err != nil {
		return nil, err
	}
	if f.topLevelOnly, _, err = boolParam(rc, "top_level_only"); err != nil {
		return nil, err
	}
	if f.owned, _, err = boolParam(rc, "owned"); err != nil {
		return nil, err
	}
	if _, err = valuesParam(rc, "min_access_level", "5", "10", "15", "20", "30", "40", "50"); err != nil {
		return nil, err
	}
	f.minAccess, _, _ = intParam(rc, "min_access_level")
	if f.orderBy, err = valuesParam(rc, "order_by", "name", "path", "id", "similarity"); err != nil {
		return nil, err
	}
	if f.sort, err = valuesParam(rc, "sort", "asc", "desc"); err != nil {
		return nil, err
	}
	if f.orderBy == "" {
		f.orderBy = "name"
	}
	if f.sort == "" {
		f.sort = "asc"
	}
	return f, nil
}

func (f *groupFilter) keep(rc *reqCtx, g *Group) bool {
	if f.topLevelOnly && g.ParentID != 0 {
		return false
	}
	if f.search != "" && !strings.Contains(strings.ToLower(g.Name), f.search) && !strings.Contains(strings.ToLower(g.Path), f.search) {
		return false
	}
	if f.owned || f.minAccess > 0 {
		level := rc.ix.groupAccess(rc.c.user.ID, g)
		if f.owned && level < 50 {
			return false
		}
		if f.minAccess > 0 && level < f.minAccess {
			return false
		}
	}
	return rc.canSeeGroup(g)
}

func (f *groupFilter) order(in []*Group) []*Group {
	id := func(g *Group) int64 { return g.ID }
	var cmp func(a, b *Group) int
	switch f.orderBy {
	case "path":
		cmp = func(a, b *Group) int { return cmpStr(a.Path, b.Path) }
	case "id", "similarity":
		cmp = func(a, b *Group) int { return 0 }
	default:
		cmp = func(a, b *Group) int { return cmpStr(a.Name, b.Name) }
	}
	if f.sort == "desc" {
		return sortBy(in, func(a, b *Group) int {
			if c := cmp(b, a); c != 0 {
				return c
			}
			return compareInt64(b.ID, a.ID)
		}, id)
	}
	return sortBy(in, cmp, id)
}

// listGroups is GET /groups (https://docs.gitlab.com/api/groups/): an administrator gets every group
// (all_available defaults to true for them); anyone else the groups they are
// members of, or with all_available=true every group visible to them.
func listGroups(s *Server, rc *reqCtx) (any, *apiError) {
	f, err := parseGroupFilter(rc)
	if err != nil {
		return nil, err
	}
	all := rc.c.admin
	if f.allSet {
		all = f.allAvailable
	}
	var list []*Group
	for _, g := range rc.ix.w.Groups {
		if !all && rc.ix.groupAccess(rc.c.user.ID, g) == 0 {
			continue
		}
		if f.keep(rc, g) {
			list = append(list, g)
		}
	}
	return paged(s, rc, f.order(list), func(g *Group) map[string]any { return s.groupEntity(rc.ix, g) })
}

func getGroup(s *Server, rc *reqCtx) (any, *apiError) {
	g, err := resourceGroup(rc)
	if err != nil {
		return nil, err
	}
	return s.groupDetail(rc.ix, g, rc.c), nil
}

func listSubgroups(s *Server, rc *reqCtx) (any, *apiError) {
	return listGroupsBelow(s, rc, false)
}

func listDescendantGroups(s *Server, rc *reqCtx) (any, *apiError) {
	return listGroupsBelow(s, rc, true)
}

// listGroupsBelow serves /groups/:id/subgroups (one level) and
// /descendant_groups (all levels), with the group-list filters, visible
// groups only.
func listGroupsBelow(s *Server, rc *reqCtx, all bool) (any, *apiError) {
	g, err := resourceGroup(rc)
	if err != nil {
		return nil, err
	}
	f, err := parseGroupFilter(rc)
	if err != nil {
		return nil, err
	}
	f.topLevelOnly = false
	below := rc.ix.children[g.ID]
	if all {
		below = rc.ix.descendants(g)
	}
	var list []*Group
	for _, c := range below {
		if f.keep(rc, c) {
			list = append(list, c)
		}
	}
	return paged(s, rc, f.order(list), func(g *Group) map[string]any { return s.groupEntity(rc.ix, g) })
}

// listGroupProjects is GET /groups/:id/projects: the group's projects, with
// include_subgroups those of every descendant too; with_shared (default
// true) changes nothing since a World shares no projects.
func listGroupProjects(s *Server, rc *reqCtx) (any, *apiError) {
	g, err := resourceGroup(rc)
	if err != nil {
		return nil, err
	}
	f, err := parseProjectFilter(rc)
	if err != nil {
		return nil, err
	}
	sub, _, err := boolParam(rc, "include_subgroups")
	if err != nil {
		return nil, err
	}
	if _, _, err := boolParam(rc, "with_shared"); err != nil {
		return nil, err
	}
	var list []*Project
	for _, p := range rc.ix.projectsBelow(g, sub) {
		if rc.canSeeProject(p) && f.keep(rc, p) {
			list = append(list, p)
		}
	}
	return paged(s, rc, f.order(list), s.projectConv(rc, f.simple))
}

// Service accounts (https://docs.gitlab.com/api/service_accounts/).

// saOrder sorts service accounts by order_by id|username, sort default desc.
func saOrder(rc *reqCtx, in []*User) ([]*User, *apiError) {
	orderBy, err := valuesParam(rc, "order_by", "id", "username")
	if err != nil {
		return nil, err
	}
	sortDir, err := valuesParam(rc, "sort", "asc", "desc")
	if err != nil {
		return nil, err
	}
	cmp := func(a, b *User) int { return 0 }
	if orderBy == "username" {
		cmp = func(a, b *User) int { return cmpStr(a.Username, b.Username) }
	}
	id := func(u *User) int64 { return u.ID }
	if sortDir == "asc" {
		return sortBy(in, cmp, id), nil
	}
	return sortBy(in, func(a, b *User) int {
		if c := cmp(b, a); c != 0 {
			return c
		}
		return compareInt64(b.ID, a.ID)
	}, id), nil
}

// listServiceAccounts is GET /service_accounts (17.1): administrators only
// (authenticated_as_admin!, so never on GitLab.com), every user of type
// service_account, the group service accounts included: the route lists
// User.service_account, though the docs call them instance service
// accounts (https://gitlab.com/gitlab-org/gitlab/-/blob/master/ee/lib/api/service_accounts.rb,
// https://docs.gitlab.com/api/service_accounts/#list-all-instance-service-accounts).
// It pages with paginate_with_strategies over users, so offset pages past
// 50,000 rows are refused as on GET /users.
func listServiceAccounts(s *Server, rc *reqCtx) (any, *apiError) {
	if !rc.c.admin {
		return nil, errForbidden
	}
	var list []*User
	for _, u := range rc.ix.w.Users {
		if u.UserType == UserTypeServiceAccount {
			list = append(list, u)
		}
	}
	return saPage(s, rc, list, func(u *User) map[string]any {
		return map[string]any{"id": u.ID, "username": u.Username, "name": u.Name}
	})
}

// saPage orders and pages a service-account list.
func saPage(s *Server, rc *reqCtx, list []*User, conv func(*User) map[string]any) (any, *apiError) {
	list, err := saOrder(rc, list)
	if err != nil {
		return nil, err
	}
	pp, err := parsePageParams(rc.q)
	if err != nil {
		return nil, err
	}
	if pp.offsetLimitExceeded() {
		return nil, errOffsetLimit("User")
	}
	return paged(s, rc, list, conv)
}

// listGroupServiceAccounts is GET /groups/:id/service_accounts
// (serviceAccountGroup).
func listGroupServiceAccounts(s *Server, rc *reqCtx) (any, *apiError) {
	g, err := serviceAccountGroup(rc)
	if err != nil {
		return nil, err
	}
	var list []*User
	for _, u := range rc.ix.w.Users {
		if u.UserType == UserTypeServiceAccount && u.ServiceAccountGroupID == g.ID {
			list = append(list, u)
		}
	}
	return saPage(s, rc, list, func(u *User) map[string]any {
		return map[string]any{"id": u.ID, "username": u.Username, "name": u.Name, "email": u.Email}
	})
}

// Access requests (https://docs.gitlab.com/api/access_requests/,
// https://gitlab.com/gitlab-org/gitlab/-/blob/master/lib/api/access_requests.rb):
// AccessRequestsFinder#execute! lets a project's Maintainers and a group's
// Owners (admin_project, admin_group) see them, and refuses anyone else
// with 403. Each is AccessRequester: UserBasic and requested_at.

func listGroupAccessRequests(s *Server, rc *reqCtx) (any, *apiError) {
	g, err := resourceGroup(rc)
	if err != nil {
		return nil, err
	}
	if rc.groupLevel(g) < 50 {
		return nil, errForbidden
	}
	return accessRequestsPage(s, rc, g.AccessRequests)
}

func listProjectAccessRequests(s *Server, rc *reqCtx) (any, *apiError) {
	p, err := resourceProject(rc)
	if err != nil {
		return nil, err
	}
	if rc.projectLevel(p) < 40 {
		return nil, errForbidden
	}
	return accessRequestsPage(s, rc, p.AccessRequests)
}

func accessRequestsPage(s *Server, rc *reqCtx, reqs []AccessRequest) (any, *apiError) {
	var list []AccessRequest
	for _, ar := range reqs {
		if rc.ix.users[ar.UserID] != nil {
			list = append(list, ar)
		}
	}
	return paged(s, rc, list, func(ar AccessRequest) map[string]any {
		m := s.userBasic(rc.ix.users[ar.UserID])
		m["requested_at"] = fmtTime(ar.RequestedAt)
		return m
	})
}
