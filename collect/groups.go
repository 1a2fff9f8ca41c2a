package collect

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
	"golang.org/x/sync/errgroup"

	"github.com/tokenaudit/tokenaudit/inventory"
)

// serviceAccountWire is an entry of /groups/:id/service_accounts
// (https://docs.gitlab.com/api/service_accounts/#list-all-group-service-accounts).
type serviceAccountWire struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
}

// groups collects the configured group trees as their Owner or Maintainer
// sees them: the tree itself, then per group and per project the token
// lists, plus the top-level group's service accounts and, on GitLab.com, the
// credentials inventory; and the caller's own PATs. Where the credentials
// inventory listed a tree's resource access tokens, the per-group and
// per-project access token lists of that tree are not read: one paged list
// holds the same tokens with the same fields (access_level, resource_type,
// resource_id added to the PAT entity;
// https://docs.gitlab.com/api/groups/#credentials-inventory-management).
func (c *collector) groups(ctx context.Context) error {
	tops, err := c.resolveGroups(ctx)
	if err != nil {
		return err
	}
	data, err := c.readGroupTrees(ctx, tops)
	if err != nil {
		return err
	}
	m := mergeGroupTrees(data)
	owners := map[int64]*inventory.Owner{c.me.ID: c.me}
	for id, a := range m.accounts {
		owners[id] = &inventory.Owner{ID: id, Username: a.Username, Type: inventory.OwnerServiceAccount, ProjectsReachable: -1}
	}
	for _, d := range data {
		c.addCredentialsInventory(d, owners, m)
	}
	return c.groupsPerResource(ctx, m, owners)
}

// groupTree is what was read of one configured group: its tree, and for a
// top-level group its service accounts and credentials inventory.
type groupTree struct {
	top                groupWire
	descendants        []groupWire
	projects, archived []projectWire
	accounts           []serviceAccountWire
	managePATs         []patWire
	manageRes          []resourceTokenWire
	treeOK, archivedOK bool
	manageResOK        bool
}

// readGroupTrees reads, concurrently, the caller's own tokens and each
// configured group's tree, service accounts and credentials inventory.
func (c *collector) readGroupTrees(ctx context.Context, tops []groupWire) ([]*groupTree, error) {
	data := make([]*groupTree, len(tops))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.concurrency)
	step := c.starter(g, gctx)
	step(c.ownTokens)
	for i, top := range tops {
		d := &groupTree{top: top, treeOK: true}
		data[i] = d
		c.readTree(step, d)
		if top.ParentID == 0 {
			c.readTopLevel(step, d)
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return data, nil
}

// readTree starts the reads of a group's subgroups, projects and archived
// projects.
func (c *collector) readTree(step func(func(context.Context) error), d *groupTree) {
	top, name := d.top, groupName(d.top.FullPath, d.top.ID)
	projects := func(archived bool) url.Values {
		q := url.Values{"include_subgroups": {"true"}, "with_shared": {"false"}, "simple": {"true"}}
		if archived {
			q.Set("archived", "true")
		}
		return q
	}
	step(func(ctx context.Context) (err error) {
		d.descendants, err = listAll[groupWire](ctx, c, fmt.Sprintf("groups/%d/descendant_groups", top.ID), nil)
		if err != nil {
			d.treeOK = false
			return c.gapOrStop(ctx, name, "subgroups", err)
		}
		return nil
	})
	step(func(ctx context.Context) (err error) {
		d.projects, err = listAll[projectWire](ctx, c, fmt.Sprintf("groups/%d/projects", top.ID), projects(false))
		if err != nil {
			d.treeOK = false
			return c.gapOrStop(ctx, name, "projects", err)
		}
		return nil
	})
	step(func(ctx context.Context) (err error) {
		d.archived, err = listAll[projectWire](ctx, c, fmt.Sprintf("groups/%d/projects", top.ID), projects(true))
		if err != nil {
			return c.gapOrStop(ctx, name, "archived projects", err)
		}
		d.archivedOK = true
		return nil
	})
}

// readTopLevel starts the reads only a top-level group has: its service
// accounts and its credentials inventory.
func (c *collector) readTopLevel(step func(func(context.Context) error), d *groupTree) {
	top, name := d.top, groupName(d.top.FullPath, d.top.ID)
	if !c.unavailable(name, featServiceAccounts) {
		step(func(ctx context.Context) (err error) {
			d.accounts, err = listAll[serviceAccountWire](ctx, c, fmt.Sprintf("groups/%d/service_accounts", top.ID), nil)
			if err != nil {
				return c.gapOrStop(ctx, name, "service accounts", err)
			}
			return nil
		})
	}
	// The credentials inventory exists only on GitLab.com, for Owners of an
	// Ultimate top-level group
	// (https://docs.gitlab.com/api/groups/#credentials-inventory-management).
	// It alone lists the enterprise users' personal access tokens, so
	// whatever keeps it from being read is a gap the report shows.
	if c.unavailable(name, featCredentialsInventory) {
		return
	}
	step(func(ctx context.Context) (err error) {
		d.managePATs, err = listAll[patWire](ctx, c, fmt.Sprintf("groups/%d/manage/personal_access_tokens", top.ID), nil)
		if err != nil {
			return c.credentialsInventoryGap(ctx, name, err)
		}
		d.manageRes, err = listAll[resourceTokenWire](ctx, c, fmt.Sprintf("groups/%d/manage/resource_access_tokens", top.ID), nil)
		if err != nil {
			// No gap: the per-group and per-project access token lists,
			// read instead, hold the same tokens.
			d.manageRes = nil
			if ctx.Err() != nil {
				return ctx.Err()
			}
			c.log.Debug("credentials inventory resource tokens not read; reading them per resource",
				"group", top.FullPath, "reason", errorReason(err))
			return nil
		}
		d.manageResOK = true
		return nil
	})
}

// groupsMerged is the configured groups' trees as one: the tree, the
// service accounts with the top-level group of each, and the groups and
// projects whose access tokens came with a credentials inventory.
type groupsMerged struct {
	tree                           *tree
	accounts                       map[int64]serviceAccountWire
	accountGroup                   map[int64]int64
	managedGroups, managedProjects map[int64]bool
}

func mergeGroupTrees(data []*groupTree) *groupsMerged {
	m := &groupsMerged{
		accounts: map[int64]serviceAccountWire{}, accountGroup: map[int64]int64{},
		managedGroups: map[int64]bool{}, managedProjects: map[int64]bool{},
	}
	var allGroups []groupWire
	var allProjects, allArchived []projectWire
	complete, archivedOK := true, true
	for _, d := range data {
		allGroups = append(allGroups, d.top)
		allGroups = append(allGroups, d.descendants...)
		allProjects = append(allProjects, d.projects...)
		allArchived = append(allArchived, d.archived...)
		complete = complete && d.treeOK
		archivedOK = archivedOK && d.archivedOK
		for _, a := range d.accounts {
			m.accounts[a.ID] = a
			m.accountGroup[a.ID] = d.top.ID
		}
		if d.manageResOK {
			m.managedGroups[d.top.ID] = true
			for _, g := range d.descendants {
				m.managedGroups[g.ID] = true
			}
			for _, p := range slices.Concat(d.projects, d.archived) {
				m.managedProjects[p.ID] = true
			}
		}
	}
	if !archivedOK {
		allArchived = nil
	}
	m.tree = newTree(allGroups, allProjects, allArchived, complete)
	return m
}

// addCredentialsInventory adds the tokens a group's credentials inventory
// listed.
func (c *collector) addCredentialsInventory(d *groupTree, owners map[int64]*inventory.Owner, m *groupsMerged) {
	t := m.tree
	for i := range d.managePATs {
		p := &d.managePATs[i]
		o := owners[p.UserID]
		kind, res := inventory.KindPersonal, inventory.Resource{Type: inventory.ResourceInstance}
		if o != nil && o.Type == inventory.OwnerServiceAccount {
			kind, res = inventory.KindServiceAccount, t.group(m.accountGroup[p.UserID])
		}
		c.addToken(mapPAT(p, kind, o, res, srcManagePATs))
	}
	for i := range d.manageRes {
		r := &d.manageRes[i]
		kind, res, bt := inventory.KindProjectAccess, t.project(r.ResourceID), inventory.OwnerProjectBot
		if r.ResourceType == "group" {
			kind, res, bt = inventory.KindGroupAccess, t.group(r.ResourceID), inventory.OwnerGroupBot
		}
		// The same owner as the per-resource lists give (resourceTokens).
		o := owners[r.UserID]
		if o == nil {
			o = &inventory.Owner{ID: r.UserID, Type: bt, ProjectsReachable: -1}
		}
		c.addToken(mapResourceToken(r, kind, o, res, srcManageResource))
	}
}

// groupsPerResource makes the per-group, per-project and per-account reads,
// concurrently; access token lists only where no credentials inventory
// held them, and of projects only those with a bot member (projectFacts);
// and, for an administrator, the members' own tokens.
func (c *collector) groupsPerResource(ctx context.Context, m *groupsMerged, owners map[int64]*inventory.Owner) error {
	t := m.tree
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.concurrency)
	task := c.starter(g, gctx)
	for _, gid := range sortedKeys(t.groups) {
		res := t.group(gid)
		if !m.managedGroups[gid] {
			task(func(ctx context.Context) error {
				return c.resourceTokens(ctx, res, fmt.Sprintf("groups/%d/access_tokens", gid), owners)
			})
		}
		task(func(ctx context.Context) error {
			return c.deployTokens(ctx, res, fmt.Sprintf("groups/%d/deploy_tokens", gid), srcGroupDeploy)
		})
	}
	scopes := !c.opts.SkipJobTokenScope && len(t.projects) > 0 && !c.unavailable("groups", featJobTokenScope)
	accountTokens := len(m.accounts) > 0 && !c.unavailable("groups", featServiceAccountTokens)
	projects := make([]inventory.Resource, 0, len(t.projects))
	// The access token lists the credentials inventory did not give:
	// projectFacts reads those of the projects with a bot member.
	tokens := map[int64]bool{}
	for _, pid := range sortedKeys(t.projects) {
		res := t.project(pid)
		c.setProject(res, nil)
		projects = append(projects, res)
		if !m.managedProjects[pid] {
			tokens[pid] = true
		}
		task(func(ctx context.Context) error {
			return c.deployTokens(ctx, res, fmt.Sprintf("projects/%d/deploy_tokens", pid), srcProjectDeploy)
		})
	}
	c.projectFacts(projects, owners, scopes, tokens, task)
	if c.inv.GitLab.Admin {
		// Only an administrator may read other users' tokens.
		task(func(ctx context.Context) error { return c.groupMembersTokens(ctx, m, owners, accountTokens) })
	}
	for _, uid := range sortedKeys(m.accounts) {
		if !accountTokens {
			break
		}
		a, res := m.accounts[uid], t.group(m.accountGroup[uid])
		task(func(ctx context.Context) error {
			toks, err := listAll[patWire](ctx, c, fmt.Sprintf("groups/%d/service_accounts/%d/personal_access_tokens", res.ID, uid), nil)
			if err != nil {
				return c.gapOrStop(ctx, "service account "+a.Username, "personal access tokens", err)
			}
			for i := range toks {
				c.addToken(mapPAT(&toks[i], inventory.KindServiceAccount, owners[uid], res, srcServiceAccountPATs))
			}
			return nil
		})
	}
	return g.Wait()
}

// resolveGroups reads each configured group. A group that does not exist or
// that the caller cannot see stops the audit: the configuration is wrong.
func (c *collector) resolveGroups(ctx context.Context) ([]groupWire, error) {
	var tops []groupWire
	seen := map[int64]bool{}
	for _, name := range c.opts.Groups {
		var gr groupWire
		_, err := c.get(ctx, "groups/"+url.PathEscape(name), url.Values{"with_projects": {"false"}}, &gr)
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case refused(err):
			return nil, fmt.Errorf("read group %q: %w: %s", name, ErrGroupNotFound, errorReason(err))
		default:
			c.gap(ctx, "group "+name, "group", err)
			continue
		}
		if !seen[gr.ID] {
			seen[gr.ID] = true
			tops = append(tops, gr)
		}
	}
	return tops, nil
}

// deployTokens reads a project's or group's deploy tokens.
func (c *collector) deployTokens(ctx context.Context, res inventory.Resource, path, src string) error {
	toks, err := listAll[gitlab.DeployToken](ctx, c, path, nil)
	if err != nil {
		name := projectName(res.Path, res.ID)
		if res.Type == inventory.ResourceGroup {
			name = groupName(res.Path, res.ID)
		}
		return c.gapOrStop(ctx, name, "deploy tokens", err)
	}
	for i := range toks {
		c.addToken(mapDeployToken(&toks[i], res, src))
	}
	return nil
}

// refused reports a 401, 403 or 404: the caller may not read it.
// credentialsInventoryGap records why a group's credentials inventory was
// not read: GitLab answers not_found! where the feature is off (self-managed
// GitLab, or GitLab.com before 18.6 or behind its flag), 403 to a
// non-Owner or a group without Ultimate, and 401 dpop_error where the group
// requires a DPoP proof (require_dpop_for_manage_api_endpoints), which
// tokenaudit does not send.
func (c *collector) credentialsInventoryGap(ctx context.Context, name string, err error) error {
	const what = "credentials inventory"
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case missingRoute(err):
		return c.gapOrStop(ctx, name, what, err)
	case gitlab.HasStatusCode(err, http.StatusNotFound):
		c.addGap(inventory.Gap{Resource: name, What: what, Kind: inventory.GapUnavailable,
			Reason: "not served for this group: the credentials inventory is GitLab.com's, from 18.6, for Ultimate top-level groups " +
				"(https://docs.gitlab.com/api/groups/#credentials-inventory-management); the enterprise users' personal access tokens are not audited"})
		return nil
	case gitlab.HasStatusCode(err, http.StatusUnauthorized) && strings.Contains(errorReason(err), "dpop"):
		c.addGap(inventory.Gap{Resource: name, What: what, Kind: inventory.GapPermission,
			Reason: errorReason(err) + ": the group requires a DPoP proof for its credentials inventory (require_dpop_for_manage_api_endpoints), " +
				"which tokenaudit does not send; the enterprise users' personal access tokens are not audited"})
		return nil
	case gitlab.HasStatusCode(err, http.StatusForbidden):
		c.addGap(inventory.Gap{Resource: name, What: what, Kind: inventory.GapPermission,
			Reason: errorReason(err) + ": the credentials inventory needs the Owner role of an Ultimate top-level group; the enterprise users' personal access tokens are not audited"})
		return nil
	}
	return c.gapOrStop(ctx, name, what, err)
}

func refused(err error) bool {
	return gitlab.HasStatusCode(err, http.StatusUnauthorized) ||
		gitlab.HasStatusCode(err, http.StatusForbidden) ||
		gitlab.HasStatusCode(err, http.StatusNotFound)
}
