package collect

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
	"golang.org/x/sync/errgroup"

	"github.com/tokenaudit/tokenaudit/inventory"
)

// projectFacts reads the per-project facts of projects: pipeline triggers
// (unless skipped), the inbound job token setting (when scopes) and, for
// the projects of tokens (groups mode), the access token list of each
// that has a bot member; through GraphQL in batches of 100 where this
// GitLab serves them, over REST where not. task runs one unit of work in
// the caller's errgroup.
//
// A project's access token list holds its bot members' tokens and no
// others (GitLab lists resource.bots' tokens, the project_bot users of its
// direct memberships,
// https://gitlab.com/gitlab-org/gitlab/-/blob/master/lib/api/resource_access_tokens.rb),
// so a project whose direct members GraphQL shows without a bot has none,
// and its list is not read.
//
// Against a GitLab without GraphQL the run's first GraphQL request is the
// one probe (collector.graphql); the batches queued after it found out go
// to REST without asking.
func (c *collector) projectFacts(projects []inventory.Resource, owners map[int64]*inventory.Owner, scopes bool, tokens map[int64]bool, task func(func(context.Context) error)) {
	var want factSet
	if !c.opts.SkipTriggers {
		want |= setOf(factTriggers)
	}
	if scopes {
		want |= setOf(factScope)
	}
	if len(tokens) > 0 {
		want |= setOf(factTokens)
	}
	if want == 0 {
		return
	}
	for _, b := range batches(projects) {
		if want.only(c.gqlOn) == 0 {
			c.restFacts(b, owners, want, tokens, task)
			continue
		}
		task(func(ctx context.Context) error { return c.projectBatch(ctx, b, owners, want, tokens) })
	}
}

// restFacts starts the REST reads of projects' facts, one task each.
func (c *collector) restFacts(projects []inventory.Resource, owners map[int64]*inventory.Owner, want factSet, tokens map[int64]bool, task func(func(context.Context) error)) {
	for _, res := range projects {
		if want.has(factTriggers) {
			task(func(ctx context.Context) error { return c.triggers(ctx, res, owners) })
		}
		if want.has(factScope) {
			task(func(ctx context.Context) error { return c.jobTokenScope(ctx, res) })
		}
		if want.has(factTokens) && tokens[res.ID] {
			task(func(ctx context.Context) error { return c.projectTokens(ctx, res, owners) })
		}
	}
}

// projectTokens reads a project's access token list.
func (c *collector) projectTokens(ctx context.Context, res inventory.Resource, owners map[int64]*inventory.Owner) error {
	return c.resourceTokens(ctx, res, fmt.Sprintf("projects/%d/access_tokens", res.ID), owners)
}

// gqlProject is a Project node of the batch query.
type gqlProject struct {
	ID           string `json:"id"`
	CiCdSettings *struct {
		InboundJobTokenScopeEnabled *bool `json:"inboundJobTokenScopeEnabled"`
	} `json:"ciCdSettings"`
	PipelineTriggers *gqlTriggers `json:"pipelineTriggers"`
	// TriggerOwners is the same page of triggers asked again for their
	// owners alone (ownersAlias).
	TriggerOwners *gqlTriggers `json:"triggerOwners"`
	// ProjectMembers are its direct members, for whether any is a bot.
	ProjectMembers *struct {
		PageInfo gqlPageInfo `json:"pageInfo"`
		Nodes    []struct {
			User *struct {
				Bot bool `json:"bot"`
			} `json:"user"`
		} `json:"nodes"`
	} `json:"projectMembers"`
}

type gqlTriggers struct {
	Count    *int         `json:"count"`
	PageInfo gqlPageInfo  `json:"pageInfo"`
	Nodes    []gqlTrigger `json:"nodes"`
}

type gqlPageInfo struct {
	HasNextPage bool   `json:"hasNextPage"`
	EndCursor   string `json:"endCursor"`
}

// gqlTrigger is a PipelineTrigger (https://docs.gitlab.com/api/graphql/reference/#pipelinetrigger).
// Its token is never asked for. GitLab's type has no creation time.
type gqlTrigger struct {
	ID          string     `json:"id"`
	Description string     `json:"description"`
	LastUsed    *time.Time `json:"lastUsed"`
	ExpiresAt   *time.Time `json:"expiresAt"`
	Owner       *struct {
		ID       string `json:"id"`
		Username string `json:"username"`
		State    string `json:"state"`
	} `json:"owner"`
}

// triggerFields are the PipelineTrigger fields read when triggers come from
// GraphQL alone, but for the owner: PipelineTrigger.owner is non-null
// (app/graphql/types/ci/pipeline_trigger_type.rb), so a trigger whose owner
// was deleted would come back as a null node, its description and use
// lost. The owners are asked beside, under ownersAlias, where such a
// trigger is the null node.
const triggerFields = `pageInfo { hasNextPage endCursor } nodes { id description lastUsed expiresAt }`

// ownersAlias names the second read of a page of triggers, for owners.
const ownersAlias = "triggerOwners"

// triggerOwners asks a page of triggers (args: the connection's arguments)
// for their owners.
func triggerOwners(args string) string {
	return ` ` + ownersAlias + `: pipelineTriggers(` + args + `) { nodes { id owner { id username state } } }`
}

// projectsQuery asks, for the projects of $ids, the facts wanted: the
// inbound job token setting, and either the number of triggers (their
// details, creation time included, then come from REST for the projects
// that have any) or the triggers themselves.
func (c *collector) projectsQuery(want factSet) string {
	var b strings.Builder
	b.WriteString(`query tokenauditProjects($ids: [ID!], $first: Int, $after: String) { projects(ids: $ids, first: $first, after: $after) { pageInfo { hasNextPage endCursor } nodes { id`)
	if want.has(factScope) {
		b.WriteString(` ciCdSettings { inboundJobTokenScopeEnabled }`)
	}
	switch {
	case want.has(factTriggers) && c.opts.SkipTriggerCreatedAt:
		b.WriteString(` pipelineTriggers(first: 100) { ` + triggerFields + ` }` + triggerOwners("first: 100"))
	case want.has(factTriggers):
		b.WriteString(` pipelineTriggers { count }`)
	}
	if want.has(factTokens) {
		b.WriteString(` projectMembers(relations: [DIRECT], first: 100) { pageInfo { hasNextPage } nodes { user { bot } } }`)
	}
	b.WriteString(` } } }`)
	return b.String()
}

// projectBatch reads the facts of up to 100 projects in one query (more
// pages if GitLab sends them), then whatever GraphQL did not give over
// REST.
func (c *collector) projectBatch(ctx context.Context, batch []inventory.Resource, owners map[int64]*inventory.Owner, want factSet, tokens map[int64]bool) error {
	rest := restWork{tokensFor: tokens}
	if err := c.projectQuery(ctx, batch, owners, want, &rest); err != nil {
		return err
	}
	if len(rest.triggers)+len(rest.scope)+len(rest.tokens) == 0 {
		return nil
	}
	// The REST reads run beside the other batches; the semaphore bounds the
	// requests in flight.
	g, gctx := errgroup.WithContext(ctx)
	for _, res := range rest.triggers {
		g.Go(func() error { return c.triggers(gctx, res, owners) })
	}
	for _, res := range rest.scope {
		g.Go(func() error { return c.jobTokenScope(gctx, res) })
	}
	for _, res := range rest.tokens {
		g.Go(func() error { return c.projectTokens(gctx, res, owners) })
	}
	return g.Wait()
}

// projectQuery asks GraphQL for batch's facts and adds what it answers; the
// facts it does not answer go to rest.
func (c *collector) projectQuery(ctx context.Context, batch []inventory.Resource, owners map[int64]*inventory.Owner, want factSet, rest *restWork) error {
	asked := want.only(c.gqlOn)
	// The facts GraphQL is not asked for go to REST.
	rest.addAll(batch, want&^asked)
	if asked == 0 {
		return nil
	}
	byID := make(map[int64]inventory.Resource, len(batch))
	ids := make([]string, len(batch))
	for i, res := range batch {
		byID[res.ID] = res
		ids[i] = globalID("Project", res.ID)
	}
	query := c.projectsQuery(asked)
	var nodes []gqlProject
	var errs []gqlError
	for after := ""; ; {
		var data struct {
			Projects *struct {
				PageInfo gqlPageInfo  `json:"pageInfo"`
				Nodes    []gqlProject `json:"nodes"`
			} `json:"projects"`
		}
		vars := map[string]any{"ids": ids, "first": len(ids)}
		if after != "" {
			vars["after"] = after
		}
		pageErrs, err := c.graphql(ctx, query, vars, &data)
		if err != nil {
			return c.batchFailed(ctx, err, batch, asked, rest)
		}
		// Errors point into this page's nodes.
		for _, e := range pageErrs {
			if i := errorIndex(e); i >= 0 {
				e.Path[2] = float64(i + len(nodes))
			}
			errs = append(errs, e)
		}
		if data.Projects == nil {
			break
		}
		nodes = append(nodes, data.Projects.Nodes...)
		if !data.Projects.PageInfo.HasNextPage || data.Projects.PageInfo.EndCursor == "" || data.Projects.PageInfo.EndCursor == after || len(nodes) > len(batch) {
			break
		}
		after = data.Projects.PageInfo.EndCursor
	}
	redo, denied, err := c.projectErrors(ctx, errs, nodes, batch, byID, owners, want, asked, rest)
	if redo || err != nil {
		return err
	}
	seen := map[int64]bool{}
	for i := range nodes {
		n := &nodes[i]
		res, ok := byID[idOf(n.ID)]
		if !ok || seen[res.ID] {
			continue
		}
		seen[res.ID] = true
		if asked.has(factScope) && !denied[[2]int64{res.ID, int64(factScope)}] {
			c.gqlScope(n, res, rest)
		}
		if asked.has(factTokens) && !denied[[2]int64{res.ID, int64(factTokens)}] {
			gqlTokens(n, res, rest)
		}
		if asked.has(factTriggers) && !denied[[2]int64{res.ID, int64(factTriggers)}] {
			if err := c.gqlTriggers(ctx, n, res, owners, rest); err != nil {
				return err
			}
		}
	}
	// A project GitLab's answer left out (not visible to GraphQL, or cut
	// short) is read over REST, which says why if it is refused.
	for _, res := range batch {
		if !seen[res.ID] {
			rest.addAll([]inventory.Resource{res}, asked)
		}
	}
	return nil
}

// batchFailed handles a batch whose exchange failed (no GraphQL, which
// postGraphQL has turned over to REST for the run; 5xx past the retries, a
// timeout, a malformed answer): the batch goes to REST, which makes its own
// gaps if it fails too.
func (c *collector) batchFailed(ctx context.Context, err error, batch []inventory.Resource, asked factSet, rest *restWork) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	c.log.Debug("GraphQL batch failed; reading it over REST", "projects", len(batch), "err", errorReason(err))
	rest.addAll(batch, asked)
	return nil
}

// projectErrors acts on a batch's errors (want are the facts wanted, asked
// those the batch asked GraphQL for) that are not about one project: a
// field this GitLab lacks turns its fact over to REST and the batch is
// asked again without it; a query too big or too slow is asked again in
// halves (a single project then goes to REST). redo is true when the
// batch was handled so; handled are the (project, fact) pairs an error
// about one project's field dealt with (projectError), whose data is null.
func (c *collector) projectErrors(ctx context.Context, errs []gqlError, nodes []gqlProject, batch []inventory.Resource, byID map[int64]inventory.Resource, owners map[int64]*inventory.Owner, want, asked factSet, rest *restWork) (redo bool, handled map[[2]int64]bool, err error) {
	handled = map[[2]int64]bool{}
	var big, other []gqlError
	for _, e := range errs {
		if errorField(e) == ownersAlias && c.ownersHandled(e) {
			continue
		}
		// Asked again only without the fact: a server that keeps naming a
		// field not asked for cannot loop.
		if f, field, ok := missingFact(e); ok && asked.has(f) {
			c.gqlOff(f, fmt.Sprintf("this GitLab's GraphQL has no %s (%s)", field, e.Message))
			redo = true
			continue
		} else if field != "" && !ok {
			// A field of the query's frame: nothing of it can be read.
			why := "this GitLab's GraphQL cannot batch projects (" + e.Message + ")"
			c.gqlOff(factTriggers, why)
			c.gqlOff(factScope, why)
			c.gqlOff(factTokens, why)
			redo = true
			continue
		}
		switch {
		case tooBig(e):
			big = append(big, e)
		case errorIndex(e) >= 0 && errorIndex(e) < len(nodes):
			n := nodes[errorIndex(e)]
			handled[[2]int64{idOf(n.ID), int64(errorFact(e))}] = true
			c.projectError(e, n, byID, rest)
		default:
			other = append(other, e)
		}
	}
	switch {
	case redo:
		return true, nil, c.projectQuery(ctx, batch, owners, want, rest)
	case len(big) > 0 && len(batch) > 1:
		c.log.Debug("GraphQL batch too big; halving it", "projects", len(batch), "error", big[0].Message)
		half := len(batch) / 2
		if err := c.projectQuery(ctx, batch[:half], owners, want, rest); err != nil {
			return true, nil, err
		}
		return true, nil, c.projectQuery(ctx, batch[half:], owners, want, rest)
	case len(big) > 0 || len(other) > 0 && len(nodes) == 0:
		e := append(big, other...)[0]
		c.log.Debug("GraphQL batch refused; reading it over REST", "projects", len(batch), "error", e.Message)
		rest.addAll(batch, asked)
		return true, nil, nil
	}
	return false, handled, nil
}

// projectError acts on an error about one project's field: a refusal is the
// permission gap the REST call would make; anything else sends that fact of
// that project to REST.
func (c *collector) projectError(e gqlError, n gqlProject, byID map[int64]inventory.Resource, rest *restWork) {
	res, ok := byID[idOf(n.ID)]
	if !ok {
		return
	}
	f := errorFact(e)
	// A refused member list says nothing of the tokens: REST's list says
	// what it is.
	if f != factTokens && strings.Contains(e.Message, deniedMessage) {
		c.denyGap(res, f, gqlReason(e))
		return
	}
	rest.add(f, res)
}

// gqlTokens sends a project to REST for its access token list unless its
// direct members, all of them in the answer, include no bot. Bots that are
// not project bots (service accounts) are read too: their project's list
// is then just empty.
func gqlTokens(n *gqlProject, res inventory.Resource, rest *restWork) {
	pm := n.ProjectMembers
	if pm == nil || pm.PageInfo.HasNextPage {
		rest.add(factTokens, res)
		return
	}
	for _, m := range pm.Nodes {
		if m.User != nil && m.User.Bot {
			rest.add(factTokens, res)
			return
		}
	}
}

// gqlScope records a project's inbound job token setting. GitLab answers
// ciCdSettings null, without an error, to a caller who may not administer
// the project, where REST answers 403: the same permission gap.
func (c *collector) gqlScope(n *gqlProject, res inventory.Resource, rest *restWork) {
	switch {
	case n.CiCdSettings == nil:
		c.denyGap(res, factScope, "GraphQL: ciCdSettings is null: reading it takes the Maintainer role (admin_project)")
	case n.CiCdSettings.InboundJobTokenScopeEnabled == nil:
		rest.add(factScope, res)
	default:
		c.setProject(res, &inventory.JobTokenScope{InboundEnabled: *n.CiCdSettings.InboundJobTokenScopeEnabled})
	}
}

// gqlTriggers records a project's triggers: with only their number asked,
// a project that has any goes to REST for their details; otherwise the
// nodes become tokens and any further pages are read.
func (c *collector) gqlTriggers(ctx context.Context, n *gqlProject, res inventory.Resource, owners map[int64]*inventory.Owner, rest *restWork) error {
	pt := n.PipelineTriggers
	if pt == nil {
		// Null without an error: not GitLab's way; REST says what it is.
		rest.add(factTriggers, res)
		return nil
	}
	if !c.opts.SkipTriggerCreatedAt {
		if pt.Count == nil || *pt.Count > 0 {
			rest.add(factTriggers, res)
		}
		return nil
	}
	if n.TriggerOwners == nil && len(pt.Nodes) > 0 {
		// The owners did not come: REST has them.
		rest.add(factTriggers, res)
		return nil
	}
	c.addGQLTriggers(pt, n.TriggerOwners, res, owners)
	// A cursor seen before would read the same pages forever.
	seen := map[string]bool{}
	for page, after := 1, pt.PageInfo; after.HasNextPage; page++ {
		if after.EndCursor == "" || seen[after.EndCursor] || page >= c.maxPages {
			return c.gapOrStop(ctx, projectName(res.Path, res.ID), factNames[factTriggers], pagingError("graphql", "pipelineTriggers of project %d: a next page without a new cursor, or too many pages", res.ID))
		}
		seen[after.EndCursor] = true
		next, err := c.moreTriggers(ctx, res, after.EndCursor)
		if errors.Is(err, errOwnerHidden) {
			// REST has what this page lacks; the pages read stay, and
			// REST's triggers merge into them.
			rest.add(factTriggers, res)
			return nil
		}
		if err != nil {
			return c.gapOrStop(ctx, projectName(res.Path, res.ID), factNames[factTriggers], err)
		}
		c.addGQLTriggers(next.PipelineTriggers, next.TriggerOwners, res, owners)
		after = next.PipelineTriggers.PageInfo
	}
	return nil
}

// ownersHandled says whether an error about the owners' read of triggers
// (ownersAlias) needs nothing more. A refusal does not: pipelineTriggers
// carries the same one. Nor does a trigger whose owner GitLab cannot
// return ("Cannot return null for non-nullable field
// PipelineTrigger.owner"), for an administrator, who may read every user:
// its owner was deleted, and pipelineTriggers has the trigger itself.
// Anyone else may be kept from reading a blocked or banned owner, which
// GraphQL nulls the same way; that project's triggers come from REST.
func (c *collector) ownersHandled(e gqlError) bool {
	if strings.Contains(e.Message, deniedMessage) {
		return true
	}
	return c.seesAllUsers && e.Message == nullOwner
}

// nullOwner is graphql-ruby's error for a trigger whose owner it cannot
// return.
const nullOwner = "Cannot return null for non-nullable field PipelineTrigger.owner"

// errOwnerHidden: a page of triggers holds one whose owner GraphQL did not
// return to a caller who is not known to see every user.
var errOwnerHidden = errors.New("GraphQL: a trigger's owner is not returned")

// moreTriggersQuery asks for the page of one project's triggers after a
// cursor.
var moreTriggersQuery = `query tokenauditTriggers($ids: [ID!], $after: String) { projects(ids: $ids, first: 1) { nodes { id pipelineTriggers(first: 100, after: $after) { ` + triggerFields + ` }` + triggerOwners("first: 100, after: $after") + ` } } }`

// moreTriggers reads the page of a project's triggers after cursor, and
// their owners.
func (c *collector) moreTriggers(ctx context.Context, res inventory.Resource, cursor string) (*gqlProject, error) {
	var data struct {
		Projects struct {
			Nodes []gqlProject `json:"nodes"`
		} `json:"projects"`
	}
	errs, err := c.graphql(ctx, moreTriggersQuery, map[string]any{"ids": []string{globalID("Project", res.ID)}, "after": cursor}, &data)
	if err != nil {
		return nil, err
	}
	for _, e := range errs {
		switch {
		case errorField(e) == ownersAlias && e.Message == nullOwner && !c.seesAllUsers:
			return nil, errOwnerHidden
		case errorField(e) != ownersAlias || !c.ownersHandled(e):
			return nil, fmt.Errorf("GraphQL: %s", e.Message)
		}
	}
	if len(data.Projects.Nodes) != 1 || data.Projects.Nodes[0].PipelineTriggers == nil || data.Projects.Nodes[0].TriggerOwners == nil {
		return nil, fmt.Errorf("GraphQL: project %d's triggers are gone from the answer", res.ID)
	}
	return &data.Projects.Nodes[0], nil
}

// addGQLTriggers adds a page of triggers read from GraphQL, as mapTrigger
// maps REST's, each with its owner from withOwners, the same page read for
// owners, where a trigger without one is a null node; their creation time
// stays unknown.
func (c *collector) addGQLTriggers(page, withOwners *gqlTriggers, res inventory.Resource, owners map[int64]*inventory.Owner) {
	ownerOf := map[string]*gitlab.User{}
	if withOwners != nil {
		for _, n := range withOwners.Nodes {
			if n.Owner != nil {
				ownerOf[n.ID] = &gitlab.User{ID: idOf(n.Owner.ID), Username: n.Owner.Username, State: n.Owner.State}
			}
		}
	}
	for i := range page.Nodes {
		n := &page.Nodes[i]
		if n.ID == "" {
			continue // a null node: not GitLab's way for this field
		}
		tr := triggerWire{ExpiresAt: n.ExpiresAt}
		tr.ID = idOf(n.ID)
		tr.Description = n.Description
		tr.LastUsed = n.LastUsed
		var o *inventory.Owner
		if u := ownerOf[n.ID]; u != nil {
			o = mergeOwner(ownerCopy(owners[u.ID]), mapBasicUser(u))
		}
		tok := mapTrigger(&tr, o, res)
		tok.Sources = []string{srcGQLTriggers}
		c.addToken(tok)
	}
}
