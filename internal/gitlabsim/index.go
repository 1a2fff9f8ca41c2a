package gitlabsim

import (
	"sort"
	"strings"
	"time"
)

// index holds the lookups a Server answers from, built once per World (and
// again after each Mutate). It points into the World; nothing in it is
// changed after build, so handlers read it under the server's read lock.
type index struct {
	w *World
	v gitlabVersion // the version and edition served (versions.go)

	users          map[int64]*User
	usersByName    map[string]*User // lower-cased username
	groups         map[int64]*Group
	groupsByPath   map[string]*Group // lower-cased full path
	groupFullPath  map[int64]string
	groupFullName  map[int64]string
	anc            map[int64][]*Group // a group and its ancestors, the group first
	children       map[int64][]*Group // direct subgroups, by ID
	projects       map[int64]*Project
	projectsByPath map[string]*Project  // lower-cased full path
	projectPath    map[int64]string     // full path
	projectsIn     map[int64][]*Project // direct projects of a group, by ID
	// projectsByCreated is every project by created_at then ID, ascending:
	// GET /projects' default order, reversed.
	projectsByCreated []*Project

	groupMember   map[int64]map[int64]int // group -> user -> direct access level
	projectMember map[int64]map[int64]int // project -> user -> direct access level

	tokens        map[int64]*PersonalAccessToken
	tokensByUser  map[int64][]*PersonalAccessToken
	tokenBySecret map[string]*PersonalAccessToken

	projectBotTokens map[int64][]*PersonalAccessToken // project -> its access tokens
	groupBotTokens   map[int64][]*PersonalAccessToken // group -> its access tokens

	projectDeployTokens map[int64][]*DeployToken
	groupDeployTokens   map[int64][]*DeployToken
	triggers            map[int64][]*Trigger // project -> triggers

	// belowMember: user -> groups with a member (group or project
	// membership) of that user somewhere below them; GitLab lets such a
	// user read the ancestor group.
	belowMember map[int64]map[int64]bool

	// userMemberships lists each user's direct memberships, groups first,
	// for GET /users/:id/memberships.
	userMemberships map[int64][]membershipRef

	gql *gqlIndex // what GraphQL adds (graphql_resolve.go)
}

type membershipRef struct {
	project *Project // nil for a group membership
	group   *Group
	level   int
	request bool // an access request, not a membership
}

// accessRequestLevel is the level an access request asks for and
// GET /users/:id/memberships shows: Developer
// (Members::RequestAccessService#default_access_level).
const accessRequestLevel = 30

// userNamespaceOffset keeps the IDs of user namespaces apart from group IDs:
// GitLab numbers both kinds of namespace in one sequence, which a World does
// not model.
const userNamespaceOffset = 10_000_000

func buildIndex(w *World) *index {
	ix := &index{
		w:                   w,
		v:                   worldVersion(w),
		users:               make(map[int64]*User, len(w.Users)),
		usersByName:         make(map[string]*User, len(w.Users)),
		groups:              make(map[int64]*Group, len(w.Groups)),
		groupsByPath:        make(map[string]*Group, len(w.Groups)),
		groupFullPath:       make(map[int64]string, len(w.Groups)),
		groupFullName:       make(map[int64]string, len(w.Groups)),
		children:            map[int64][]*Group{},
		anc:                 make(map[int64][]*Group, len(w.Groups)),
		projects:            make(map[int64]*Project, len(w.Projects)),
		projectsByPath:      make(map[string]*Project, len(w.Projects)),
		projectPath:         make(map[int64]string, len(w.Projects)),
		projectsIn:          map[int64][]*Project{},
		groupMember:         map[int64]map[int64]int{},
		projectMember:       map[int64]map[int64]int{},
		tokens:              make(map[int64]*PersonalAccessToken, len(w.Tokens)),
		tokensByUser:        map[int64][]*PersonalAccessToken{},
		tokenBySecret:       make(map[string]*PersonalAccessToken, len(w.Tokens)),
		projectBotTokens:    map[int64][]*PersonalAccessToken{},
		groupBotTokens:      map[int64][]*PersonalAccessToken{},
		projectDeployTokens: map[int64][]*DeployToken{},
		groupDeployTokens:   map[int64][]*DeployToken{},
		triggers:            map[int64][]*Trigger{},
		userMemberships:     map[int64][]membershipRef{},
		belowMember:         map[int64]map[int64]bool{},
	}
	for _, u := range w.Users {
		ix.users[u.ID] = u
		ix.usersByName[strings.ToLower(u.Username)] = u
	}
	for _, g := range w.Groups {
		ix.groups[g.ID] = g
	}
	for _, g := range w.Groups {
		ix.anc[g.ID] = ix.walkAncestors(g)
		ix.groupFullPath[g.ID] = ix.computeGroupPath(g, func(x *Group) string { return x.Path }, "/")
		ix.groupFullName[g.ID] = ix.computeGroupPath(g, func(x *Group) string { return x.Name }, " / ")
		ix.groupsByPath[strings.ToLower(ix.groupFullPath[g.ID])] = g
		if g.ParentID != 0 {
			ix.children[g.ParentID] = append(ix.children[g.ParentID], g)
		}
		m := make(map[int64]int, len(g.Members))
		for _, mb := range g.Members {
			if mb.AccessLevel > m[mb.UserID] {
				m[mb.UserID] = mb.AccessLevel
			}
			ix.userMemberships[mb.UserID] = append(ix.userMemberships[mb.UserID], membershipRef{group: g, level: mb.AccessLevel})
		}
		for _, ar := range g.AccessRequests {
			ix.userMemberships[ar.UserID] = append(ix.userMemberships[ar.UserID], membershipRef{group: g, level: accessRequestLevel, request: true})
		}
		ix.groupMember[g.ID] = m
	}
	for _, p := range w.Projects {
		ix.projects[p.ID] = p
		ns := ""
		if p.GroupID != 0 {
			ns = ix.groupFullPath[p.GroupID]
			ix.projectsIn[p.GroupID] = append(ix.projectsIn[p.GroupID], p)
		} else if u := ix.users[p.UserID]; u != nil {
			ns = u.Username
		}
		ix.projectPath[p.ID] = ns + "/" + p.Path
		ix.projectsByPath[strings.ToLower(ix.projectPath[p.ID])] = p
		m := make(map[int64]int, len(p.Members))
		for _, mb := range p.Members {
			if mb.AccessLevel > m[mb.UserID] {
				m[mb.UserID] = mb.AccessLevel
			}
		}
		ix.projectMember[p.ID] = m
	}
	ix.projectsByCreated = sortBy(w.Projects, func(a, b *Project) int { return cmpTime(a.CreatedAt, b.CreatedAt) }, func(p *Project) int64 { return p.ID })
	// Project memberships come after group memberships in each user's list.
	for _, p := range w.Projects {
		for _, mb := range p.Members {
			ix.userMemberships[mb.UserID] = append(ix.userMemberships[mb.UserID], membershipRef{project: p, level: mb.AccessLevel})
		}
		for _, ar := range p.AccessRequests {
			ix.userMemberships[ar.UserID] = append(ix.userMemberships[ar.UserID], membershipRef{project: p, level: accessRequestLevel, request: true})
		}
	}
	for uid, ms := range ix.userMemberships {
		for _, m := range ms {
			if m.request {
				continue // a request lets its user read nothing
			}
			var start *Group
			if m.project != nil {
				start = ix.groups[m.project.GroupID]
			} else {
				start = ix.groups[m.group.ParentID]
			}
			for _, a := range ix.ancestors(start) {
				if ix.belowMember[uid] == nil {
					ix.belowMember[uid] = map[int64]bool{}
				}
				ix.belowMember[uid][a.ID] = true
			}
		}
	}
	for _, t := range w.Tokens {
		ix.tokens[t.ID] = t
		ix.tokensByUser[t.UserID] = append(ix.tokensByUser[t.UserID], t)
		if t.Value != "" {
			ix.tokenBySecret[t.Value] = t
		}
		// A resource's token lists hold the tokens of its bot members:
		// PersonalAccessTokensFinder.new(user: resource.bots), where
		// Project#bots and Group#bots are users.project_bot, the users of
		// the direct, non-request memberships
		// (https://gitlab.com/gitlab-org/gitlab/-/blob/master/lib/api/resource_access_tokens.rb,
		// app/models/project.rb, app/models/group.rb). A bot no longer a
		// member lists nowhere.
		if u := ix.users[t.UserID]; u != nil && u.UserType == UserTypeProjectBot {
			switch {
			case u.BotSourceType == "project" && ix.projectMember[u.BotSourceID][u.ID] > 0:
				ix.projectBotTokens[u.BotSourceID] = append(ix.projectBotTokens[u.BotSourceID], t)
			case u.BotSourceType == "group" && ix.groupMember[u.BotSourceID][u.ID] > 0:
				ix.groupBotTokens[u.BotSourceID] = append(ix.groupBotTokens[u.BotSourceID], t)
			}
		}
	}
	for _, d := range w.DeployTokens {
		if d.ProjectID != 0 {
			ix.projectDeployTokens[d.ProjectID] = append(ix.projectDeployTokens[d.ProjectID], d)
		} else {
			ix.groupDeployTokens[d.GroupID] = append(ix.groupDeployTokens[d.GroupID], d)
		}
	}
	for _, tr := range w.Triggers {
		ix.triggers[tr.ProjectID] = append(ix.triggers[tr.ProjectID], tr)
	}
	ix.gql = buildGQLIndex(ix)
	return ix
}

func (ix *index) computeGroupPath(g *Group, part func(*Group) string, sep string) string {
	segs := []string{part(g)}
	seen := map[int64]bool{g.ID: true}
	for p := ix.groups[g.ParentID]; p != nil && !seen[p.ID]; p = ix.groups[p.ParentID] {
		seen[p.ID] = true
		segs = append(segs, part(p))
	}
	for i, j := 0, len(segs)-1; i < j; i, j = i+1, j-1 {
		segs[i], segs[j] = segs[j], segs[i]
	}
	return strings.Join(segs, sep)
}

// ancestors returns g and its ancestors, g first.
func (ix *index) ancestors(g *Group) []*Group {
	if g == nil {
		return nil
	}
	if a, ok := ix.anc[g.ID]; ok {
		return a
	}
	return ix.walkAncestors(g)
}

// walkAncestors follows ParentID up, stopping at a cycle.
func (ix *index) walkAncestors(g *Group) []*Group {
	var out []*Group
	seen := map[int64]bool{}
	for ; g != nil && !seen[g.ID]; g = ix.groups[g.ParentID] {
		seen[g.ID] = true
		out = append(out, g)
	}
	return out
}

// descendants returns every group below g, all levels, ordered by ID.
func (ix *index) descendants(g *Group) []*Group {
	var out []*Group
	stack := append([]*Group(nil), ix.children[g.ID]...)
	seen := map[int64]bool{g.ID: true}
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[c.ID] {
			continue
		}
		seen[c.ID] = true
		out = append(out, c)
		stack = append(stack, ix.children[c.ID]...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// projectsBelow returns the projects directly in g, or in g and all its
// descendants, ordered by ID.
func (ix *index) projectsBelow(g *Group, withSubgroups bool) []*Project {
	out := append([]*Project(nil), ix.projectsIn[g.ID]...)
	if withSubgroups {
		for _, d := range ix.descendants(g) {
			out = append(out, ix.projectsIn[d.ID]...)
		}
		sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	}
	return out
}

// groupAccess is a user's effective access level on a group: the highest of
// the direct memberships in the group and its ancestors (GitLab's inherited
// membership). 0: no access.
func (ix *index) groupAccess(uid int64, g *Group) int {
	best := 0
	for _, a := range ix.ancestors(g) {
		if l := ix.groupMember[a.ID][uid]; l > best {
			best = l
		}
	}
	return best
}

// projectAccess is a user's effective access level on a project: the highest
// of the direct project membership and the memberships inherited from the
// project's groups; the owner of a personal namespace is its Owner.
func (ix *index) projectAccess(uid int64, p *Project) int {
	best := ix.projectMember[p.ID][uid]
	if p.GroupID != 0 {
		if l := ix.groupAccess(uid, ix.groups[p.GroupID]); l > best {
			best = l
		}
	} else if p.UserID == uid && best < 50 {
		best = 50
	}
	return best
}

// findProject resolves a project :id, numeric or a full path.
func (ix *index) findProject(id string) *Project {
	if n, ok := parseID(id); ok {
		return ix.projects[n]
	}
	return ix.projectsByPath[strings.ToLower(id)]
}

// findGroup resolves a group :id, numeric or a full path.
func (ix *index) findGroup(id string) *Group {
	if n, ok := parseID(id); ok {
		return ix.groups[n]
	}
	return ix.groupsByPath[strings.ToLower(id)]
}

// parseID parses a positive decimal ID.
func parseID(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// accessLevelOf is the access level of a project or group access token: the
// direct membership of its bot user in the token's project or group.
func (ix *index) accessLevelOf(t *PersonalAccessToken) (level int, resourceType string, resourceID int64) {
	u := ix.users[t.UserID]
	if u == nil || u.UserType != UserTypeProjectBot {
		return 0, "", 0
	}
	switch u.BotSourceType {
	case "project":
		return ix.projectMember[u.BotSourceID][u.ID], "project", u.BotSourceID
	case "group":
		return ix.groupMember[u.BotSourceID][u.ID], "group", u.BotSourceID
	}
	return 0, "", 0
}

// dateExpired reports whether an expiry date has passed on day now: GitLab
// tokens expire at 00:00 UTC of their expires_at date
// (https://docs.gitlab.com/user/profile/personal_access_tokens/).
func dateExpired(expiresAt *time.Time, now time.Time) bool {
	if expiresAt == nil {
		return false
	}
	return !now.Before(midnightUTC(*expiresAt))
}

func midnightUTC(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// tokenActive is GitLab's active = !revoked && !expired.
func (ix *index) tokenActive(t *PersonalAccessToken) bool {
	return !t.Revoked && !dateExpired(t.ExpiresAt, ix.w.Now)
}

// deployTokenExpired uses the deploy token's full timestamp: deploy tokens
// carry a datetime expiry (https://docs.gitlab.com/api/deploy_tokens/).
func (ix *index) deployTokenExpired(d *DeployToken) bool {
	return d.ExpiresAt != nil && !ix.w.Now.Before(*d.ExpiresAt)
}
