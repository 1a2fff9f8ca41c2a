package collect

import (
	"log/slog"
	"time"

	"github.com/tokenaudit/tokenaudit/inventory"
)

// Options configure Collect. The zero value works: automatic mode,
// concurrency DefaultConcurrency, every source on, no progress, no logging.
type Options struct {
	// Mode picks the sources; ModeAuto (or "") chooses from the caller:
	// groups when Groups is set (an administrator too: the groups narrow the
	// audit), else instance for an administrator, else self.
	Mode inventory.Mode
	// Groups are the full paths (or numeric IDs) of the top-level groups to
	// audit in groups mode.
	Groups []string
	// Concurrency bounds the requests in flight; <= 0 means DefaultConcurrency.
	Concurrency int
	// SkipTriggers and SkipJobTokenScope turn off the per-project calls for
	// pipeline triggers and CI job token scope (each costs a request per
	// project).
	SkipTriggers      bool
	SkipJobTokenScope bool
	// RESTOnly reads every fact over REST: no request to GitLab's GraphQL
	// API, which otherwise batches the per-project facts (triggers, the
	// job token setting) and, in instance mode, the access levels of
	// resource tokens, 100 projects or users a request.
	RESTOnly bool
	// SkipTriggerCreatedAt reads pipeline triggers from GraphQL alone:
	// GitLab's PipelineTrigger type has no creation time, which REST's
	// trigger list has, so by default the triggers of every project that
	// has any are read over REST (a request per such project). With it
	// set a trigger's creation time is unknown, and the rules that need it
	// (TA-050, and TA-063 for a trigger never used) do not judge it.
	SkipTriggerCreatedAt bool
	// SkipImpersonation (instance mode, and groups mode as an
	// administrator, who reads the members' tokens) does not ask each person holding
	// tokens for their impersonation tokens: GitLab's list of all personal
	// access tokens does not flag them, and no batched source does, so
	// this costs a request per such person. Skipped, impersonation tokens
	// are reported as personal tokens, and a gap says so; no rule judges
	// the two kinds differently.
	SkipImpersonation bool
	// PersonReach (instance mode only) reads the direct memberships of each
	// person and service account holding an active personal,
	// impersonation or service-account token, and sets
	// Owner.ProjectsReachable to the projects they reach: direct project
	// memberships and every project below a group membership. Cost:
	// through GraphQL one request per 100 such owners, and one more per
	// further 100 memberships of an owner; over REST two requests per owner
	// (GET /users/:id/memberships with type=Project and type=Namespace,
	// which leave out access requests), more past 100 of either. Off,
	// ProjectsReachable stays -1 (unknown).
	PersonReach bool
	// BaseURL is reported in Inventory.GitLab.URL.
	BaseURL string
	// Progress, when set, receives progress events. It is called from the
	// collector's goroutines, one call at a time.
	Progress func(Progress)
	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger
	// Redact, when set, removes secrets (the caller's token) from the text
	// of GitLab's answers before a gap's reason keeps it or the debug log
	// shows it: a broken or hostile GitLab may echo the token it was sent.
	// Token shapes are removed either way.
	Redact func(string) string
	// Clock times the collection (Stats.Duration); nil: time.Now. The
	// collector judges nothing by it: the inventory keeps GitLab's facts,
	// and audit judges them at its own now.
	Clock func() time.Time
	// MaxDuration bounds the whole collection; <= 0: no bound. Past it the
	// reads in flight stop, and Collect returns what it read with one error
	// gap that says so and names the reads cut off, instead of an error:
	// a GitLab that answers ever more slowly ends in an incomplete report,
	// not in a run that never ends. It is measured on the machine's
	// monotonic clock, not on Clock.
	MaxDuration time.Duration

	// maxPages overrides the cap on the pages of one list (tests).
	maxPages int
}

// DefaultConcurrency is the number of requests in flight when Options does
// not say. 16 saturates GitLab.com's 2,000 requests a minute as long as a
// request takes under 480 ms, and without a rate limit halves the wall time
// of 8 while staying within 1.2 times the latency bound; beyond it the
// gain shrinks and the load on a small GitLab's Puma threads grows
// (docs/performance.md, "Default concurrency").
const DefaultConcurrency = 16

// Progress is a snapshot of a running collection, for a progress bar.
type Progress struct {
	Planned  int // resources planned (lists and per-resource reads)
	Done     int // resources done
	Tokens   int // tokens found so far
	Requests int // HTTP requests made so far
}
