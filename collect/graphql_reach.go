package collect

import (
	"context"
	"maps"
	"sync"

	"golang.org/x/sync/errgroup"
)

// A person's project reach (Options.PersonReach) is read from the same
// memberships as the bots' access levels, 100 owners a request. GitLab
// serves UserCore.projectMemberships and groupMemberships from the user's
// project_members and group_members, the associations GET
// /users/:id/memberships?type=Project and type=Namespace list, access
// requests left out in both (app/graphql/types/user_interface.rb,
// lib/api/users.rb, https://docs.gitlab.com/api/graphql/reference/#usercore).

var reachQuery = `query tokenauditReach($ids: [ID!], $first: Int) { users(ids: $ids, first: $first) { nodes { id ` + reachLists("", "") + ` } } }`

// moreReachQuery reads one user's next pages of both lists; a list already
// read to its end is asked after its last cursor and comes back empty.
var moreReachQuery = `query tokenauditReachPages($ids: [ID!], $projects: String, $groups: String) { users(ids: $ids, first: 1) { nodes { id ` +
	reachLists(", after: $projects", ", after: $groups") + ` } } }`

// reachLists asks a user's project and group memberships, each list's
// arguments after its page size.
func reachLists(projects, groups string) string {
	return `projectMemberships(first: 100` + projects + `) { pageInfo { hasNextPage endCursor } nodes { project { id } } } ` +
		`groupMemberships(first: 100` + groups + `) { pageInfo { hasNextPage endCursor } nodes { group { id } } }`
}

// reachBatches reads the reach of uids through GraphQL and returns it, with
// the owners it could not read that way (GraphQL unavailable, a user the
// answer left out or a membership whose source it hid), for REST.
func (c *collector) reachBatches(ctx context.Context, uids []int64, below map[int64][]int64) (reach map[int64]int, rest []int64, err error) {
	reach = map[int64]int{}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.concurrency)
	for _, b := range batches(uids) {
		g.Go(func() error {
			got, left := c.reachBatch(gctx, b, below)
			mu.Lock()
			defer mu.Unlock()
			for uid, n := range got {
				reach[uid] = n
			}
			rest = append(rest, left...)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	if ctx.Err() != nil {
		return nil, nil, ctx.Err()
	}
	return reach, rest, nil
}

// reachBatch reads the memberships of up to 100 owners.
func (c *collector) reachBatch(ctx context.Context, uids []int64, below map[int64][]int64) (map[int64]int, []int64) {
	nodes, _, answer := c.usersMemberships(ctx, reachQuery, uids)
	switch answer {
	case usersToREST:
		return nil, uids
	case usersHalve:
		half := len(uids) / 2
		a, ra := c.reachBatch(ctx, uids[:half], below)
		b, rb := c.reachBatch(ctx, uids[half:], below)
		both := map[int64]int{}
		maps.Copy(both, a)
		maps.Copy(both, b)
		return both, append(ra, rb...)
	}
	reach := map[int64]int{}
	for i := range nodes {
		if n, ok := c.userReach(ctx, &nodes[i], below); ok {
			reach[idOf(nodes[i].ID)] = n
		}
	}
	var left []int64
	for _, uid := range uids {
		if _, ok := reach[uid]; !ok {
			left = append(left, uid)
		}
	}
	return reach, left
}

// userReach counts the projects one user's memberships reach, as
// personReach does, reading further pages of either list; ok is false when
// the answer cannot say.
func (c *collector) userReach(ctx context.Context, u *gqlUserMemberships, below map[int64][]int64) (int, bool) {
	reached := map[int64]bool{}
	seen := map[string]bool{}
	for page := 1; ; page++ {
		if u.ProjectMemberships == nil || u.GroupMemberships == nil {
			return 0, false
		}
		for _, n := range u.ProjectMemberships.Nodes {
			if n.Project == nil {
				return 0, false // hidden from this caller: REST says why
			}
			reached[idOf(n.Project.ID)] = true
		}
		for _, n := range u.GroupMemberships.Nodes {
			if n.Group == nil {
				return 0, false
			}
			for _, pid := range below[idOf(n.Group.ID)] {
				reached[pid] = true
			}
		}
		p, g := u.ProjectMemberships.PageInfo, u.GroupMemberships.PageInfo
		if !p.HasNextPage && !g.HasNextPage {
			return len(reached), true
		}
		// A cursor seen before would read the same pages forever.
		key := p.EndCursor + "\x00" + g.EndCursor
		if seen[key] || page >= c.maxPages {
			return 0, false
		}
		seen[key] = true
		next, ok := c.moreReach(ctx, u.ID, p.EndCursor, g.EndCursor)
		if !ok {
			return 0, false
		}
		u = next
	}
}

// moreReach reads the pages of a user's memberships after the cursors.
func (c *collector) moreReach(ctx context.Context, gid, projects, groups string) (*gqlUserMemberships, bool) {
	var data struct {
		Users struct {
			Nodes []gqlUserMemberships `json:"nodes"`
		} `json:"users"`
	}
	vars := map[string]any{"ids": []string{gid}}
	// An empty list has no cursor; it is asked from its start again, and
	// is empty again.
	for k, v := range map[string]string{"projects": projects, "groups": groups} {
		if v != "" {
			vars[k] = v
		}
	}
	errs, err := c.graphql(ctx, moreReachQuery, vars, &data)
	if err != nil || len(errs) > 0 || len(data.Users.Nodes) != 1 || data.Users.Nodes[0].ID != gid {
		return nil, false
	}
	return &data.Users.Nodes[0], true
}
