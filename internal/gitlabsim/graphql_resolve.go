package gitlabsim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The resolvers of the GraphQL types, after GitLab's types, resolvers,
// finders and policies (app/graphql/, app/finders/, app/policies/ in
// https://gitlab.com/gitlab-org/gitlab), over the simulator's index and
// visibility rules (visibility.go, routes_resources.go).

// gqlResourceError is Gitlab::Graphql::Authorize::AuthorizeResource::RESOURCE_ACCESS_ERROR,
// which a resolver's authorize! raises
// (https://gitlab.com/gitlab-org/gitlab/-/blob/master/lib/gitlab/graphql/authorize/authorize_resource.rb).
const gqlResourceError = "The resource that you are attempting to access does not exist or you don't have permission to perform this action"

func gqlErr(format string, args ...any) *gqlError {
	return &gqlError{Message: fmt.Sprintf(format, args...)}
}

// The values the executor passes between resolvers besides *Project,
// *Group and *Trigger.
type (
	// gqlUser is a user as UserCore or CurrentUser.
	gqlUser struct {
		u       *User
		current bool
	}
	// gqlMember is a direct membership, as ProjectMember or GroupMember.
	gqlMember struct {
		id      int64
		project *Project
		group   *Group
		userID  int64
		level   int
	}
	gqlAccessLevel   int
	gqlCiCdSetting   struct{ p *Project }
	gqlJobTokenScope struct{ p *Project }
	gqlEdge          struct {
		cursor string
		node   any
	}
)

// gqlTypeOf is the object type of a value, for fields of an interface type.
func gqlTypeOf(v any) string {
	switch x := v.(type) {
	case *gqlUser:
		if x.current {
			return "CurrentUser"
		}
		return "UserCore"
	case *gqlMember:
		if x.project != nil {
			return "ProjectMember"
		}
		return "GroupMember"
	}
	return ""
}

// gqlTime is Types::TimeType's ISO 8601 form (Time#iso8601: seconds, UTC "Z").
func gqlTime(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

func gid(model string, id int64) string {
	return "gid://gitlab/" + model + "/" + strconv.FormatInt(id, 10)
}

// Visibility, for a caller or anonymous (nil): as the REST routes decide it
// (routes_resources.go), and for anonymous requests public resources only.
func (q *gqlReq) canSeeProject(p *Project) bool {
	if p == nil {
		return false
	}
	if q.c == nil {
		return p.Visibility == "public"
	}
	return (&reqCtx{ix: q.ix, c: q.c}).canSeeProject(p)
}

func (q *gqlReq) canSeeGroup(g *Group) bool {
	if g == nil {
		return false
	}
	if q.c == nil {
		return g.Visibility == "public"
	}
	return (&reqCtx{ix: q.ix, c: q.c}).canSeeGroup(g)
}

// projectLevel is the caller's level for permission checks: an
// administrator (Admin Mode permitting) may do what an Owner may.
func (q *gqlReq) projectLevel(p *Project) int {
	if q.c == nil {
		return 0
	}
	return (&reqCtx{ix: q.ix, c: q.c}).projectLevel(p)
}

func (q *gqlReq) userID() int64 {
	if q.c == nil {
		return 0
	}
	return q.c.user.ID
}

// resolve returns the value of field on obj of type typ.
func (q *gqlReq) resolve(typ, field string, obj any, args map[string]any) (any, *gqlError) {
	switch typ {
	case "Query":
		return q.resolveQuery(field, args)
	case "Project":
		return q.resolveProject(obj.(*Project), field, args)
	case "Group":
		return q.resolveGroup(obj.(*Group), field, args)
	case "UserCore", "CurrentUser":
		return q.resolveUser(obj.(*gqlUser), field, args)
	case "ProjectMember", "GroupMember":
		return q.resolveMember(obj.(*gqlMember), field)
	case "AccessLevel":
		return resolveAccessLevel(obj.(gqlAccessLevel), field), nil
	case "ProjectCiCdSetting":
		p := obj.(gqlCiCdSetting).p
		switch field {
		case "inboundJobTokenScopeEnabled":
			// The setting GET /projects/:id/job_token_scope serves as
			// inbound_enabled.
			return p.JobTokenScope.InboundEnabled, nil
		case "jobTokenScopeEnabled":
			return false, nil // the outbound scope, which a World never enables
		case "project":
			return p, nil
		}
	case "CiJobTokenScopeType":
		p := obj.(gqlJobTokenScope).p
		switch field {
		case "inboundAllowlistCount":
			return len(q.allowlistProjects(p)), nil
		case "groupsAllowlistCount":
			return len(q.allowlistGroups(p)), nil
		}
	case "PipelineTrigger":
		return q.resolveTrigger(obj.(*Trigger), field)
	case "PageInfo":
		return obj.(*gqlConn).pageInfo(field), nil
	case "ProjectEdge", "UserCoreEdge", "PipelineTriggerEdge", "ProjectMemberEdge", "GroupMemberEdge":
		e := obj.(gqlEdge)
		if field == "cursor" {
			return e.cursor, nil
		}
		return e.node, nil
	}
	if strings.HasSuffix(typ, "Connection") {
		return obj.(*gqlConn).field(field), nil
	}
	return nil, gqlErr("Internal server error")
}

func (q *gqlReq) resolveQuery(field string, args map[string]any) (any, *gqlError) {
	switch field {
	case "currentUser":
		if q.c == nil {
			return nil, nil
		}
		return &gqlUser{u: q.c.user, current: true}, nil
	case "project":
		// Resolvers::ProjectResolver: null, without an error, for a project
		// the caller may not read (Types::ProjectType authorize :read_project).
		path, _ := gqlString(args["fullPath"])
		p := q.ix.projectsByPath[strings.ToLower(path)]
		if !q.canSeeProject(p) {
			return nil, nil
		}
		return p, nil
	case "group":
		path, _ := gqlString(args["fullPath"])
		g := q.ix.groupsByPath[strings.ToLower(path)]
		if !q.canSeeGroup(g) {
			return nil, nil
		}
		return g, nil
	case "projects":
		return q.resolveProjects(args)
	case "users":
		return q.resolveUsers(args)
	}
	return nil, gqlErr("Internal server error")
}

// parseGIDs is GitlabSchema.parse_gid with an expected type, for each ID
// (https://gitlab.com/gitlab-org/gitlab/-/blob/master/app/graphql/gitlab_schema.rb).
// A model ID that is not a number finds nothing.
func parseGIDs(ids []string, model string) (map[int64]bool, *gqlError) {
	out := map[int64]bool{}
	for _, s := range ids {
		rest, ok := strings.CutPrefix(s, "gid://")
		app, path, ok2 := strings.Cut(rest, "/")
		class, id, ok3 := strings.Cut(path, "/")
		if !ok || !ok2 || !ok3 || app == "" || class == "" || id == "" {
			return nil, gqlErr("%s is not a valid GitLab ID.", s)
		}
		if app != "gitlab" || class != model {
			return nil, gqlErr("%s is not a valid ID for %s.", s, model)
		}
		if n, ok := parseID(id); ok {
			out[n] = true
		}
	}
	return out, nil
}

// resolveProjects is Resolvers::ProjectsResolver over ProjectsFinder
// (https://gitlab.com/gitlab-org/gitlab/-/blob/master/app/graphql/resolvers/projects_resolver.rb):
// the projects the caller may read, filtered; sorted id_desc unless sort
// says otherwise (ProjectSearchArguments).
func (q *gqlReq) resolveProjects(args map[string]any) (any, *gqlError) {
	paths, hasPaths := gqlStrings(args["fullPaths"])
	if hasPaths && len(paths) > 50 {
		return nil, gqlErr("You cannot provide more than 50 full_paths")
	}
	var ids map[int64]bool
	if list, ok := gqlStrings(args["ids"]); ok {
		var err *gqlError
		if ids, err = parseGIDs(list, "Project"); err != nil {
			return nil, err
		}
	}
	var pathSet map[string]bool
	if hasPaths {
		pathSet = map[string]bool{}
		for _, p := range paths {
			pathSet[strings.ToLower(p)] = true
		}
	}
	membership, _ := args["membership"].(bool)
	personal, _ := args["personal"].(bool)
	search, _ := gqlString(args["search"])
	search = strings.ToLower(search)
	var list []*Project
	for _, p := range q.ix.w.Projects {
		switch {
		case ids != nil && !ids[p.ID],
			pathSet != nil && !pathSet[strings.ToLower(q.ix.projectPath[p.ID])],
			membership && q.ix.projectAccess(q.userID(), p) == 0,
			personal && p.GroupID != 0,
			search != "" && !strings.Contains(strings.ToLower(p.Name), search) && !strings.Contains(strings.ToLower(p.Path), search),
			!q.canSeeProject(p):
			continue
		}
		list = append(list, p)
	}
	sortKey, _ := gqlString(args["sort"])
	return q.projectConn(list, sortKey, args)
}

// projectConn pages projects in a sort order of ProjectsFinder: id,
// created_at or name, either way; id_desc otherwise.
func (q *gqlReq) projectConn(list []*Project, sortKey string, args map[string]any) (any, *gqlError) {
	order := gqlOrder{desc: true}
	var key func(*Project) string
	switch sortKey {
	case "id_asc":
		order.desc = false
	case "created_asc", "created_desc":
		order = gqlOrder{name: "created_at", desc: sortKey == "created_desc"}
		key = func(p *Project) string { return gqlKeyTime(p.CreatedAt) }
	case "name_asc", "name_desc":
		order = gqlOrder{name: "name", desc: sortKey == "name_desc"}
		key = func(p *Project) string { return strings.ToLower(p.Name) }
	}
	items := make([]gqlItem, len(list))
	for i, p := range list {
		items[i] = gqlItem{id: p.ID, node: p}
		if key != nil {
			items[i].key = key(p)
		}
	}
	return paginate(items, order, args)
}

// usersForbiddenStates are User::FORBIDDEN_SEARCH_STATES, which UsersFinder
// hides from anyone who may not read all resources
// (https://gitlab.com/gitlab-org/gitlab/-/blob/master/app/finders/users_finder.rb).
var usersForbiddenStates = []string{"blocked", "banned", "ldap_blocked"}

// resolveUsers is Resolvers::UsersResolver over UsersFinder
// (https://gitlab.com/gitlab-org/gitlab/-/blob/master/app/graphql/resolvers/users_resolver.rb):
// ids or usernames (not both), search, admins; sorted created_desc by default.
func (q *gqlReq) resolveUsers(args map[string]any) (any, *gqlError) {
	idList, hasIDs := gqlStrings(args["ids"])
	names, hasNames := gqlStrings(args["usernames"])
	if hasIDs && hasNames && len(idList) > 0 && len(names) > 0 {
		return nil, gqlErr("Provide either a list of usernames or ids")
	}
	var ids map[int64]bool
	if hasIDs {
		var err *gqlError
		if ids, err = parseGIDs(idList, "User"); err != nil {
			return nil, err
		}
	}
	var nameSet map[string]bool
	if hasNames {
		nameSet = map[string]bool{}
		for _, n := range names {
			nameSet[strings.ToLower(n)] = true
		}
	}
	search, _ := gqlString(args["search"])
	search = strings.ToLower(search)
	all := q.c != nil && q.c.admin
	admins, _ := args["admins"].(bool)
	var list []*User
	for _, u := range q.ix.w.Users {
		switch {
		case ids != nil && !ids[u.ID],
			nameSet != nil && !nameSet[strings.ToLower(u.Username)],
			!all && slices.Contains(usersForbiddenStates, u.State),
			admins && all && !u.Admin,
			search != "" && !strings.Contains(strings.ToLower(u.Name), search) &&
				!strings.Contains(strings.ToLower(u.Username), search) && !strings.EqualFold(u.Email, search):
			continue
		}
		list = append(list, u)
	}
	sortKey, _ := gqlString(args["sort"])
	sortKey = strings.ToLower(sortKey)
	order := gqlOrder{name: "created_at", desc: !strings.HasSuffix(sortKey, "_asc")}
	updated := strings.HasPrefix(sortKey, "updated")
	if updated {
		order.name = "updated_at"
	}
	items := make([]gqlItem, len(list))
	for i, u := range list {
		t := u.CreatedAt
		if updated && !u.UpdatedAt.IsZero() {
			t = u.UpdatedAt
		}
		items[i] = gqlItem{id: u.ID, key: gqlKeyTime(t), node: &gqlUser{u: u}}
	}
	return paginate(items, order, args)
}

func (q *gqlReq) resolveProject(p *Project, field string, args map[string]any) (any, *gqlError) {
	ix := q.ix
	switch field {
	case "id":
		return gid("Project", p.ID), nil
	case "archived":
		return p.Archived, nil
	case "createdAt":
		return gqlTime(&p.CreatedAt), nil
	case "lastActivityAt":
		return gqlTime(&p.LastActivityAt), nil
	case "fullPath":
		return ix.projectPath[p.ID], nil
	case "path":
		return p.Path, nil
	case "name":
		return p.Name, nil
	case "nameWithNamespace":
		ns := ""
		if g := ix.groups[p.GroupID]; g != nil {
			ns = ix.groupFullName[g.ID]
		} else if u := ix.users[p.UserID]; u != nil {
			ns = u.Name
		}
		return ns + " / " + p.Name, nil
	case "visibility":
		return visibilityOr(p.Visibility), nil
	case "webUrl":
		return q.s.base + "/" + ix.projectPath[p.ID], nil
	case "group":
		if g := ix.groups[p.GroupID]; q.canSeeGroup(g) {
			return g, nil
		}
		return nil, nil
	case "maxAccessLevel":
		// ProjectType#max_access_level: the caller's membership level
		// (max_member_access_for_project_ids), NO_ACCESS anonymous; an
		// administrator without a membership has none.
		if q.c == nil {
			return gqlAccessLevel(0), nil
		}
		return gqlAccessLevel(ix.projectAccess(q.c.user.ID, p)), nil
	case "ciCdSettings":
		// Types::Ci::CiCdSettingType authorizes :manage_merge_request_settings
		// and its fields :admin_project (Maintainer): an unauthorized
		// object is null, with no error
		// (https://gitlab.com/gitlab-org/gitlab/-/blob/master/app/graphql/types/ci/ci_cd_setting_type.rb).
		if q.projectLevel(p) < 40 {
			return nil, nil
		}
		return gqlCiCdSetting{p}, nil
	case "ciJobTokenScope":
		// Resolvers::Ci::JobTokenScopeResolver: authorize! :admin_project.
		if q.projectLevel(p) < 40 {
			return nil, gqlErr(gqlResourceError)
		}
		return gqlJobTokenScope{p}, nil
	case "pipelineTriggers":
		// Resolvers::Ci::PipelineTriggersResolver authorizes :admin_build
		// (Maintainer); TriggersFinder lists the project's triggers, and
		// the keyset connection orders them by ID descending
		// (https://gitlab.com/gitlab-org/gitlab/-/blob/master/app/graphql/resolvers/ci/pipeline_triggers_resolver.rb).
		if q.projectLevel(p) < 40 {
			return nil, gqlErr(gqlResourceError)
		}
		trs := ix.triggers[p.ID]
		items := make([]gqlItem, len(trs))
		for i, tr := range trs {
			items[i] = gqlItem{id: tr.ID, node: tr}
		}
		return paginate(items, gqlOrder{desc: true}, args)
	case "projectMembers":
		return q.projectMembers(p, args)
	}
	return nil, gqlErr("Internal server error")
}

// projectMembers is Resolvers::ProjectMembersResolver: authorize
// :read_project_member (whoever may read the project), then MembersFinder
// with the relations asked, DIRECT and INHERITED by default
// (MembersFinder::DEFAULT_RELATIONS,
// https://gitlab.com/gitlab-org/gitlab/-/blob/master/app/graphql/resolvers/project_members_resolver.rb):
// DIRECT the project's own members (no access requests), INHERITED those of
// the groups above it. The other relations (invited and shared groups,
// descendants) add nothing in a World, which shares no project with a
// group. The keyset connection orders the members by ID descending.
func (q *gqlReq) projectMembers(p *Project, args map[string]any) (any, *gqlError) {
	if !q.canSeeProject(p) {
		return nil, gqlErr(gqlResourceError)
	}
	direct, inherited := true, true
	if rel, ok := args["relations"].([]any); ok {
		direct, inherited = false, false
		for _, r := range rel {
			direct = direct || r == "DIRECT"
			inherited = inherited || r == "INHERITED"
		}
	}
	var items []gqlItem
	if direct {
		for _, m := range q.ix.gql.projectMembers[p.ID] {
			items = append(items, gqlItem{id: m.id, node: m})
		}
	}
	if inherited {
		for g := q.ix.groups[p.GroupID]; g != nil; g = q.ix.groups[g.ParentID] {
			for _, m := range q.ix.gql.groupMembers[g.ID] {
				items = append(items, gqlItem{id: m.id, node: m})
			}
		}
	}
	slices.SortFunc(items, func(a, b gqlItem) int { return compareInt64(b.id, a.id) })
	return paginate(items, gqlOrder{desc: true}, args)
}

func (q *gqlReq) allowlistProjects(p *Project) []*Project {
	var out []*Project
	for _, id := range p.JobTokenScope.AllowlistProjectIDs {
		if t := q.ix.projects[id]; t != nil {
			out = append(out, t)
		}
	}
	return out
}

func (q *gqlReq) allowlistGroups(p *Project) []*Group {
	var out []*Group
	for _, id := range p.JobTokenScope.AllowlistGroupIDs {
		if g := q.ix.groups[id]; g != nil {
			out = append(out, g)
		}
	}
	return out
}

func (q *gqlReq) resolveGroup(g *Group, field string, args map[string]any) (any, *gqlError) {
	ix := q.ix
	switch field {
	case "id":
		return gid("Group", g.ID), nil
	case "fullName":
		return ix.groupFullName[g.ID], nil
	case "fullPath":
		return ix.groupFullPath[g.ID], nil
	case "name":
		return g.Name, nil
	case "path":
		return g.Path, nil
	case "visibility":
		return visibilityOr(g.Visibility), nil
	case "webUrl":
		return q.s.base + "/groups/" + ix.groupFullPath[g.ID], nil
	case "parent":
		if p := ix.groups[g.ParentID]; q.canSeeGroup(p) {
			return p, nil
		}
		return nil, nil
	case "projects":
		// Resolvers::GroupProjectsResolver: the group's projects the caller
		// may read, with includeSubgroups those below too; archived ones
		// unless includeArchived is false.
		sub, _ := args["includeSubgroups"].(bool)
		archived, set := args["includeArchived"].(bool)
		search, _ := gqlString(args["search"])
		search = strings.ToLower(search)
		var ids map[int64]bool
		if list, ok := gqlStrings(args["ids"]); ok {
			var err *gqlError
			if ids, err = parseGIDs(list, "Project"); err != nil {
				return nil, err
			}
		}
		var list []*Project
		for _, p := range ix.projectsBelow(g, sub) {
			switch {
			case set && !archived && p.Archived,
				ids != nil && !ids[p.ID],
				search != "" && !strings.Contains(strings.ToLower(p.Name), search) && !strings.Contains(strings.ToLower(p.Path), search),
				!q.canSeeProject(p):
				continue
			}
			list = append(list, p)
		}
		return q.projectConn(list, "", args)
	}
	return nil, gqlErr("Internal server error")
}

// resolveUser serves UserCore and CurrentUser (Types::UserInterface,
// https://gitlab.com/gitlab-org/gitlab/-/blob/master/app/graphql/types/user_interface.rb).
func (q *gqlReq) resolveUser(gu *gqlUser, field string, args map[string]any) (any, *gqlError) {
	u := gu.u
	switch field {
	case "id":
		return gid("User", u.ID), nil
	case "bot":
		return u.Bot(), nil
	case "username":
		return u.Username, nil
	case "name":
		// User#redacted_name: "****" for a project or group bot whose
		// project or group the caller may not read.
		if u.UserType == UserTypeProjectBot {
			seen := false
			switch u.BotSourceType {
			case "project":
				seen = q.canSeeProject(q.ix.projects[u.BotSourceID])
			case "group":
				seen = q.canSeeGroup(q.ix.groups[u.BotSourceID])
			}
			if !seen {
				return "****", nil
			}
		}
		return u.Name, nil
	case "state":
		return u.State, nil
	case "webUrl":
		return q.s.base + "/" + u.Username, nil
	case "groupMemberships", "projectMemberships":
		// The user's direct memberships (User#group_members,
		// #project_members: no access requests); the connection leaves out
		// those the caller may not read. The keyset connection orders the
		// unordered association by ID descending.
		var items []gqlItem
		for _, m := range q.ix.gql.memberships[u.ID] {
			if field == "groupMemberships" && (m.group == nil || !q.canSeeGroup(m.group)) ||
				field == "projectMemberships" && (m.project == nil || !q.canSeeProject(m.project)) {
				continue
			}
			items = append(items, gqlItem{id: m.id, node: m})
		}
		slices.SortFunc(items, func(a, b gqlItem) int { return compareInt64(b.id, a.id) })
		return paginate(items, gqlOrder{desc: true}, args)
	}
	return nil, gqlErr("Internal server error")
}

func (q *gqlReq) resolveMember(m *gqlMember, field string) (any, *gqlError) {
	switch field {
	case "id":
		if m.project != nil {
			return gid("ProjectMember", m.id), nil
		}
		return gid("GroupMember", m.id), nil
	case "accessLevel":
		return gqlAccessLevel(m.level), nil
	case "project":
		if q.canSeeProject(m.project) {
			return m.project, nil
		}
		return nil, nil
	case "group":
		if q.canSeeGroup(m.group) {
			return m.group, nil
		}
		return nil, nil
	case "user":
		if u := q.ix.users[m.userID]; u != nil {
			return &gqlUser{u: u}, nil
		}
		return nil, nil
	}
	return nil, gqlErr("Internal server error")
}

// gqlAccessLevels are Types::AccessLevelEnum's names and Gitlab::Access's
// human names (https://gitlab.com/gitlab-org/gitlab/-/blob/master/app/graphql/types/access_level_enum.rb).
var gqlAccessLevels = map[int][2]string{
	0:  {"NO_ACCESS", "No access"},
	5:  {"MINIMAL_ACCESS", "Minimal Access"},
	10: {"GUEST", "Guest"},
	15: {"PLANNER", "Planner"},
	20: {"REPORTER", "Reporter"},
	30: {"DEVELOPER", "Developer"},
	40: {"MAINTAINER", "Maintainer"},
	50: {"OWNER", "Owner"},
	60: {"ADMIN", "Admin"},
}

func resolveAccessLevel(l gqlAccessLevel, field string) any {
	names, ok := gqlAccessLevels[int(l)]
	switch field {
	case "integerValue":
		return int(l)
	case "stringValue":
		if !ok {
			return nil
		}
		return names[0]
	case "humanAccess":
		if !ok {
			return nil
		}
		return names[1]
	}
	return nil
}

// resolveTrigger is Types::Ci::PipelineTriggerType with Ci::TriggerPresenter
// (https://gitlab.com/gitlab-org/gitlab/-/blob/master/app/graphql/types/ci/pipeline_trigger_type.rb,
// app/presenters/ci/trigger_presenter.rb).
func (q *gqlReq) resolveTrigger(tr *Trigger, field string) (any, *gqlError) {
	switch field {
	case "id":
		return gid("Ci::Trigger", tr.ID), nil
	case "description":
		return tr.Description, nil
	case "lastUsed":
		return gqlTime(tr.LastUsed), nil
	case "expiresAt":
		return gqlTime(tr.ExpiresAt), nil
	case "owner":
		// owner is UserCore!: a trigger whose owner is gone comes out null,
		// with graphql-ruby's non-null error.
		if u := q.ix.users[tr.OwnerID]; u != nil {
			return &gqlUser{u: u}, nil
		}
		return nil, nil
	case "token":
		// has_token_exposed? ? token : short_token, the same rule the REST
		// trigger entity follows.
		return triggerToken(tr, q.userID()), nil
	case "hasTokenExposed":
		return triggerTokenExposed(tr, q.userID()), nil
	case "canAccessProject":
		// Ci::Trigger#can_access_project?: the owner may create_build
		// (Developer) in the project.
		u := q.ix.users[tr.OwnerID]
		p := q.ix.projects[tr.ProjectID]
		return u != nil && p != nil && u.State == "active" && q.ix.projectAccess(u.ID, p) >= 30, nil
	}
	return nil, gqlErr("Internal server error")
}

// gqlIndex holds what GraphQL needs beyond the REST index: member IDs.
type gqlIndex struct {
	memberships map[int64][]*gqlMember // user -> direct memberships
	// projectMembers and groupMembers are the same, per project and group.
	projectMembers, groupMembers map[int64][]*gqlMember
}

// buildGQLIndex numbers the World's memberships as GitLab's members table
// would, one sequence for group and project members (a World keeps no
// member IDs): groups in order, then projects.
func buildGQLIndex(ix *index) *gqlIndex {
	g := &gqlIndex{memberships: map[int64][]*gqlMember{}, projectMembers: map[int64][]*gqlMember{}, groupMembers: map[int64][]*gqlMember{}}
	var n int64
	for _, gr := range ix.w.Groups {
		for _, m := range gr.Members {
			n++
			gm := &gqlMember{id: n, group: gr, userID: m.UserID, level: m.AccessLevel}
			g.memberships[m.UserID] = append(g.memberships[m.UserID], gm)
			g.groupMembers[gr.ID] = append(g.groupMembers[gr.ID], gm)
		}
	}
	for _, p := range ix.w.Projects {
		for _, m := range p.Members {
			n++
			pm := &gqlMember{id: n, project: p, userID: m.UserID, level: m.AccessLevel}
			g.memberships[m.UserID] = append(g.memberships[m.UserID], pm)
			g.projectMembers[p.ID] = append(g.projectMembers[p.ID], pm)
		}
	}
	return g
}

// Connections: GitLab's keyset connection
// (https://gitlab.com/gitlab-org/gitlab/-/blob/master/lib/gitlab/graphql/pagination/keyset/connection.rb):
// cursors are the base64 of the order's values as JSON ({"id":"12"},
// {"created_at":"...","id":"12"}), first and last capped at the maximum
// page size, first the maximum page size when neither is given.

// gqlItem is one node with its order values.
type gqlItem struct {
	id   int64
	key  string // the order's first value, sortable as a string; "" for id alone
	node any
}

// gqlOrder is a connection's order: by key (named name) then ID, or by ID
// alone, one direction for both.
type gqlOrder struct {
	name string
	desc bool
}

func (o gqlOrder) cmp(a, b gqlItem) int {
	c := strings.Compare(a.key, b.key)
	if c == 0 {
		c = compareInt64(a.id, b.id)
	}
	if o.desc {
		return -c
	}
	return c
}

// gqlKeyTime is a time as a key that sorts as a string.
func gqlKeyTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

func (o gqlOrder) cursor(it gqlItem) string {
	m := map[string]string{"id": strconv.FormatInt(it.id, 10)}
	if o.name != "" {
		m[o.name] = it.key
	}
	b, _ := json.Marshal(m)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (o gqlOrder) decode(c string) (gqlItem, bool) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(c, "="))
	if err != nil {
		return gqlItem{}, false
	}
	var m map[string]string
	if json.Unmarshal(b, &m) != nil {
		return gqlItem{}, false
	}
	id, ok := parseID(m["id"])
	if !ok {
		return gqlItem{}, false
	}
	it := gqlItem{id: id}
	if o.name != "" {
		if it.key, ok = m[o.name]; !ok {
			return gqlItem{}, false
		}
	}
	return it, true
}

// gqlConn is one page of a connection.
type gqlConn struct {
	total            int
	page             []gqlItem
	cursors          []string
	hasNext, hasPrev bool
}

// paginate sorts items in order and cuts the page the arguments ask for.
func paginate(items []gqlItem, order gqlOrder, args map[string]any) (*gqlConn, *gqlError) {
	items = slices.Clone(items)
	slices.SortStableFunc(items, order.cmp)
	conn := &gqlConn{total: len(items)}
	after, hasAfter := gqlString(args["after"])
	before, hasBefore := gqlString(args["before"])
	if hasAfter {
		c, ok := order.decode(after)
		if !ok {
			return nil, gqlErr("Please provide a valid cursor")
		}
		i, _ := slices.BinarySearchFunc(items, c, func(it, c gqlItem) int {
			if order.cmp(it, c) <= 0 {
				return -1
			}
			return 1
		})
		items = items[i:]
		conn.hasPrev = true
	}
	if hasBefore {
		c, ok := order.decode(before)
		if !ok {
			return nil, gqlErr("Please provide a valid cursor")
		}
		i, _ := slices.BinarySearchFunc(items, c, func(it, c gqlItem) int {
			if order.cmp(it, c) < 0 {
				return -1
			}
			return 1
		})
		items = items[:i]
		conn.hasNext = true
	}
	first, hasFirst := gqlInt(args["first"])
	last, hasLast := gqlInt(args["last"])
	if !hasFirst && !hasLast {
		first, hasFirst = gqlMaxPageSize, true
	}
	if hasFirst {
		first = min(max(first, 0), gqlMaxPageSize)
		if int64(len(items)) > first {
			items = items[:first]
			conn.hasNext = true
		}
	}
	if hasLast {
		last = min(max(last, 0), gqlMaxPageSize)
		if int64(len(items)) > last {
			items = items[int64(len(items))-last:]
			conn.hasPrev = true
		}
	}
	conn.page = items
	conn.cursors = make([]string, len(items))
	for i, it := range items {
		conn.cursors[i] = order.cursor(it)
	}
	return conn, nil
}

func (c *gqlConn) field(name string) any {
	switch name {
	case "count":
		return c.total
	case "nodes":
		out := make([]any, len(c.page))
		for i, it := range c.page {
			out[i] = it.node
		}
		return out
	case "edges":
		out := make([]any, len(c.page))
		for i, it := range c.page {
			out[i] = gqlEdge{cursor: c.cursors[i], node: it.node}
		}
		return out
	case "pageInfo":
		return c
	}
	return nil
}

func (c *gqlConn) pageInfo(name string) any {
	switch name {
	case "hasNextPage":
		return c.hasNext
	case "hasPreviousPage":
		return c.hasPrev
	case "startCursor":
		if len(c.cursors) == 0 {
			return nil
		}
		return c.cursors[0]
	case "endCursor":
		if len(c.cursors) == 0 {
			return nil
		}
		return c.cursors[len(c.cursors)-1]
	}
	return nil
}
