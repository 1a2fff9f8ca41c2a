package collect

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tokenaudit/tokenaudit/internal/bench"
	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
	"github.com/tokenaudit/tokenaudit/inventory"
)

// truth derives from a simulator World what a caller may see, as Tokens and
// Projects, independently of the collector's code paths.
type truth struct {
	w        *gitlabsim.World
	users    map[int64]*gitlabsim.User
	groups   map[int64]*gitlabsim.Group
	projects map[int64]*gitlabsim.Project
	sizes    map[int64]int
}

func newTruth(w *gitlabsim.World) *truth {
	tr := &truth{w: w, users: map[int64]*gitlabsim.User{}, groups: map[int64]*gitlabsim.Group{},
		projects: map[int64]*gitlabsim.Project{}, sizes: map[int64]int{}}
	for _, u := range w.Users {
		tr.users[u.ID] = u
	}
	for _, g := range w.Groups {
		tr.groups[g.ID] = g
	}
	for _, p := range w.Projects {
		tr.projects[p.ID] = p
	}
	// Projects below a group, subgroups included (World.GroupProjectCount,
	// computed once for all groups).
	for _, p := range w.Projects {
		for id := p.GroupID; id != 0; id = tr.groups[id].ParentID {
			tr.sizes[id]++
		}
	}
	return tr
}

func (tr *truth) groupPath(id int64) string {
	g := tr.groups[id]
	if g == nil {
		return ""
	}
	if g.ParentID == 0 {
		return g.Path
	}
	return tr.groupPath(g.ParentID) + "/" + g.Path
}

func (tr *truth) projectPath(id int64) string {
	p := tr.projects[id]
	if p == nil {
		return ""
	}
	if p.GroupID != 0 {
		return tr.groupPath(p.GroupID) + "/" + p.Path
	}
	return tr.users[p.UserID].Username + "/" + p.Path
}

// inTree reports whether group id is top or below it.
func (tr *truth) inTree(id, top int64) bool { return bench.InTree(tr.groups, id, top) }

func (tr *truth) projectRes(id int64) inventory.Resource {
	r := inventory.Resource{Type: inventory.ResourceProject, ID: id, Path: tr.projectPath(id)}
	if p := tr.projects[id]; p != nil {
		r.Archived = p.Archived
	}
	return r
}

func (tr *truth) groupRes(id int64) inventory.Resource {
	r := inventory.Resource{Type: inventory.ResourceGroup, ID: id, Path: tr.groupPath(id), Projects: tr.sizes[id]}
	if r.Path == "" {
		r.Projects = -1
	}
	return r
}

func ownerKind(u *gitlabsim.User) inventory.OwnerType {
	switch {
	case u.UserType == gitlabsim.UserTypeServiceAccount:
		return inventory.OwnerServiceAccount
	case u.UserType == gitlabsim.UserTypeProjectBot && u.BotSourceType == "group":
		return inventory.OwnerGroupBot
	case u.UserType == gitlabsim.UserTypeProjectBot:
		return inventory.OwnerProjectBot
	case u.UserType == gitlabsim.UserTypeHuman:
		return inventory.OwnerHuman
	}
	return inventory.OwnerOtherBot
}

// adminOwner is an account as an administrator sees it.
func (tr *truth) adminOwner(id int64) *inventory.Owner {
	u := tr.users[id]
	if u == nil {
		return &inventory.Owner{ID: id, Type: inventory.OwnerUnknown, ProjectsReachable: -1}
	}
	o := &inventory.Owner{ID: u.ID, Username: u.Username, Type: ownerKind(u), Admin: u.Admin, State: u.State, Email: u.Email, ProjectsReachable: -1}
	if u.LastActivityOn != nil {
		o.LastActivityOn = u.LastActivityOn.UTC()
	}
	return o
}

func (tr *truth) ips(v []string) []string {
	switch tr.w.LastUsedIPs {
	case "absent":
		return nil
	case "empty":
		return []string{}
	}
	return append([]string{}, v...)
}

func level(ms []gitlabsim.Membership, uid int64) int {
	for _, m := range ms {
		if m.UserID == uid {
			return m.AccessLevel
		}
	}
	return 0
}

// pat is a PAT-table token with the given kind, owner and resource.
func (tr *truth) pat(t *gitlabsim.PersonalAccessToken, kind inventory.Kind, owner *inventory.Owner, res inventory.Resource, sources ...string) inventory.Token {
	tok := inventory.Token{
		Kind: kind, ID: t.ID, Name: t.Name, Description: t.Description, Owner: owner, Resource: res,
		Scopes: append([]string{}, t.Scopes...), CreatedAt: ms(t.CreatedAt), UsageReported: true,
		LastUsedIPs: tr.ips(t.LastUsedIPs), Active: tr.w.TokenActive(t), Revoked: t.Revoked,
	}
	if t.ExpiresAt != nil {
		e := t.ExpiresAt.UTC()
		tok.Expires = inventory.Expiry{At: time.Date(e.Year(), e.Month(), e.Day(), 0, 0, 0, 0, time.UTC), DateOnly: true}
	}
	if t.LastUsedAt != nil {
		tok.LastUsedAt = ms(*t.LastUsedAt)
	}
	slices.Sort(sources)
	tok.Sources = sources
	return tok
}

// botToken fills kind, resource and access level of a project or group
// access token from the bot's membership.
func (tr *truth) botToken(t *gitlabsim.PersonalAccessToken, u *gitlabsim.User, owner *inventory.Owner, sources ...string) inventory.Token {
	if u.BotSourceType == "group" {
		tok := tr.pat(t, inventory.KindGroupAccess, owner, tr.groupRes(u.BotSourceID), sources...)
		if g := tr.groups[u.BotSourceID]; g != nil {
			tok.AccessLevel = level(g.Members, u.ID)
		}
		return tok
	}
	tok := tr.pat(t, inventory.KindProjectAccess, owner, tr.projectRes(u.BotSourceID), sources...)
	if p := tr.projects[u.BotSourceID]; p != nil {
		tok.AccessLevel = level(p.Members, u.ID)
	}
	return tok
}

func (tr *truth) deploy(d *gitlabsim.DeployToken, res inventory.Resource, source string) inventory.Token {
	tok := inventory.Token{Kind: inventory.KindDeploy, ID: d.ID, Name: d.Name, Username: d.Username, Resource: res, Scopes: append([]string{}, d.Scopes...),
		Revoked: d.Revoked, Sources: []string{source}}
	expired := false
	if d.ExpiresAt != nil {
		tok.Expires = inventory.Expiry{At: ms(*d.ExpiresAt)}
		expired = !tr.w.Now.Before(*d.ExpiresAt)
	}
	tok.Active = !d.Revoked && !expired
	return tok
}

func (tr *truth) trigger(t *gitlabsim.Trigger, owner *inventory.Owner) inventory.Token {
	tok := inventory.Token{Kind: inventory.KindPipelineTrigger, ID: t.ID, Name: t.Description, Description: t.Description, Owner: owner,
		Resource: tr.projectRes(t.ProjectID), Scopes: []string{}, CreatedAt: ms(t.CreatedAt), UsageReported: true,
		Active: true, Sources: []string{srcTriggers}}
	if t.ExpiresAt != nil {
		tok.Expires = inventory.Expiry{At: ms(*t.ExpiresAt)}
		tok.Active = tr.w.Now.Before(*t.ExpiresAt)
	}
	if t.LastUsed != nil {
		tok.LastUsedAt = ms(*t.LastUsed)
	}
	return tok
}

func (tr *truth) scope(p *gitlabsim.Project) *inventory.JobTokenScope {
	return &inventory.JobTokenScope{InboundEnabled: p.JobTokenScope.InboundEnabled}
}

// project is p's record; its job token scope only when scopes (the
// per-project reads) are on.
func (tr *truth) project(p *gitlabsim.Project, scopes bool) inventory.Project {
	pr := inventory.Project{Resource: tr.projectRes(p.ID)}
	if scopes {
		pr.JobTokenScope = tr.scope(p)
	}
	return pr
}

// instanceTruth is what an administrator sees in instance mode.
// impersonationRoute says whether the server lists impersonation tokens per
// user; without it they can only be reported as personal tokens.
func (tr *truth) instanceTruth(impersonationRoute, triggers, scopes bool) ([]inventory.Token, []inventory.Project) {
	var toks []inventory.Token
	for _, t := range tr.w.Tokens {
		u := tr.users[t.UserID]
		owner := tr.adminOwner(t.UserID)
		switch {
		case u != nil && u.UserType == gitlabsim.UserTypeProjectBot:
			tok := tr.botToken(t, u, owner, srcPATs)
			if tok.Resource.Path != "" {
				// The access level comes from the bot's membership, through
				// GraphQL.
				tok.Sources = []string{srcGQLMemberships, srcPATs}
			}
			toks = append(toks, tok)
		case u != nil && u.UserType == gitlabsim.UserTypeServiceAccount:
			res := inventory.Resource{Type: inventory.ResourceInstance}
			if u.ServiceAccountGroupID != 0 {
				res = tr.groupRes(u.ServiceAccountGroupID)
			}
			toks = append(toks, tr.pat(t, inventory.KindServiceAccount, owner, res, srcPATs))
		case t.Impersonation && impersonationRoute:
			toks = append(toks, tr.pat(t, inventory.KindImpersonation, owner, inventory.Resource{Type: inventory.ResourceInstance}, srcImpersonation, srcPATs))
		default:
			toks = append(toks, tr.pat(t, inventory.KindPersonal, owner, inventory.Resource{Type: inventory.ResourceInstance}, srcPATs))
		}
	}
	for _, d := range tr.w.DeployTokens {
		toks = append(toks, tr.deploy(d, inventory.Resource{Type: inventory.ResourceInstance}, srcDeployTokens))
	}
	if triggers {
		for _, t := range tr.w.Triggers {
			var owner *inventory.Owner
			if t.OwnerID != 0 && tr.users[t.OwnerID] != nil {
				owner = tr.adminOwner(t.OwnerID)
			}
			toks = append(toks, tr.trigger(t, owner))
		}
	}
	var projects []inventory.Project
	for _, p := range tr.w.Projects {
		projects = append(projects, tr.project(p, scopes))
	}
	sortTokens(toks)
	return toks, projects
}

// groupsTruth is what the Owner of top (id meID) sees in groups mode.
func (tr *truth) groupsTruth(top, meID int64, perProject bool) ([]inventory.Token, []inventory.Project) {
	me := tr.adminOwner(meID)
	me.Admin = false
	owners := map[int64]*inventory.Owner{meID: me}
	for _, u := range tr.w.Users {
		if u.UserType == gitlabsim.UserTypeServiceAccount && u.ServiceAccountGroupID == top {
			owners[u.ID] = &inventory.Owner{ID: u.ID, Username: u.Username, Type: inventory.OwnerServiceAccount, ProjectsReachable: -1}
		}
	}
	inProject := func(pid int64) bool {
		p := tr.projects[pid]
		return p != nil && p.GroupID != 0 && tr.inTree(p.GroupID, top)
	}
	var toks []inventory.Token
	for _, t := range tr.w.Tokens {
		u := tr.users[t.UserID]
		switch {
		case t.UserID == meID && !t.Impersonation:
			toks = append(toks, tr.pat(t, inventory.KindPersonal, me, inventory.Resource{Type: inventory.ResourceInstance}, srcPATs))
		case u != nil && u.UserType == gitlabsim.UserTypeProjectBot && u.BotSourceType == "group" && tr.inTree(u.BotSourceID, top):
			toks = append(toks, tr.botToken(t, u, &inventory.Owner{ID: u.ID, Type: inventory.OwnerGroupBot, ProjectsReachable: -1}, srcGroupTokens))
		case u != nil && u.UserType == gitlabsim.UserTypeProjectBot && u.BotSourceType == "project" && inProject(u.BotSourceID):
			toks = append(toks, tr.botToken(t, u, &inventory.Owner{ID: u.ID, Type: inventory.OwnerProjectBot, ProjectsReachable: -1}, srcProjectTokens))
		case u != nil && u.UserType == gitlabsim.UserTypeServiceAccount && u.ServiceAccountGroupID == top:
			toks = append(toks, tr.pat(t, inventory.KindServiceAccount, owners[u.ID], tr.groupRes(top), srcServiceAccountPATs))
		}
	}
	for _, d := range tr.w.DeployTokens {
		switch {
		case d.ProjectID != 0 && inProject(d.ProjectID):
			toks = append(toks, tr.deploy(d, tr.projectRes(d.ProjectID), srcProjectDeploy))
		case d.GroupID != 0 && tr.inTree(d.GroupID, top):
			toks = append(toks, tr.deploy(d, tr.groupRes(d.GroupID), srcGroupDeploy))
		}
	}
	for _, t := range tr.w.Triggers {
		if !perProject || !inProject(t.ProjectID) {
			continue
		}
		var owner *inventory.Owner
		if u := tr.users[t.OwnerID]; u != nil {
			owner = mapBasicUser(&gitlabUser{ID: u.ID, Username: u.Username, State: u.State})
			if o := owners[u.ID]; o != nil {
				owner = mergeOwner(ownerCopy(o), owner)
			}
		}
		toks = append(toks, tr.trigger(t, owner))
	}
	var projects []inventory.Project
	for _, p := range tr.w.Projects {
		if inProject(p.ID) {
			projects = append(projects, tr.project(p, perProject))
		}
	}
	sortTokens(toks)
	return toks, projects
}

func sortTokens(toks []inventory.Token) {
	order := map[inventory.Kind]int{}
	for i, k := range inventory.Kinds {
		order[k] = i
	}
	slices.SortFunc(toks, func(a, b inventory.Token) int {
		return cmp.Or(cmp.Compare(order[a.Kind], order[b.Kind]), cmp.Compare(a.ID, b.ID))
	})
}

// tokenDiffs compares token lists by (kind, id) and describes at most max
// differences. Token values are never part of a Token, so nothing secret
// can be printed.
func tokenDiffs(want, got []inventory.Token, max int) []string {
	var out []string
	gm := map[inventory.Key]inventory.Token{}
	for _, t := range got {
		if _, dup := gm[t.Key()]; dup {
			out = append(out, fmt.Sprintf("%s %d collected twice", t.Kind, t.ID))
		}
		gm[t.Key()] = t
	}
	wm := map[inventory.Key]bool{}
	for _, w := range want {
		wm[w.Key()] = true
		g, ok := gm[w.Key()]
		if !ok {
			out = append(out, fmt.Sprintf("%s %d missing", w.Kind, w.ID))
		} else if d := diffToken(w, g); d != "" {
			out = append(out, fmt.Sprintf("%s %d differs (-want +got):\n%s", w.Kind, w.ID, d))
		}
		if len(out) >= max {
			return out
		}
	}
	for _, g := range got {
		if !wm[g.Key()] {
			out = append(out, fmt.Sprintf("%s %d not expected", g.Kind, g.ID))
		}
		if len(out) >= max {
			break
		}
	}
	return out
}

func joinDiffs(d []string) string { return strings.Join(d, "\n") }

// ms is a time as GitLab writes it: UTC, milliseconds.
func ms(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }
