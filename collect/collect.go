// Package collect fills an inventory from GitLab: concurrent collectors over
// GitLab's REST API through client-go, with pacing, retries and gaps for
// whatever cannot be read. It is the only package that talks to GitLab.
package collect

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
	"golang.org/x/sync/errgroup"

	"github.com/tokenaudit/tokenaudit/internal/redact"
	"github.com/tokenaudit/tokenaudit/inventory"
)

// ErrUnauthorized is returned (wrapped, with GitLab's reason) when GitLab
// rejects the token itself: unknown, expired, revoked, or without the scope
// to read /user. The audit cannot run; the command exits 2.
var ErrUnauthorized = errors.New("gitlab rejected the token")

// ErrGroupNotFound is returned (wrapped, naming the group) when a group named
// in Options.Groups does not exist or is not visible to the caller.
var ErrGroupNotFound = errors.New("group not found")

// ErrMode is returned when the requested mode cannot be used by the caller
// (instance mode without administrator rights, groups mode without groups).
var ErrMode = errors.New("mode not available")

// ErrNotGitLab is returned (wrapped, saying what was wrong) when GitLab's
// /user answer is no user: without its id and username the mode cannot be
// chosen, and guessing would audit nothing and call it complete.
var ErrNotGitLab = errors.New("is the URL a GitLab API?")

// ErrMaxDuration is returned (wrapped) when Options.MaxDuration passed
// before GitLab said who the caller is; later, it ends the collection with
// a gap instead.
var ErrMaxDuration = errors.New("the run exceeded max_duration")

// Collect reads every token the caller may see, choosing its sources from
// the caller's rights and opts. It returns an error only when the audit
// cannot run at all (GitLab unreachable, token rejected, /user answered by
// something that is no GitLab, a configured group missing, ctx cancelled);
// anything else that cannot be read becomes a Gap and the rest of the
// inventory stays complete. Past opts.MaxDuration it returns what it read,
// with an error gap that says so.
func Collect(ctx context.Context, client *gitlab.Client, opts Options) (*inventory.Inventory, error) {
	clock := opts.Clock
	if clock == nil {
		clock = time.Now
	}
	start := clock()
	c := newCollector(client, opts)
	startReq := c.counter.Count()
	// run is ctx bounded by MaxDuration: its expiry ends the collection
	// with a gap, while ctx's own end (Ctrl-C) still ends it with an error.
	run := ctx
	if opts.MaxDuration > 0 {
		var cancel context.CancelFunc
		run, cancel = context.WithTimeoutCause(ctx, opts.MaxDuration, ErrMaxDuration)
		defer cancel()
		c.deadline = run
	}

	var me userWire
	if _, err := c.get(run, "user", nil, &me); err != nil {
		var de *decodeError
		switch {
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case run.Err() != nil:
			return nil, fmt.Errorf("get current user: %w (%s) before GitLab answered", ErrMaxDuration, opts.MaxDuration)
		case gitlab.HasStatusCode(err, http.StatusUnauthorized) || gitlab.HasStatusCode(err, http.StatusForbidden):
			return nil, fmt.Errorf("get current user: %w: %s", ErrUnauthorized, errorReason(err))
		case errors.As(err, &de):
			return nil, fmt.Errorf("GitLab's /user answer is no user (%s): %w", valueProblem(de.err), ErrNotGitLab)
		}
		return nil, fmt.Errorf("get current user: %w", err)
	}
	// GitLab always sends both (https://docs.gitlab.com/api/users/#retrieve-the-current-user);
	// {} or null from a proxy or another API would otherwise be read as a
	// nameless non-administrator: self mode, no tokens, a clean report.
	if me.ID <= 0 || me.Username == "" {
		return nil, fmt.Errorf("GitLab's /user answer has no id or username: %w", ErrNotGitLab)
	}
	c.me = mapUser(&me)
	c.inv.GitLab = inventory.Instance{URL: opts.BaseURL, Admin: me.IsAdmin, Caller: me.Username}
	if c.inv.GitLab.URL == "" && client.BaseURL() != nil {
		c.inv.GitLab.URL = strings.TrimSuffix(client.BaseURL().String(), "/api/v4/")
	}

	mode, reason, err := chooseMode(opts, me.IsAdmin, me.Username)
	if err != nil {
		return nil, err
	}
	c.inv.GitLab.Mode, c.inv.GitLab.ModeReason = mode, reason
	c.log.Debug("collecting", "mode", mode, "reason", reason, "concurrency", c.concurrency)

	c.readVersion(run)

	switch mode {
	case inventory.ModeInstance:
		err = c.instance(run)
	case inventory.ModeGroups:
		err = c.groups(run)
	default:
		err = c.self(run)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if run.Err() != nil && (err == nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
		c.deadlineGap()
		err = nil
	}
	if err != nil {
		return nil, err
	}
	inv := c.finish()
	inv.Stats = inventory.Stats{Requests: c.counter.Count() - startReq, Duration: clock().Sub(start)}
	return inv, nil
}

// SelfNote is the one line that says an audit in auto mode fell back to
// the caller's own tokens, and how to audit groups instead: the report's
// mode reason, and what the command prints.
func SelfNote(caller string) string {
	return caller + " is no administrator and no group was named, so only the caller's own tokens were audited; to audit groups, name them with --group PATH (or use an administrator's token for the whole instance)"
}

// chooseMode picks the sources (README, "The token tokenaudit needs").
func chooseMode(opts Options, admin bool, caller string) (inventory.Mode, string, error) {
	switch opts.Mode {
	case inventory.ModeInstance:
		if !admin {
			return "", "", fmt.Errorf("instance mode: %w: %s is not an administrator", ErrMode, caller)
		}
		return inventory.ModeInstance, "instance mode requested; " + caller + " is an administrator", nil
	case inventory.ModeGroups:
		if len(opts.Groups) == 0 {
			return "", "", fmt.Errorf("groups mode: %w: no groups configured", ErrMode)
		}
		reason := "groups mode requested for " + strings.Join(opts.Groups, ", ")
		if admin {
			reason += "; " + caller + " is an administrator, so the personal tokens of their direct members are included"
		}
		return inventory.ModeGroups, reason, nil
	case inventory.ModeSelf:
		return inventory.ModeSelf, "self mode requested", nil
	case inventory.ModeAuto, "":
	default:
		return "", "", fmt.Errorf("unknown mode %q: %w", opts.Mode, ErrMode)
	}
	switch {
	case admin && len(opts.Groups) > 0:
		// Named groups narrow an administrator's audit rather than being
		// ignored: an administrator reads every group's lists, so groups
		// mode works as for an Owner, plus the members' own tokens, which
		// only an administrator may read.
		return inventory.ModeGroups, caller + " is an administrator; auditing only the groups named with --group, " + strings.Join(opts.Groups, ", ") +
			": their projects, their bots' and service accounts' tokens, and the personal tokens of their direct members (without --group, the whole instance)", nil
	case admin:
		return inventory.ModeInstance, caller + " is an administrator: every token of the instance is visible", nil
	case len(opts.Groups) > 0:
		return inventory.ModeGroups, caller + " is no administrator; auditing the configured groups " + strings.Join(opts.Groups, ", "), nil
	default:
		return inventory.ModeSelf, SelfNote(caller), nil
	}
}

// collector is the state of one Collect call. Everything behind mu is
// written by the worker goroutines.
type collector struct {
	client      *gitlab.Client
	opts        Options
	log         *slog.Logger
	counter     *RequestCounter
	concurrency int
	// slots bounds the requests in flight, foreground first (slots.go).
	slots   *slots
	me      *inventory.Owner
	version gitlabVersion

	mu       sync.Mutex
	inv      inventory.Inventory
	pats     map[int64]*inventory.Token         // the PAT table: personal, impersonation, service account, project and group access tokens
	others   map[inventory.Key]*inventory.Token // deploy tokens and triggers
	projects map[int64]*inventory.Project
	gapSeen  map[[2]string]bool
	planned  int
	done     int

	maxPages int             // cap on the pages of one list (maxPages)
	deadline context.Context // Collect's context bounded by MaxDuration; nil: none
	cut      map[string]bool // paths whose reads the deadline cut off

	gql graphqlState // the facts this GitLab's GraphQL does not serve
	// seesAllUsers is set once the caller is known to act as an
	// administrator, whom GitLab lets read every user.
	seesAllUsers bool
}

func newCollector(client *gitlab.Client, opts Options) *collector {
	n := opts.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &collector{
		client: client, opts: opts, log: log, concurrency: n,
		slots:    newSlots(n),
		pats:     map[int64]*inventory.Token{},
		others:   map[inventory.Key]*inventory.Token{},
		projects: map[int64]*inventory.Project{},
		gapSeen:  map[[2]string]bool{},
		maxPages: maxPages,
		cut:      map[string]bool{},
	}
	if opts.maxPages > 0 {
		c.maxPages = opts.maxPages
	}
	c.counter = findCounter(client)
	return c
}

// findCounter finds the RequestCounter NewClient put in the transport.
func findCounter(client *gitlab.Client) *RequestCounter {
	if hc := client.HTTPClient(); hc != nil {
		if rc, ok := hc.Transport.(*RequestCounter); ok {
			return rc
		}
	}
	return nil
}

// plan announces n resources to read, for progress.
func (c *collector) plan(n int) {
	c.mu.Lock()
	c.planned += n
	c.mu.Unlock()
	c.progress()
}

// starter returns a function that runs fn on g, with g's context gctx, as
// one planned resource read: planned when queued, finished when it returns.
func (c *collector) starter(g *errgroup.Group, gctx context.Context) func(fn func(ctx context.Context) error) {
	return func(fn func(ctx context.Context) error) {
		c.plan(1)
		g.Go(func() (err error) {
			defer c.finished()
			// A panic in a worker would end the process with a stack dump
			// that no caller can recover; it stops the collection instead,
			// as an error the command reports in one line.
			defer func() {
				if r := recover(); r != nil {
					c.log.Debug("collector panic", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
					err = fmt.Errorf("%w: %v", ErrInternal, r)
				}
			}()
			return fn(gctx)
		})
	}
}

// ErrInternal is returned (wrapped, with the panic's value) when a
// collector goroutine panicked: a bug in tokenaudit, not GitLab's doing.
var ErrInternal = errors.New("internal error in the collector")

// finished marks one planned resource read.
func (c *collector) finished() {
	c.mu.Lock()
	c.done++
	c.mu.Unlock()
	c.progress()
}

func (c *collector) progress() {
	if c.opts.Progress == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.opts.Progress(Progress{
		Planned: c.planned, Done: c.done,
		Tokens:   len(c.pats) + len(c.others),
		Requests: c.counter.Count(),
	})
}

// addToken records a token, merging it with an earlier sighting: the PAT
// table is keyed by id alone, since one row can show up as a personal token
// in one list and as a project access token in another.
func (c *collector) addToken(t inventory.Token) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if isPATKind(t.Kind) {
		if old, ok := c.pats[t.ID]; ok {
			merge(old, t)
			return
		}
		c.pats[t.ID] = &t
		return
	}
	if old, ok := c.others[t.Key()]; ok {
		merge(old, t)
		return
	}
	c.others[t.Key()] = &t
}

func isPATKind(k inventory.Kind) bool {
	return k != inventory.KindDeploy && k != inventory.KindPipelineTrigger
}

// setProject records per-project data.
func (c *collector) setProject(res inventory.Resource, scope *inventory.JobTokenScope) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.projects[res.ID]
	if !ok {
		p = &inventory.Project{Resource: res}
		c.projects[res.ID] = p
	}
	if scope != nil {
		p.JobTokenScope = scope
	}
}

// gap records what could not be read and why. A refusal for the caller's
// role (401, 403, 404) is a permission gap; anything else (5xx or 429 past
// the retries, timeouts, malformed answers) an error gap. It returns false
// when ctx was cancelled: then nothing is recorded and the caller stops.
func (c *collector) gap(ctx context.Context, resource, what string, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	kind := inventory.GapError
	for _, code := range []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound} {
		if gitlab.HasStatusCode(err, code) {
			kind = inventory.GapPermission
		}
	}
	reason := errorReason(err)
	if missingRoute(err) {
		// Not a refusal: this GitLab has no such route, which never fails
		// a run and is not the caller's role.
		kind, reason = inventory.GapUnavailable, c.missingReason()
	}
	c.addGap(inventory.Gap{Resource: resource, What: what, Kind: kind, Reason: reason})
	return true
}

// addGap records g once per resource and what: the one place a gap enters
// the inventory, its reason redacted (a hostile GitLab may echo the token)
// and logged.
func (c *collector) addGap(g inventory.Gap) {
	if c.opts.Redact != nil {
		g.Reason = c.opts.Redact(g.Reason)
	}
	c.log.Debug("gap", "resource", g.Resource, "what", g.What, "kind", g.Kind, "reason", g.Reason)
	c.mu.Lock()
	defer c.mu.Unlock()
	k := [2]string{g.Resource, g.What}
	if !c.gapSeen[k] {
		c.gapSeen[k] = true
		c.inv.Gaps = append(c.inv.Gaps, g)
	}
}

// cutOff notes a read of path that stopped because MaxDuration passed.
func (c *collector) cutOff(path string) {
	if c.deadline == nil || c.deadline.Err() == nil {
		return
	}
	c.mu.Lock()
	c.cut[path] = true
	c.mu.Unlock()
}

func countOf(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// maxCutNamed bounds the reads the deadline gap names.
const maxCutNamed = 10

// deadlineGap records the one error gap of a collection that MaxDuration
// ended, naming the reads it cut off.
func (c *collector) deadlineGap() {
	c.mu.Lock()
	defer c.mu.Unlock()
	cut := slices.Sorted(maps.Keys(c.cut))
	named := "none was in flight"
	if len(cut) > 0 {
		n := min(len(cut), maxCutNamed)
		named = "/" + strings.Join(cut[:n], ", /")
		if len(cut) > n {
			named += fmt.Sprintf(" and %d more", len(cut)-n)
		}
	}
	c.inv.Gaps = append(c.inv.Gaps, inventory.Gap{
		Resource: "collection", What: "reads past max_duration", Kind: inventory.GapError,
		Reason: fmt.Sprintf("the run exceeded max_duration (%s) and stopped; reads cut off: %s. The reads that would have followed them were not made: "+
			"the report holds only what was read before (%s)", c.opts.MaxDuration, named, countOf(len(c.pats)+len(c.others), "token", "tokens")),
	})
}

// errorReason is a short, secret-free description of a failed request: the
// status and GitLab's message, without the URL. GitLab's text is a
// server's: it is cut to one line of at most redact.MaxLine characters,
// between words, its control characters escaped and anything shaped like a
// token removed (gap() removes the caller's token as well), so a report, a
// log or the terminal gets neither an escape sequence nor an echoed token.
func errorReason(err error) string {
	var er *gitlab.ErrorResponse
	if errors.As(err, &er) {
		msg := er.Message
		var body struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if len(er.Body) > 0 && json.Unmarshal(er.Body, &body) == nil && body.Description != "" {
			msg = body.Error + ": " + body.Description
		}
		// Not JSON: an HTML error page (GitLab's own, a proxy's) says no
		// more than its status.
		if strings.HasPrefix(msg, "failed to parse") {
			msg = ""
		}
		msg = redact.Line(msg, redact.MaxLine)
		s := fmt.Sprintf("%d %s", er.StatusCode, http.StatusText(er.StatusCode))
		if msg != "" && msg != s {
			s += ": " + msg
		}
		if er.StatusCode == http.StatusTooManyRequests || er.StatusCode >= 500 {
			s += " (after retries)"
		}
		return s
	}
	if errors.Is(err, errListChanged) {
		return err.Error()
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return "timeout: " + redact.Line(ue.Err.Error(), redact.MaxLine)
		}
		return redact.Line(ue.Err.Error(), redact.MaxLine)
	}
	return "malformed answer: " + redact.Line(err.Error(), redact.MaxLine)
}

// finish sorts everything into the deterministic order of Inventory.
func (c *collector) finish() *inventory.Inventory {
	inv := c.inv
	order := map[inventory.Kind]int{}
	for i, k := range inventory.Kinds {
		order[k] = i
	}
	for _, t := range c.pats {
		inv.Tokens = append(inv.Tokens, *t)
	}
	for _, t := range c.others {
		inv.Tokens = append(inv.Tokens, *t)
	}
	slices.SortFunc(inv.Tokens, func(a, b inventory.Token) int {
		return cmp.Or(cmp.Compare(order[a.Kind], order[b.Kind]), cmp.Compare(a.ID, b.ID))
	})
	for _, p := range c.projects {
		inv.Projects = append(inv.Projects, *p)
	}
	slices.SortFunc(inv.Projects, func(a, b inventory.Project) int { return cmp.Compare(a.Resource.ID, b.Resource.ID) })
	slices.SortFunc(inv.Gaps, func(a, b inventory.Gap) int {
		return cmp.Or(strings.Compare(a.Resource, b.Resource), strings.Compare(a.What, b.What))
	})
	return &inv
}

// resource names for gaps.
func groupName(path string, id int64) string {
	if path == "" {
		return fmt.Sprintf("group %d", id)
	}
	return "group " + path
}

func projectName(path string, id int64) string {
	if path == "" {
		return fmt.Sprintf("project %d", id)
	}
	return "project " + path
}
