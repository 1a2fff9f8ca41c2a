// Package bench holds what tokenaudit's performance benchmarks share: the
// fewest requests an audit of a simulated instance needs, computed from the
// simulator's ground truth, and the benchmark driver (cmd/bench) that
// writes docs/performance.md.
package bench

import (
	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
)

// PerPage is GitLab's largest page size (https://docs.gitlab.com/api/rest/#pagination).
const PerPage = 100

// Pages is the number of requests that read a list of n items: at least one.
func Pages(n int) int { return max(1, (n+PerPage-1)/PerPage) }

type index struct {
	users    map[int64]*gitlabsim.User
	groups   map[int64]*gitlabsim.Group
	projects map[int64]*gitlabsim.Project
	// Tokens of project bots per project and per group, and of service
	// accounts per account.
	projectBotTokens, groupBotTokens, accountTokens map[int64]int
	triggers                                        map[int64]int
	ownerless                                       map[int64]bool // projects with a trigger whose owner is gone
	projectDeploy, groupDeploy                      map[int64]int
	humanHolders                                    map[int64]bool
	bots                                            map[int64]bool
	// botMember are the projects with a bot among their direct members.
	botMember map[int64]bool
}

func newIndex(w *gitlabsim.World) *index {
	ix := &index{
		users: map[int64]*gitlabsim.User{}, groups: map[int64]*gitlabsim.Group{}, projects: map[int64]*gitlabsim.Project{},
		projectBotTokens: map[int64]int{}, groupBotTokens: map[int64]int{}, accountTokens: map[int64]int{},
		triggers: map[int64]int{}, ownerless: map[int64]bool{}, projectDeploy: map[int64]int{}, groupDeploy: map[int64]int{},
		humanHolders: map[int64]bool{}, bots: map[int64]bool{}, botMember: map[int64]bool{},
	}
	for _, u := range w.Users {
		ix.users[u.ID] = u
	}
	for _, g := range w.Groups {
		ix.groups[g.ID] = g
	}
	for _, p := range w.Projects {
		ix.projects[p.ID] = p
		for _, m := range p.Members {
			if u := ix.users[m.UserID]; u != nil && u.Bot() {
				ix.botMember[p.ID] = true
			}
		}
	}
	for _, t := range w.Tokens {
		u := ix.users[t.UserID]
		switch {
		case u == nil:
		case u.UserType == gitlabsim.UserTypeProjectBot && u.BotSourceType == "project" && ix.projects[u.BotSourceID] != nil:
			ix.projectBotTokens[u.BotSourceID]++
			ix.bots[u.ID] = true
		case u.UserType == gitlabsim.UserTypeProjectBot && u.BotSourceType == "group" && ix.groups[u.BotSourceID] != nil:
			ix.groupBotTokens[u.BotSourceID]++
			ix.bots[u.ID] = true
		case u.UserType == gitlabsim.UserTypeServiceAccount:
			ix.accountTokens[u.ID]++
		case u.UserType == gitlabsim.UserTypeHuman:
			ix.humanHolders[u.ID] = true
		}
	}
	for _, t := range w.Triggers {
		ix.triggers[t.ProjectID]++
		if ix.users[t.OwnerID] == nil {
			ix.ownerless[t.ProjectID] = true
		}
	}
	for _, d := range w.DeployTokens {
		if d.ProjectID != 0 {
			ix.projectDeploy[d.ProjectID]++
		} else {
			ix.groupDeploy[d.GroupID]++
		}
	}
	return ix
}

// Reads says how an audit reads what no instance-wide REST list offers.
type Reads struct {
	// GraphQL batches the per-project facts (triggers, the inbound job
	// token setting), 100 projects a request, and in instance mode the
	// access levels of resource tokens, 100 bot users a request. Off:
	// REST, per project and per resource with bots.
	GraphQL bool
	// TriggerDates reads, with GraphQL, the triggers of each project that
	// has any over REST: GraphQL's PipelineTrigger has no creation time.
	TriggerDates bool
	// Impersonation asks each person holding tokens for their
	// impersonation tokens (instance mode, where GitLab has the route).
	Impersonation bool
}

// DefaultReads is what tokenaudit reads by default.
var DefaultReads = Reads{GraphQL: true, TriggerDates: true, Impersonation: true}

// projectFacts is the fewest requests that read the per-project facts of
// projects: over REST a trigger list (its pages) and the job token scope per
// project; with GraphQL one request per 100 projects for both, more pages
// for a project with more than 100 triggers, or with TriggerDates the REST
// trigger list of each project that has triggers. A trigger whose owner was
// deleted is a null node where its owner is asked (PipelineTrigger.owner is
// non-null, https://docs.gitlab.com/api/graphql/reference/#pipelinetrigger):
// an administrator (allUsers), who may read every user, reads such a
// trigger from the same page asked without owners; anyone else, whom GitLab
// may keep from reading a blocked owner, which it nulls the same way, reads
// that project's triggers over REST.
func (ix *index) projectFacts(projects []*gitlabsim.Project, r Reads, allUsers bool) int {
	n := 0
	if !r.GraphQL {
		for _, p := range projects {
			n += Pages(ix.triggers[p.ID]) + 1
		}
		return n
	}
	if len(projects) > 0 {
		n += (len(projects) + PerPage - 1) / PerPage
	}
	for _, p := range projects {
		switch c := ix.triggers[p.ID]; {
		case c == 0:
		case r.TriggerDates || ix.ownerless[p.ID] && !allUsers:
			n += Pages(c)
		default:
			n += Pages(c) - 1
		}
	}
	return n
}

// InstanceMinimum is the fewest requests that read, as an administrator,
// everything the instance-mode inventory holds: /user, /version and /metadata, one
// pass over each instance-wide list (personal access tokens, users, deploy
// tokens, projects, groups) and the application settings, plus only what no
// list offers: the access levels of bot tokens per project and group that
// has them, the impersonation tokens per human holding tokens (when the
// instance serves that route), and per project its triggers and job token
// scope. Archived state comes with the full project entity, so a separate
// archived=true list is not counted.
//
// With GraphQL (r.GraphQL) the per-project facts and the access levels come
// in batches of 100 (projectFacts; one request per 100 bot users holding
// tokens of an existing project or group).
func InstanceMinimum(w *gitlabsim.World, impersonationRoute bool, r Reads) int {
	ix := newIndex(w)
	n := 3 // /user, /version, /metadata
	n += Pages(len(w.Tokens)) + Pages(len(w.Users)) + Pages(len(w.DeployTokens))
	n++ // application settings
	n += Pages(len(w.Projects)) + Pages(len(w.Groups))
	n += serviceAccountLists(w)
	if r.GraphQL {
		// ix.bots: the bot users holding tokens of a project or group
		// that exists.
		if len(ix.bots) > 0 {
			n += (len(ix.bots) + PerPage - 1) / PerPage
		}
	} else {
		for _, c := range ix.projectBotTokens {
			n += Pages(c)
		}
		for _, c := range ix.groupBotTokens {
			n += Pages(c)
		}
	}
	if impersonationRoute && r.Impersonation {
		n += len(ix.humanHolders)
	}
	return n + ix.projectFacts(w.Projects, r, true)
}

// serviceAccountLists is what an administrator reads to know the service
// accounts, whose names are free-form: GET /service_accounts (the
// instance's), and where any service account or unexplained bot exists and
// the users list does not name their groups (provisioned_by_group_id,
// Premium and Ultimate), GET /groups/:id/service_accounts of each top-level
// group.
func serviceAccountLists(w *gitlabsim.World) int {
	instance, perGroup := 0, map[int64]int{}
	candidates := false
	for _, u := range w.Users {
		switch {
		case u.UserType == gitlabsim.UserTypeServiceAccount && u.ServiceAccountGroupID == 0:
			instance++
			candidates = true
		case u.UserType == gitlabsim.UserTypeServiceAccount:
			perGroup[u.ServiceAccountGroupID]++
			candidates = true
		case u.UserType != gitlabsim.UserTypeHuman && u.UserType != gitlabsim.UserTypeProjectBot:
			candidates = true
		}
	}
	// GET /service_accounts lists every service account, the groups' too
	// (https://gitlab.com/gitlab-org/gitlab/-/blob/master/ee/lib/api/service_accounts.rb
	// lists User.service_account).
	all := instance
	for _, c := range perGroup {
		all += c
	}
	n := Pages(all)
	if !candidates || w.NamesProvisioningGroup() {
		return n
	}
	for _, g := range w.Groups {
		if g.ParentID == 0 {
			n += Pages(perGroup[g.ID])
		}
	}
	return n
}

// GroupsMinimum is the fewest requests that read, as an Owner of the
// top-level group at topPath, every token groups mode reports for its tree:
// /user, /version and /metadata, the group itself, its descendants and its projects
// (one list each, archived state included), the caller's own tokens, the
// group's service accounts and each one's tokens, and per group and per
// project of the tree the lists only it offers: access tokens and deploy
// tokens, and for projects triggers and the job token scope.
//
// On GitLab.com (w.GitLabCom) the top-level group's Owner also reads the
// credentials inventory: the enterprise users' PATs, and one list of the
// whole tree's project and group access tokens, which replaces the access
// token lists per group and per project. The simulator counts as enterprise
// users the humans with a direct membership in the tree. Elsewhere the
// credentials-inventory probe is not counted.
//
// It returns 0 when no top-level group has that path.
//
// With GraphQL the tree's per-project facts come in batches (projectFacts),
// and only the projects with a bot member have their access token list
// read: a project's list holds its bot members' tokens alone.
func GroupsMinimum(w *gitlabsim.World, topPath string, callerID int64, r Reads) int {
	ix := newIndex(w)
	top := TopGroup(w, topPath)
	if top == nil {
		return 0
	}
	inTree := func(id int64) bool { return InTree(ix.groups, id, top.ID) }
	n := 4 // /user, /version, /metadata, the group
	var descendants, projects, own, resourceTokens int
	members := map[int64]bool{}
	accessTokens := func(c int) int {
		resourceTokens += c
		if w.GitLabCom {
			return 0
		}
		return Pages(c)
	}
	for _, g := range w.Groups {
		if !inTree(g.ID) {
			continue
		}
		if g.ID != top.ID {
			descendants++
		}
		for _, m := range g.Members {
			members[m.UserID] = true
		}
		n += accessTokens(ix.groupBotTokens[g.ID]) + Pages(ix.groupDeploy[g.ID])
	}
	var tree []*gitlabsim.Project
	for _, p := range w.Projects {
		if p.GroupID == 0 || !inTree(p.GroupID) {
			continue
		}
		projects++
		tree = append(tree, p)
		for _, m := range p.Members {
			members[m.UserID] = true
		}
		// With GraphQL a project's direct members tell whether it has a
		// bot, and so an access token list worth reading.
		if lists := accessTokens(ix.projectBotTokens[p.ID]); !r.GraphQL || ix.botMember[p.ID] {
			n += lists
		}
		n += Pages(ix.projectDeploy[p.ID])
	}
	n += ix.projectFacts(tree, r, false)
	n += Pages(descendants) + Pages(projects)
	if w.GitLabCom {
		var enterprisePATs int
		for _, t := range w.Tokens {
			if u := ix.users[t.UserID]; members[t.UserID] && u != nil && u.UserType == gitlabsim.UserTypeHuman && !t.Impersonation {
				enterprisePATs++
			}
		}
		n += Pages(enterprisePATs) + Pages(resourceTokens)
	}
	for _, t := range w.Tokens {
		if t.UserID == callerID && !t.Impersonation {
			own++
		}
	}
	n += Pages(own)
	var accounts int
	for _, u := range w.Users {
		if u.UserType == gitlabsim.UserTypeServiceAccount && u.ServiceAccountGroupID == top.ID {
			accounts++
			n += Pages(ix.accountTokens[u.ID])
		}
	}
	n += Pages(accounts)
	return n
}

// TreeProjects is the number of projects in the tree of the top-level
// group at topPath.
func TreeProjects(w *gitlabsim.World, topPath string) int {
	top := TopGroup(w, topPath)
	if top == nil {
		return 0
	}
	ix := newIndex(w)
	n := 0
	for _, p := range w.Projects {
		if p.GroupID != 0 && InTree(ix.groups, p.GroupID, top.ID) {
			n++
		}
	}
	return n
}

// TopGroup is the top-level group of w at path, or nil.
func TopGroup(w *gitlabsim.World, path string) *gitlabsim.Group {
	var top *gitlabsim.Group
	for _, g := range w.Groups {
		if g.ParentID == 0 && g.Path == path {
			top = g
		}
	}
	return top
}

// InTree reports whether the group id is top or one of its descendants,
// walking up through groups (by ID); a missing parent or a cycle ends the
// walk with false.
func InTree(groups map[int64]*gitlabsim.Group, id, top int64) bool {
	for n := 0; id != 0 && n <= len(groups); n++ {
		if id == top {
			return true
		}
		g := groups[id]
		if g == nil {
			return false
		}
		id = g.ParentID
	}
	return false
}

// TokenHolder is the ID of the user holding the token with value v, or 0.
func TokenHolder(w *gitlabsim.World, v string) int64 {
	for _, t := range w.Tokens {
		if t.Value == v {
			return t.UserID
		}
	}
	return 0
}
