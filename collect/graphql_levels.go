package collect

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/tokenaudit/tokenaudit/inventory"
)

// The access level of a project or group access token is its bot user's
// membership in the token's project or group: the REST lists of a
// resource's access tokens report that membership as access_level
// (https://docs.gitlab.com/api/project_access_tokens/). GraphQL gives the
// memberships of 100 users per request (UserCore.projectMemberships and
// groupMemberships, https://docs.gitlab.com/api/graphql/reference/#usercore),
// where REST needs a list per project and group with bots.

const levelsQuery = `query tokenauditBotLevels($ids: [ID!], $first: Int) { users(ids: $ids, first: $first) { nodes { id ` +
	`projectMemberships(first: 100) { pageInfo { hasNextPage } nodes { accessLevel { integerValue } project { id } } } ` +
	`groupMemberships(first: 100) { pageInfo { hasNextPage } nodes { accessLevel { integerValue } group { id } } } } } }`

type gqlMemberships struct {
	PageInfo gqlPageInfo `json:"pageInfo"`
	Nodes    []struct {
		AccessLevel *struct {
			IntegerValue *int `json:"integerValue"`
		} `json:"accessLevel"`
		Project *struct {
			ID string `json:"id"`
		} `json:"project"`
		Group *struct {
			ID string `json:"id"`
		} `json:"group"`
	} `json:"nodes"`
}

// gqlUserMemberships is a user node with its memberships: a bot's, for its
// tokens' access level, or a token owner's, for its reach.
type gqlUserMemberships struct {
	ID                 string          `json:"id"`
	ProjectMemberships *gqlMemberships `json:"projectMemberships"`
	GroupMemberships   *gqlMemberships `json:"groupMemberships"`
}

// level is the access level of membership in res among ms; ok is false
// when the answer cannot say (the list cut short, or missing).
func (ms *gqlMemberships) level(res inventory.Resource) (int, bool) {
	if ms == nil {
		return 0, false
	}
	for _, n := range ms.Nodes {
		ref := n.Project
		if res.Type == inventory.ResourceGroup {
			ref = n.Group
		}
		if ref != nil && idOf(ref.ID) == res.ID && n.AccessLevel != nil && n.AccessLevel.IntegerValue != nil {
			return *n.AccessLevel.IntegerValue, true
		}
	}
	// Not a member: the REST list of the resource's tokens would not list
	// the bot's tokens either, and their level stays unknown (0). A list
	// with more pages may hold the membership further on.
	return 0, !ms.PageInfo.HasNextPage
}

// botLevels sets the access level of the bots' tokens (bots: bot user ID →
// its project or group) through GraphQL, and reads over REST the token
// lists of the resources it could not: every one when GraphQL cannot
// serve the fact, else those of the bots an answer left out.
func (c *collector) botLevels(ctx context.Context, bots map[int64]inventory.Resource, owners map[int64]*inventory.Owner) error {
	ids := sortedKeys(bots)
	if len(ids) == 0 {
		return nil
	}
	var rest levelsLeft
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.concurrency)
	for _, b := range batches(ids) {
		g.Go(func() error { c.levelBatch(gctx, b, bots, &rest); return nil })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	c.setLevels(rest.levels)
	g, gctx = errgroup.WithContext(ctx)
	for _, res := range rest.res {
		path := fmt.Sprintf("projects/%d/access_tokens", res.ID)
		if res.Type == inventory.ResourceGroup {
			path = fmt.Sprintf("groups/%d/access_tokens", res.ID)
		}
		g.Go(func() error { return c.resourceTokens(gctx, res, path, owners) })
	}
	return g.Wait()
}

// levelsLeft gathers the batches' answers: the levels read, and the
// resources whose token lists REST must read, each once.
type levelsLeft struct {
	mu     sync.Mutex
	levels map[int64]int
	seen   map[inventory.Resource]bool
	res    []inventory.Resource
}

func (s *levelsLeft) addBots(uids []int64, bots map[int64]inventory.Resource) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen = map[inventory.Resource]bool{}
	}
	for _, uid := range uids {
		if r := bots[uid]; !s.seen[r] {
			s.seen[r] = true
			s.res = append(s.res, r)
		}
	}
}

func (s *levelsLeft) addLevels(levels map[int64]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.levels == nil {
		s.levels = map[int64]int{}
	}
	for uid, l := range levels {
		s.levels[uid] = l
	}
}

// levelBatch reads the memberships of up to 100 bot users and sets their
// tokens' access levels; what it cannot tell goes to rest.
func (c *collector) levelBatch(ctx context.Context, uids []int64, bots map[int64]inventory.Resource, rest *levelsLeft) {
	nodes, errs, answer := c.usersMemberships(ctx, levelsQuery, uids)
	switch answer {
	case usersToREST:
		rest.addBots(uids, bots)
		return
	case usersHalve:
		half := len(uids) / 2
		c.levelBatch(ctx, uids[:half], bots, rest)
		c.levelBatch(ctx, uids[half:], bots, rest)
		return
	}
	levels := map[int64]int{}
	for _, u := range nodes {
		uid := idOf(u.ID)
		res, ok := bots[uid]
		if !ok {
			continue
		}
		ms := u.ProjectMemberships
		if res.Type == inventory.ResourceGroup {
			ms = u.GroupMemberships
		}
		if lvl, ok := ms.level(res); ok {
			levels[uid] = lvl
		}
	}
	var missed []int64
	for _, uid := range uids {
		if _, ok := levels[uid]; !ok {
			missed = append(missed, uid)
		}
	}
	if len(missed) > 0 {
		if len(errs) > 0 {
			c.log.Debug("GraphQL left bot users out; reading their resources' token lists", "users", len(missed), "error", strings.TrimSpace(errs[0].Message))
		}
		rest.addBots(missed, bots)
	}
	rest.addLevels(levels)
}

// How a batch of users was answered (usersMemberships).
const (
	usersOK     = iota
	usersToREST // no GraphQL, its fields missing, or the exchange failed
	usersHalve  // too big or too slow: ask again in halves
)

// usersMemberships asks query (levelsQuery, reachQuery) for the users
// uids, and says how it was answered; a GitLab without the membership
// fields turns them over to REST for the run.
func (c *collector) usersMemberships(ctx context.Context, query string, uids []int64) ([]gqlUserMemberships, []gqlError, int) {
	if !c.gqlOn(factLevels) {
		return nil, nil, usersToREST
	}
	gids := make([]string, len(uids))
	for i, id := range uids {
		gids[i] = globalID("User", id)
	}
	var data struct {
		Users *struct {
			Nodes []gqlUserMemberships `json:"nodes"`
		} `json:"users"`
	}
	errs, err := c.graphql(ctx, query, map[string]any{"ids": gids, "first": len(gids)}, &data)
	if err != nil {
		return nil, nil, usersToREST
	}
	for _, e := range errs {
		if _, field, _ := missingFact(e); field != "" {
			c.gqlOff(factLevels, fmt.Sprintf("this GitLab's GraphQL has no %s (%s)", field, e.Message))
			return nil, nil, usersToREST
		}
		if tooBig(e) && len(uids) > 1 {
			return nil, nil, usersHalve
		}
	}
	if data.Users == nil {
		return nil, errs, usersOK
	}
	return data.Users.Nodes, errs, usersOK
}

// setLevels sets the access level of every PAT-table token of the bots.
func (c *collector) setLevels(levels map[int64]int) {
	if len(levels) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range c.pats {
		if t.Owner == nil {
			continue
		}
		if lvl, ok := levels[t.Owner.ID]; ok {
			t.AccessLevel = max(t.AccessLevel, lvl)
			if !slices.Contains(t.Sources, srcGQLMemberships) {
				t.Sources = append(t.Sources, srcGQLMemberships)
				slices.Sort(t.Sources)
			}
		}
	}
}
