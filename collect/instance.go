package collect

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sync"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
	"golang.org/x/sync/errgroup"

	"github.com/tokenaudit/tokenaudit/inventory"
)

// instance collects as an administrator with the cheapest complete sources
// (README, "The token tokenaudit needs"): one pass over each instance-wide list, then per-resource
// calls only where they add something. The economy decisions:
//   - Paths of projects and groups, archived state and group sizes come
//     from listing /projects (simple=true, plus archived=true for the
//     archived set) and /groups once: a few pages, where reading each group
//     with tokens (GET /groups/:id and a per_page=1 count of its projects)
//     would cost two requests per group.
//   - Access levels exist only in the resource token lists, so those are
//     read for the projects and groups whose bots hold tokens, and for no
//     other; a bot whose project is gone keeps the project's ID, an empty
//     path and access level 0.
//   - Impersonation tokens are not flagged in the admin PAT list; they are
//     asked per human who holds tokens, after a probe showed the route exists.
//   - Of a project's job token scope only the inbound setting is read; the
//     allowlists' contents serve no rule or report.
//   - A person's project reach (Options.PersonReach, off by default) costs
//     the memberships of each owner of an active personal, impersonation or
//     service-account token, 100 owners a GraphQL request; the projects
//     below a group membership come from the group and project lists
//     already read.
//   - GET /deploy_tokens does not name a token's project or group, so
//     deploy tokens carry the instance as their resource.
func (c *collector) instance(ctx context.Context) (err error) {
	settings, settingsOK, err := c.proveAdmin(ctx)
	if err != nil {
		return err
	}
	c.seesAllUsers = settingsOK
	// Two kinds of reads run in the background of the lists and the
	// per-resource reads, and every way out of instance waits for them
	// (cancelled first when it returns an error):
	//   - the per-project facts need only the project lists, not the users
	//     (GET /users is read page by page with keyset, the longest of the
	//     lists): they start as soon as the projects are in, and their
	//     trigger owners get the users' details once those are read
	//     (ownTriggers);
	//   - the impersonation reads follow the users list page by page
	//     (impStream).
	bctx, cancel := context.WithCancel(ctx)
	defer cancel()
	facts, fctx := errgroup.WithContext(backgroundCtx(bctx))
	facts.SetLimit(c.concurrency)
	// The planner queues the batches on facts and so runs outside it: at
	// concurrency 1 it would hold the only slot its batches wait for.
	var planning sync.WaitGroup
	var stream *impStream
	if !c.opts.SkipImpersonation {
		stream = c.newImpStream(bctx)
	}
	var owners map[int64]*inventory.Owner
	defer func() {
		if err != nil {
			cancel()
		}
		planning.Wait()
		berr := facts.Wait()
		if stream != nil {
			if serr := stream.wait(); berr == nil {
				berr = serr
			}
		}
		if err == nil {
			err = berr
		}
		// The trigger owners get the users' details once every trigger
		// is in, whichever way instance returns.
		if owners != nil {
			c.ownTriggers(owners)
		}
	}()
	l, err := c.readInstanceLists(ctx, func(projects, archived []projectWire) {
		planning.Go(func() { c.instanceProjectFacts(fctx, projects, archived, facts) })
	}, stream)
	if err != nil {
		return err
	}
	if settingsOK {
		c.inv.Settings = mapSettings(settings)
	}
	t := newTree(l.groups, l.projects, l.archived, l.projectsOK && l.groupsOK)
	owners = make(map[int64]*inventory.Owner, len(l.users))
	for i := range l.users {
		owners[l.users[i].ID] = mapUser(&l.users[i])
	}
	accountGroup, err := c.serviceAccounts(ctx, l, owners)
	if err != nil {
		if !c.pastDeadline() {
			return err
		}
		accountGroup = map[int64]int64{}
	}
	need := c.addPATs(l.pats, owners, accountGroup, t)
	for i := range l.deploys {
		// GET /deploy_tokens does not say which project or group a token
		// belongs to (https://docs.gitlab.com/api/deploy_tokens/#list-all-deploy-tokens);
		// finding out would cost a request per project and group.
		c.addToken(mapDeployToken(&l.deploys[i], inventory.Resource{Type: inventory.ResourceInstance}, srcDeployTokens))
	}
	c.log.Debug("instance lists read", "pats", len(l.pats), "users", len(l.users), "deploy_tokens", len(l.deploys),
		"projects", len(l.projects), "groups", len(l.groups), "requests", c.counter.Count())
	if c.pastDeadline() {
		return ctx.Err()
	}
	return c.instancePerResource(ctx, need, l.pats, owners, t, l.projectsOK && l.groupsOK, stream)
}

// instanceProjectFacts reads every project's triggers and job token setting
// (projectFacts) without the users' details: the trigger owners are
// completed by ownTriggers.
func (c *collector) instanceProjectFacts(ctx context.Context, projects, archived []projectWire, g *errgroup.Group) {
	t := newTree(nil, projects, archived, false)
	res := make([]inventory.Resource, 0, len(t.projects))
	for _, pid := range sortedKeys(t.projects) {
		r := t.project(pid)
		c.setProject(r, nil)
		res = append(res, r)
	}
	scopes := !c.opts.SkipJobTokenScope && len(res) > 0 && !c.unavailable("instance", featJobTokenScope)
	c.projectFacts(res, map[int64]*inventory.Owner{}, scopes, nil, c.starter(g, ctx))
}

// ownTriggers gives each trigger's owner what the users list says of it,
// as the trigger reads would have with the list at hand.
func (c *collector) ownTriggers(owners map[int64]*inventory.Owner) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range c.others {
		if t.Kind == inventory.KindPipelineTrigger && t.Owner != nil {
			t.Owner = mergeOwner(ownerCopy(owners[t.Owner.ID]), t.Owner)
		}
	}
}

// ErrNotServedAsAdmin is returned (wrapped) when /user says the caller is an
// administrator but GitLab does not serve the token as one: with Admin Mode
// on, a token without the admin_mode scope gets the non-administrator view
// of every list (GET /personal_access_tokens answers 200 with the caller's
// own tokens only) and 403 on the administrator-only endpoints
// (https://docs.gitlab.com/administration/settings/sign_in_restrictions/#admin-mode).
// An audit made so would look complete and see almost nothing.
var ErrNotServedAsAdmin = errors.New("GitLab does not serve the token as an administrator")

// proveAdmin reads the application settings first, alone: only an
// administrator served as one may read them, so a 403 here, while /user
// says administrator, proves Admin Mode withholds the rights, before any
// list is read with the wrong view. Any other failure is an ordinary gap.
func (c *collector) proveAdmin(ctx context.Context) (*settingsWire, bool, error) {
	var s settingsWire
	c.plan(1)
	defer c.finished()
	if _, err := c.get(ctx, "application/settings", nil, &s); err != nil {
		if gitlab.HasStatusCode(err, http.StatusForbidden) {
			return nil, false, fmt.Errorf("%w: %s is an administrator, but GET /application/settings answered %s: "+
				"Admin Mode is on and the token lacks the admin_mode scope", ErrNotServedAsAdmin, c.me.Username, errorReason(err))
		}
		if !c.gap(ctx, "instance", "application settings", err) {
			return nil, false, ctx.Err()
		}
		return nil, false, nil
	}
	return &s, true, nil
}

// keysetByID asks for keyset pagination in ID order, which GitLab enforces
// past 50,000 rows for projects and users.
var keysetByID = url.Values{"pagination": {"keyset"}, "order_by": {"id"}, "sort": {"asc"}}

// instanceLists is what instance mode reads in one pass over each
// instance-wide list. What could not be read is a gap already, and its
// list stays empty; the ok flags say which lists the tree may trust.
type instanceLists struct {
	pats                             []patWire
	users                            []userWire
	deploys                          []gitlab.DeployToken
	projects, archived               []projectWire
	groups                           []groupWire
	accounts                         []serviceAccountWire
	projectsOK, groupsOK, accountsOK bool
}

// readInstanceLists reads the instance-wide lists concurrently, and calls
// projectsRead as soon as the project lists are read (either may have
// failed: its gap is recorded and it is empty).
//
// stream, when set, gets each page of the users list as it comes in, and
// the token list and service accounts once both are read (impStream).
func (c *collector) readInstanceLists(ctx context.Context, projectsRead func(projects, archived []projectWire), stream *impStream) (*instanceLists, error) {
	var (
		l                          instanceLists
		patsOK, usersOK, deploysOK bool
		archivedOK                 bool
	)
	const inst = "instance"
	g, gctx := errgroup.WithContext(ctx)
	start := c.starter(g, gctx)
	read := func(what string, ok *bool, fetch func() error) {
		start(func(ctx context.Context) error {
			if err := fetch(); err != nil {
				if !c.gap(ctx, inst, what, err) {
					return ctx.Err()
				}
				return nil
			}
			*ok = true
			return nil
		})
	}
	// The stream needs the token list and the service accounts.
	streamLists := 1
	if !c.unavailable(inst, featServiceAccounts) {
		streamLists++
	}
	streamListDone := afterAll(streamLists, func() {
		if stream != nil && gctx.Err() == nil {
			stream.setReady(l.pats, l.accounts)
		}
	})
	read("personal access tokens", &patsOK, func() (err error) {
		defer streamListDone()
		l.pats, err = listAll[patWire](gctx, c, "personal_access_tokens", nil)
		return err
	})
	// Keyset pagination: GitLab refuses offsets past 50,000 users, and every
	// project or group access token adds a bot user
	// (https://docs.gitlab.com/api/rest/#keyset-based-pagination).
	read("users", &usersOK, func() (err error) {
		uctx := gctx
		if stream != nil {
			uctx = withPages(gctx, stream.users)
		}
		l.users, err = listAll[userWire](uctx, c, "users", keysetByID)
		return err
	})
	read("deploy tokens", &deploysOK, func() (err error) {
		l.deploys, err = listAll[gitlab.DeployToken](gctx, c, "deploy_tokens", nil)
		return err
	})
	// Every project (paths, archived state, and the per-project reads) and
	// every group (paths and sizes, computed here instead of one count
	// request per group).
	// Keyset pagination: offsets stop at 50,000 projects
	// (https://docs.gitlab.com/api/projects/#list-all-projects).
	keyset := cloneQuery(keysetByID)
	keyset.Set("simple", "true")
	// The second of the two project lists to finish hands both on; a list
	// that failed is nil (listAll), and its gap recorded.
	projectListDone := afterAll(2, func() {
		if gctx.Err() == nil {
			projectsRead(l.projects, l.archived)
		}
	})
	read("projects", &l.projectsOK, func() (err error) {
		defer projectListDone()
		l.projects, err = listAll[projectWire](gctx, c, "projects", keyset)
		return err
	})
	read("archived projects", &archivedOK, func() (err error) {
		defer projectListDone()
		q := cloneQuery(keyset)
		q.Set("archived", "true")
		l.archived, err = listAll[projectWire](gctx, c, "projects", q)
		return err
	})
	// Service accounts are known only from GitLab's lists of them: their
	// usernames are free-form since GitLab 16.10, and REST user entities
	// carry no user_type (https://docs.gitlab.com/api/service_accounts/).
	if !c.unavailable(inst, featServiceAccounts) {
		read("service accounts", &l.accountsOK, func() (err error) {
			defer streamListDone()
			l.accounts, err = listAll[serviceAccountWire](gctx, c, "service_accounts", nil)
			return err
		})
	}
	read("groups", &l.groupsOK, func() (err error) {
		l.groups, err = listAll[groupWire](gctx, c, "groups", url.Values{"all_available": {"true"}})
		return err
	})
	err := g.Wait()
	if stream != nil {
		stream.closeInput()
	}
	if err != nil && !c.pastDeadline() {
		return nil, err
	}
	// Past max_duration the lists read in full are kept (a list cut off is
	// empty, and named in the deadline's gap), so the report holds them.
	if !archivedOK {
		l.archived = nil
	}
	return &l, nil
}

// afterAll returns a function that runs fn on its n-th call, from whichever
// goroutine makes it; the calls before happen before fn.
func afterAll(n int, fn func()) func() {
	var mu sync.Mutex
	return func() {
		mu.Lock()
		defer mu.Unlock()
		if n--; n == 0 {
			fn()
		}
	}
}

// serviceAccounts marks the owners GitLab lists as service accounts (GET
// /service_accounts) and returns each group service account's group.
// Premium and Ultimate name it in the users list, provisioned_by_group_id
// (set to the group a service account is created in,
// https://gitlab.com/gitlab-org/gitlab/-/blob/master/ee/app/services/namespaces/service_accounts/create_service.rb);
// a bot user with one, whichever list names it, is that group's service
// account. Without the key the groups' own lists, GET
// /groups/:id/service_accounts of each top-level group, which an
// administrator may read on self-managed GitLab, say it. Those are read
// only when the instance has a service account or a bot user that is
// neither a project nor a group bot, so an instance without service
// accounts pays nothing for them; otherwise one request per top-level
// group.
func (c *collector) serviceAccounts(ctx context.Context, l *instanceLists, owners map[int64]*inventory.Owner) (map[int64]int64, error) {
	accountGroup := map[int64]int64{}
	for _, a := range l.accounts {
		if o := owners[a.ID]; o != nil {
			o.Type = inventory.OwnerServiceAccount
		}
	}
	if !l.accountsOK {
		return accountGroup, nil
	}
	if provisioned(l.users) {
		for i := range l.users {
			u := &l.users[i]
			o := owners[u.ID]
			if o == nil || u.ProvisionedByGroupID.ID == 0 || o.Type != inventory.OwnerServiceAccount && o.Type != inventory.OwnerOtherBot {
				continue
			}
			o.Type = inventory.OwnerServiceAccount
			accountGroup[u.ID] = u.ProvisionedByGroupID.ID
		}
		return accountGroup, nil
	}
	candidates := len(l.accounts) > 0
	for _, o := range owners {
		if o.Type == inventory.OwnerOtherBot {
			candidates = true
			break
		}
	}
	if !candidates {
		return accountGroup, nil
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.concurrency)
	task := c.starter(g, gctx)
	for _, top := range l.groups {
		if top.ParentID != 0 {
			continue
		}
		task(func(ctx context.Context) error {
			list, err := listAll[serviceAccountWire](ctx, c, fmt.Sprintf("groups/%d/service_accounts", top.ID), nil)
			if err != nil {
				return c.gapOrStop(ctx, groupName(top.FullPath, top.ID), "service accounts", err)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, a := range list {
				accountGroup[a.ID] = top.ID
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for id := range accountGroup {
		if o := owners[id]; o != nil {
			o.Type = inventory.OwnerServiceAccount
		}
	}
	return accountGroup, nil
}

// provisioned reports whether the users list names the group that created
// each user: every entry has the key, null for most.
func provisioned(users []userWire) bool {
	for i := range users {
		if !users[i].ProvisionedByGroupID.Sent {
			return false
		}
	}
	return len(users) > 0
}

// instanceNeeds is what the PAT list leaves to per-resource reads: the
// projects and groups whose bots hold tokens (for access levels), and the
// people who may hold impersonation tokens.
type instanceNeeds struct {
	botProjects, botGroups map[int64]bool
	// bots are the bot users holding those tokens, each with its project
	// or group, for their access levels in batches.
	bots    map[int64]inventory.Resource
	holders map[int64]bool
	// impersonationKnown is set when this GitLab flags impersonation
	// tokens in the PAT list itself, so no one need be asked.
	impersonationKnown bool
}

// addPATs classifies every PAT by its owner, adds it, and says what is left
// to read per resource.
func (c *collector) addPATs(pats []patWire, owners map[int64]*inventory.Owner, accountGroup map[int64]int64, t *tree) instanceNeeds {
	need := instanceNeeds{botProjects: map[int64]bool{}, botGroups: map[int64]bool{}, holders: map[int64]bool{}, bots: map[int64]inventory.Resource{}}
	for i := range pats {
		p := &pats[i]
		if p.Impersonation != nil {
			need.impersonationKnown = true
		}
		o := owners[p.UserID]
		kind, res := c.classify(o, accountGroup, t)
		switch kind {
		case inventory.KindProjectAccess:
			if _, ok := t.projects[res.ID]; ok {
				need.botProjects[res.ID] = true
				need.bots[p.UserID] = res
			}
		case inventory.KindGroupAccess:
			if _, ok := t.groups[res.ID]; ok {
				need.botGroups[res.ID] = true
				need.bots[p.UserID] = res
			}
		default:
			// GitLab issues impersonation tokens for people only. An owner
			// missing from /users is not asked: its 404 ("404 User Not
			// Found") would read like a GitLab without the route.
			if o != nil && o.Type == inventory.OwnerHuman {
				need.holders[p.UserID] = true
			}
		}
		c.addToken(mapPAT(p, kind, o, res, srcPATs))
	}
	return need
}

// instancePerResource makes the per-resource reads, concurrently: the
// impersonation tokens of each holder (after a probe), person reach when
// asked for, the access levels of bot tokens, and each project's triggers
// and job token scope.
func (c *collector) instancePerResource(ctx context.Context, need instanceNeeds, pats []patWire, owners map[int64]*inventory.Owner, t *tree, treeComplete bool, stream *impStream) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.concurrency)
	task := c.starter(g, gctx)

	// The stream read the impersonation tokens as the users came in.
	if stream == nil || !stream.streamed() {
		if err := c.impersonation(ctx, need, owners, task); err != nil {
			return err
		}
	}
	setReach := func() {}
	if c.opts.PersonReach {
		setReach = c.startPersonReach(pats, owners, t, treeComplete, task)
	}
	c.log.Debug("per-resource reads planned", "impersonation_holders", len(need.holders),
		"bot_projects", len(need.botProjects), "bot_groups", len(need.botGroups), "projects", len(t.projects))
	// Access levels live in the resource lists, and in the bots'
	// memberships, which GraphQL reads 100 bots a request.
	if c.gqlOn(factLevels) {
		task(func(ctx context.Context) error { return c.botLevels(ctx, need.bots, owners) })
	} else {
		for _, pid := range sortedKeys(need.botProjects) {
			res := t.project(pid)
			task(func(ctx context.Context) error {
				return c.resourceTokens(ctx, res, fmt.Sprintf("projects/%d/access_tokens", pid), owners)
			})
		}
		for _, gid := range sortedKeys(need.botGroups) {
			res := t.group(gid)
			task(func(ctx context.Context) error {
				return c.resourceTokens(ctx, res, fmt.Sprintf("groups/%d/access_tokens", gid), owners)
			})
		}
	}
	if err := g.Wait(); err != nil {
		return err
	}
	setReach()
	return nil
}

// impersonation starts the reads that tell impersonation tokens apart.
// The admin PAT list does not flag them
// (https://docs.gitlab.com/api/personal_access_tokens/ lists no such
// field): each user that holds tokens is asked, unless this GitLab sends
// the flag in the list or the setting skips them. The first call is a
// probe: a GitLab (or simulator) without the route answers 404, and then
// one gap says so instead of one per user.
func (c *collector) impersonation(ctx context.Context, need instanceNeeds, owners map[int64]*inventory.Owner, task func(func(context.Context) error)) error {
	ids := sortedKeys(need.holders)
	if need.impersonationKnown || len(ids) == 0 {
		return nil
	}
	if c.opts.SkipImpersonation {
		c.addGap(inventory.Gap{
			Resource: "instance", What: "impersonation tokens", Kind: inventory.GapPermission,
			Reason: fmt.Sprintf("not read: skip_impersonation is set (it saves a request for each of the %s holding tokens); impersonation tokens are reported as personal tokens",
				countOf(len(ids), "person", "people")),
		})
		return nil
	}
	c.plan(1)
	ok, err := c.impersonationProbe(ctx, ids[0], owners[ids[0]])
	c.finished()
	if err != nil || !ok {
		return err
	}
	for _, uid := range ids[1:] {
		task(func(ctx context.Context) error { return c.impersonationTokens(ctx, uid, owners[uid]) })
	}
	return nil
}

// classify decides a PAT-table token's kind and resource from its owner.
func (c *collector) classify(o *inventory.Owner, accountGroup map[int64]int64, t *tree) (inventory.Kind, inventory.Resource) {
	if o == nil {
		return inventory.KindPersonal, inventory.Resource{Type: inventory.ResourceInstance}
	}
	kind := kindForOwner(o.Type)
	switch kind {
	case inventory.KindProjectAccess:
		_, id, _ := parseBotUsername(o.Username)
		return kind, t.project(id)
	case inventory.KindGroupAccess:
		_, id, _ := parseBotUsername(o.Username)
		return kind, t.group(id)
	case inventory.KindServiceAccount:
		if gid, ok := accountGroup[o.ID]; ok {
			return kind, t.group(gid)
		}
	}
	return kind, inventory.Resource{Type: inventory.ResourceInstance}
}

// impersonationProbe reads the first user's impersonation tokens. ok is
// false when the route is not there: the impersonation tokens then stay
// among the personal tokens, and one gap says so.
func (c *collector) impersonationProbe(ctx context.Context, uid int64, owner *inventory.Owner) (bool, error) {
	toks, err := listAll[patWire](ctx, c, fmt.Sprintf("users/%d/impersonation_tokens", uid), url.Values{"state": {"all"}})
	switch {
	case err == nil:
		c.addImpersonation(toks, uid, owner)
		return true, nil
	case gitlab.HasStatusCode(err, http.StatusNotFound):
		c.addGap(inventory.Gap{
			Resource: "instance", What: "impersonation tokens", Kind: inventory.GapPermission,
			Reason: "this GitLab does not list impersonation tokens per user (404 on /users/:id/impersonation_tokens); they are reported as personal tokens",
		})
		return false, nil
	}
	return true, c.impersonationGap(ctx, uid, owner, err)
}

func (c *collector) impersonationGap(ctx context.Context, uid int64, owner *inventory.Owner, err error) error {
	name := fmt.Sprintf("user %d", uid)
	if owner != nil {
		name = "user " + owner.Username
	}
	return c.gapOrStop(ctx, name, "impersonation tokens", err)
}

func (c *collector) addImpersonation(toks []patWire, uid int64, owner *inventory.Owner) {
	for i := range toks {
		p := &toks[i]
		if p.UserID == 0 {
			p.UserID = uid
		}
		c.addToken(mapPAT(p, inventory.KindImpersonation, owner, inventory.Resource{Type: inventory.ResourceInstance}, srcImpersonation))
	}
}

// impersonationTokens re-kinds a user's impersonation tokens
// (https://docs.gitlab.com/api/user_tokens/#list-all-impersonation-tokens-for-a-user).
func (c *collector) impersonationTokens(ctx context.Context, uid int64, owner *inventory.Owner) error {
	toks, err := listAll[patWire](ctx, c, fmt.Sprintf("users/%d/impersonation_tokens", uid), url.Values{"state": {"all"}})
	if err != nil {
		return c.impersonationGap(ctx, uid, owner, err)
	}
	c.addImpersonation(toks, uid, owner)
	return nil
}

// resourceTokens reads a project's or group's access tokens, for their
// access level.
func (c *collector) resourceTokens(ctx context.Context, res inventory.Resource, path string, owners map[int64]*inventory.Owner) error {
	toks, err := listAll[resourceTokenWire](ctx, c, path, nil)
	kind, src, name, what := inventory.KindProjectAccess, srcProjectTokens, projectName(res.Path, res.ID), "project access tokens"
	if res.Type == inventory.ResourceGroup {
		kind, src, name, what = inventory.KindGroupAccess, srcGroupTokens, groupName(res.Path, res.ID), "group access tokens"
	}
	if err != nil {
		return c.gapOrStop(ctx, name, what, err)
	}
	for i := range toks {
		o := owners[toks[i].UserID]
		if o == nil {
			bt := inventory.OwnerProjectBot
			if kind == inventory.KindGroupAccess {
				bt = inventory.OwnerGroupBot
			}
			o = &inventory.Owner{ID: toks[i].UserID, Type: bt, ProjectsReachable: -1}
		}
		c.addToken(mapResourceToken(&toks[i], kind, o, res, src))
	}
	return nil
}

// triggers reads a project's pipeline triggers. The token values in the
// answer are dropped by mapTrigger.
func (c *collector) triggers(ctx context.Context, res inventory.Resource, owners map[int64]*inventory.Owner) error {
	trs, err := listAll[triggerWire](ctx, c, fmt.Sprintf("projects/%d/triggers", res.ID), nil)
	if err != nil {
		return c.gapOrStop(ctx, projectName(res.Path, res.ID), "pipeline triggers", err)
	}
	for i := range trs {
		tr := &trs[i]
		var o *inventory.Owner
		if tr.Owner != nil {
			o = mergeOwner(ownerCopy(owners[tr.Owner.ID]), mapBasicUser(tr.Owner))
		}
		tok := mapTrigger(tr, o, res)
		tr.Token = ""
		c.addToken(tok)
	}
	return nil
}

// jobTokenScope reads whether a project's inbound CI/CD job token
// allowlist is on (https://docs.gitlab.com/api/project_job_token_scopes/),
// which TA-072 judges. The allowlists themselves are not read: no rule or
// report uses their contents, and counting them cost two requests for every
// project with the allowlist on.
func (c *collector) jobTokenScope(ctx context.Context, res inventory.Resource) error {
	var s struct {
		InboundEnabled bool `json:"inbound_enabled"`
	}
	if _, err := c.get(ctx, fmt.Sprintf("projects/%d/job_token_scope", res.ID), nil, &s); err != nil {
		return c.gapOrStop(ctx, projectName(res.Path, res.ID), "job token scope", err)
	}
	c.setProject(res, &inventory.JobTokenScope{InboundEnabled: s.InboundEnabled})
	return nil
}

// gapOrStop records a gap, or returns ctx's error when the collection was
// cancelled.
func (c *collector) gapOrStop(ctx context.Context, resource, what string, err error) error {
	if !c.gap(ctx, resource, what, err) {
		return ctx.Err()
	}
	return nil
}

func ownerCopy(o *inventory.Owner) *inventory.Owner {
	if o == nil {
		return nil
	}
	c := *o
	return &c
}

func sortedKeys[V any](m map[int64]V) []int64 { return slices.Sorted(maps.Keys(m)) }
