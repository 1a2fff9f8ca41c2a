package collect

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/tokenaudit/tokenaudit/inventory"
)

// memberWire is an entry of GET /groups/:id/members or
// /projects/:id/members (https://docs.gitlab.com/api/members/): UserBasic
// and the member's access level.
type memberWire struct {
	ID          int64  `json:"id"`
	Username    string `json:"username"`
	State       string `json:"state"`
	AccessLevel int    `json:"access_level"`
}

// groupMembersTokens reads, for an administrator in groups mode, the
// personal access tokens of the direct members of every group and project
// of the tree: an Owner cannot read another user's tokens, an administrator
// can, through the admin-only user_id filter of GET /personal_access_tokens
// (https://docs.gitlab.com/api/personal_access_tokens/). Direct members
// only: inherited members are direct members of an ancestor in the tree or
// outside it, and those outside are not the named groups' people. Bots are
// skipped, their tokens come from the resource token lists; the caller's
// own tokens come from ownTokens.
// accountsRead says the tree's service accounts' tokens are read from
// their own list, so they are not asked for twice.
//
// That list does not flag impersonation tokens, so each person it gave
// tokens for is then asked for theirs, as instance mode asks
// (collector.impersonation: a probe first, skip_impersonation skips them).
func (c *collector) groupMembersTokens(ctx context.Context, m *groupsMerged, owners map[int64]*inventory.Owner, accountsRead bool) error {
	members, err := c.treeMembers(ctx, m.tree)
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.concurrency)
	task := c.starter(g, gctx)
	var mu sync.Mutex
	need := instanceNeeds{holders: map[int64]bool{}}
	holders := map[int64]*inventory.Owner{}
	for _, uid := range sortedKeys(members) {
		mem := members[uid]
		if _, _, bot := parseBotUsername(mem.Username); bot || uid == c.me.ID {
			continue
		}
		// owners is read by the other per-resource reads meanwhile and
		// written by none, so it is only read here.
		kind, res, o := inventory.KindPersonal, inventory.Resource{Type: inventory.ResourceInstance}, owners[uid]
		if _, ok := m.accounts[uid]; ok {
			if accountsRead {
				continue
			}
			kind, res = inventory.KindServiceAccount, m.tree.group(m.accountGroup[uid])
		}
		if o == nil {
			// The member entity carries no user type; a project or group
			// bot was skipped above by its username.
			o = &inventory.Owner{ID: uid, Username: mem.Username, Type: inventory.OwnerHuman, State: mem.State, ProjectsReachable: -1}
		}
		task(func(ctx context.Context) error {
			q := url.Values{"user_id": {strconv.FormatInt(uid, 10)}}
			toks, err := listAll[patWire](ctx, c, "personal_access_tokens", q)
			if err != nil {
				return c.gapOrStop(ctx, "user "+mem.Username, "personal access tokens", err)
			}
			mine := 0
			for i := range toks {
				if toks[i].UserID != 0 && toks[i].UserID != uid {
					continue // a GitLab that ignored the filter: not this member's
				}
				mine++
				c.addToken(mapPAT(&toks[i], kind, o, res, srcPATs))
				if toks[i].Impersonation != nil {
					mu.Lock()
					need.impersonationKnown = true
					mu.Unlock()
				}
			}
			if mine > 0 && kind == inventory.KindPersonal {
				mu.Lock()
				need.holders[uid], holders[uid] = true, o
				mu.Unlock()
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(c.concurrency)
	if err := c.impersonation(gctx, need, holders, c.starter(g, gctx)); err != nil {
		return err
	}
	return g.Wait()
}

// treeMembers reads the direct members of every group and project of the
// tree, by user ID.
func (c *collector) treeMembers(ctx context.Context, t *tree) (map[int64]memberWire, error) {
	var mu sync.Mutex
	members := map[int64]memberWire{}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.concurrency)
	task := c.starter(g, gctx)
	read := func(path, name string) {
		task(func(ctx context.Context) error {
			list, err := listAll[memberWire](ctx, c, path, nil)
			if err != nil {
				return c.gapOrStop(ctx, name, "members", err)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, mem := range list {
				if mem.ID > 0 {
					members[mem.ID] = mem
				}
			}
			return nil
		})
	}
	for _, gid := range sortedKeys(t.groups) {
		read(fmt.Sprintf("groups/%d/members", gid), groupName(t.groups[gid].FullPath, gid))
	}
	for _, pid := range sortedKeys(t.projects) {
		read(fmt.Sprintf("projects/%d/members", pid), projectName(t.projects[pid].PathWithNamespace, pid))
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return members, nil
}
