package collect

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/tokenaudit/tokenaudit/inventory"
)

// membershipWire is an entry of GET /users/:id/memberships: a direct
// membership in a project (source_type "Project") or a group ("Namespace")
// (https://docs.gitlab.com/api/users/#list-projects-and-groups-that-a-user-is-a-member-of).
type membershipWire struct {
	SourceID   int64  `json:"source_id"`
	SourceType string `json:"source_type"`
}

// reachOwners returns the owners whose project reach Options.PersonReach
// reads: people and service accounts that hold at least one active token of
// their own (personal, impersonation or service-account; impersonation
// tokens are personal tokens in the admin PAT list). Bots are left out:
// a project or group token reaches its own resource, which the resource
// already says.
func reachOwners(pats []patWire, owners map[int64]*inventory.Owner) map[int64]bool {
	ids := map[int64]bool{}
	for i := range pats {
		p := &pats[i]
		o := owners[p.UserID]
		if !p.Active || p.Revoked || o == nil {
			continue
		}
		if o.Type == inventory.OwnerHuman || o.Type == inventory.OwnerServiceAccount {
			ids[p.UserID] = true
		}
	}
	return ids
}

// projectsBelow maps each group of t to the projects in it and in its
// subgroups (projects shared with the group are not in its namespace and
// are not counted, like Resource.Projects).
func projectsBelow(t *tree) map[int64][]int64 {
	below := map[int64][]int64{}
	t.eachGroupAbove(func(gid, pid int64) { below[gid] = append(below[gid], pid) })
	return below
}

// personReach reads an owner's direct memberships and returns the number of
// projects they reach: each direct project membership, and every project
// below each group membership (GitLab's members inherit a group's
// membership in its subgroups and projects,
// https://docs.gitlab.com/user/project/members/#membership-types).
// ok is false when the read failed; the failure is then a gap.
//
// The list is read once per source type: without type GitLab lists the
// user's members records, pending access requests among them, and nothing
// in the entity tells a request from a membership
// (https://docs.gitlab.com/api/users/#list-projects-and-groups-that-a-user-is-a-member-of);
// with type=Project or type=Namespace it lists real memberships only.
func (c *collector) personReach(ctx context.Context, uid int64, owner *inventory.Owner, below map[int64][]int64) (n int, ok bool, err error) {
	var ms []membershipWire
	for _, typ := range []string{"Project", "Namespace"} {
		part, err := listAll[membershipWire](ctx, c, fmt.Sprintf("users/%d/memberships", uid), url.Values{"type": {typ}})
		if err != nil {
			name := fmt.Sprintf("user %d", uid)
			if owner != nil && owner.Username != "" {
				name = "user " + owner.Username
			}
			return 0, false, c.gapOrStop(ctx, name, "project memberships", err)
		}
		ms = append(ms, part...)
	}
	reach := map[int64]bool{}
	for _, m := range ms {
		switch m.SourceType {
		case "Project":
			reach[m.SourceID] = true
		case "Namespace":
			for _, pid := range below[m.SourceID] {
				reach[pid] = true
			}
		}
	}
	return len(reach), true, nil
}

// startPersonReach queues on task one memberships read per owner of
// reachOwners (Options.PersonReach) and returns the function that, once the
// tasks are done, records the reach on their tokens. complete says whether
// the project and group lists were read: without them a group membership's
// projects are unknown, and so is every reach.
func (c *collector) startPersonReach(pats []patWire, owners map[int64]*inventory.Owner, t *tree, complete bool, task func(func(context.Context) error)) (apply func()) {
	ids := sortedKeys(reachOwners(pats, owners))
	if len(ids) == 0 {
		return func() {}
	}
	if !complete {
		c.addGap(inventory.Gap{
			Resource: "instance", What: "project reach of token owners", Kind: inventory.GapError,
			Reason: "the project or group list could not be read, so the projects below a group membership are unknown",
		})
		return func() {}
	}
	below := projectsBelow(t)
	var mu sync.Mutex
	reach := make(map[int64]int, len(ids))
	restReach := func(ctx context.Context, uid int64) error {
		n, ok, err := c.personReach(ctx, uid, owners[uid], below)
		if ok {
			mu.Lock()
			reach[uid] = n
			mu.Unlock()
		}
		return err
	}
	if !c.gqlOn(factLevels) {
		for _, uid := range ids {
			task(func(ctx context.Context) error { return restReach(ctx, uid) })
		}
		return func() { c.setReach(reach) }
	}
	// In batches of 100 through GraphQL (graphql_reach.go); the owners it
	// cannot answer for over REST, from inside the same task: a task may
	// not queue more on its own group.
	task(func(ctx context.Context) error {
		got, left, err := c.reachBatches(ctx, ids, below)
		if err != nil {
			return err
		}
		mu.Lock()
		maps.Copy(reach, got)
		mu.Unlock()
		g, gctx := errgroup.WithContext(ctx)
		for _, uid := range left {
			g.Go(func() error { return restReach(gctx, uid) })
		}
		return g.Wait()
	})
	return func() { c.setReach(reach) }
}

// setReach records each owner's project reach on every token of that owner.
func (c *collector) setReach(reach map[int64]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	set := func(t *inventory.Token) {
		if t.Owner == nil {
			return
		}
		if n, ok := reach[t.Owner.ID]; ok {
			t.Owner.ProjectsReachable = n
		}
	}
	for _, t := range c.pats {
		set(t)
	}
	for _, t := range c.others {
		set(t)
	}
}
