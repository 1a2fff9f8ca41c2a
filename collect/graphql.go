package collect

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/tokenaudit/tokenaudit/inventory"
)

// GitLab's GraphQL API serves per-project and per-user facts for up to 100
// projects or users in one request (https://docs.gitlab.com/api/graphql/),
// where REST needs a request per project or resource. The collector reads
// three facts through it:
//   - a project's pipeline triggers (Project.pipelineTriggers, GitLab 16.3);
//   - a project's inbound CI/CD job token setting
//     (Project.ciCdSettings.inboundJobTokenScopeEnabled);
//   - in instance mode, the access level of project and group access
//     tokens: their bot user's membership in its project or group
//     (Query.users with UserCore.projectMemberships / groupMemberships).
//
// Each fact falls back to its REST calls on its own, once per run and said
// at info level, when this GitLab's GraphQL lacks a field (it answers HTTP
// 200 with "Field 'x' doesn't exist on type 'Y'") or has no GraphQL at all.
// A batch GitLab finds too complex or too slow is halved; a project the
// caller may not administer becomes the same gap the REST call would make;
// a project or user the answer leaves out is read over REST. Nothing is
// lost and nothing is read twice.

// gqlBatch is the most projects or users asked for in one request: GraphQL's
// default maximum page size (https://docs.gitlab.com/api/graphql/#limits).
const gqlBatch = 100

// fact is one of the things read through GraphQL.
type fact int

const (
	factTriggers fact = iota
	factScope
	factLevels
	// factTokens is which projects' access token lists to read in groups
	// mode: those with a bot member (graphql_projects.go).
	factTokens
	factCount
)

var factNames = [factCount]string{"pipeline triggers", "job token scope", "resource token access levels", "project access tokens"}

// factSet is a set of facts.
type factSet uint8

func setOf(fs ...fact) factSet {
	var s factSet
	for _, f := range fs {
		s |= 1 << f
	}
	return s
}

func (s factSet) has(f fact) bool { return s&(1<<f) != 0 }

// only keeps of s the facts keep says.
func (s factSet) only(keep func(fact) bool) factSet {
	var out factSet
	for f := range factCount {
		if s.has(f) && keep(f) {
			out |= 1 << f
		}
	}
	return out
}

// gqlError is one entry of a GraphQL answer's errors.
type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// graphqlState is what one run learned of this GitLab's GraphQL: the facts
// it read over REST instead, and why.
type graphqlState struct {
	mu  sync.Mutex
	off [factCount]string

	// The run's first GraphQL request goes alone: against a GitLab without
	// GraphQL it is the one probe, and the requests that waited for it
	// then fail with its error instead of asking again.
	probe  sync.Mutex
	probed bool
	down   error // the probe's failure when it showed no GraphQL
}

// gqlOn reports whether f is still read through GraphQL.
func (c *collector) gqlOn(f fact) bool {
	if c.opts.RESTOnly {
		return false
	}
	c.gql.mu.Lock()
	defer c.gql.mu.Unlock()
	return c.gql.off[f] == ""
}

// gqlOff turns f over to REST for the rest of the run, said once.
func (c *collector) gqlOff(f fact, why string) {
	c.gql.mu.Lock()
	defer c.gql.mu.Unlock()
	if c.gql.off[f] != "" {
		return
	}
	c.gql.off[f] = why
	c.log.Info("reading "+factNames[f]+" over REST: "+why, "fact", factNames[f])
}

// graphql posts one query with client-go's GraphQL client and decodes the
// answer's data into out. GitLab answers most errors with HTTP 200 and an
// errors list beside whatever data it could give; those are returned, not
// failed on. err is a failed exchange: an HTTP error status, a broken or
// malformed answer.
func (c *collector) graphql(ctx context.Context, query string, vars map[string]any, out any) ([]gqlError, error) {
	st := &c.gql
	st.probe.Lock()
	if st.probed {
		st.probe.Unlock()
		if st.down != nil {
			return nil, st.down
		}
		return c.postGraphQL(ctx, query, vars, out)
	}
	defer st.probe.Unlock()
	errs, err := c.postGraphQL(ctx, query, vars, out)
	if ctx.Err() == nil {
		st.probed = true
		if err != nil && noGraphQL(err) {
			st.down = err
		}
	}
	return errs, err
}

// postGraphQL is one exchange of graphql. An answer that shows this GitLab
// serves no GraphQL to the caller turns every fact over to REST.
func (c *collector) postGraphQL(ctx context.Context, query string, vars map[string]any, out any) ([]gqlError, error) {
	errs, err := c.postGraphQLOnce(ctx, query, vars, out)
	if err != nil && ctx.Err() == nil && noGraphQL(err) {
		why := "GitLab's GraphQL API is not available (" + errorReason(err) + ")"
		for f := range factCount {
			c.gqlOff(f, why)
		}
	}
	return errs, err
}

func (c *collector) postGraphQLOnce(ctx context.Context, query string, vars map[string]any, out any) ([]gqlError, error) {
	var errs []gqlError
	_, err := c.exchange(ctx, "graphql", func(w io.Writer) (*gitlab.Response, error) {
		resp, err := c.client.GraphQL.Do(gitlab.GraphQLQuery{Query: query, Variables: vars}, w, gitlab.WithContext(ctx))
		// GraphQLResponseError keeps the HTTP error but does not unwrap to it.
		var ge *gitlab.GraphQLResponseError
		if errors.As(err, &ge) && ge.Err != nil {
			err = ge.Err
		}
		return resp, err
	}, func(b []byte) error {
		var a struct {
			Data   json.RawMessage `json:"data"`
			Errors []gqlError      `json:"errors"`
		}
		if err := json.Unmarshal(b, &a); err != nil {
			return err
		}
		errs = a.Errors
		if len(a.Data) > 0 && string(a.Data) != "null" {
			return json.Unmarshal(a.Data, out)
		}
		if len(a.Errors) == 0 {
			return errors.New("a GraphQL answer with neither data nor errors")
		}
		return nil
	})
	return errs, err
}

// noGraphQL reports whether a failed exchange means this GitLab serves no
// GraphQL to this caller: no such route (an old GitLab, a proxy that
// blocks it) or a refusal of the endpoint itself.
func noGraphQL(err error) bool {
	if missingRoute(err) {
		return true
	}
	for _, code := range []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusMethodNotAllowed} {
		if gitlab.HasStatusCode(err, code) {
			return true
		}
	}
	return false
}

// undefinedField matches graphql-ruby's message for a field or argument
// this GitLab's schema does not have.
var undefinedField = regexp.MustCompile(`^Field '(\w+)' doesn't (?:exist on type|accept argument) '(\w+)'`)

// tooBig reports GitLab's refusals of a query for its size or its time: the
// complexity and depth limits (https://docs.gitlab.com/api/graphql/#limits)
// and the request timeout.
func tooBig(e gqlError) bool {
	m := strings.ToLower(e.Message)
	return strings.Contains(m, "exceeds max complexity") || strings.Contains(m, "exceeds max depth") ||
		strings.Contains(m, "timed out") || strings.Contains(m, "timeout")
}

// deniedMessage is GitLab's error for a field the caller may not read
// (Gitlab::Graphql::Authorize, RESOURCE_ACCESS_ERROR).
const deniedMessage = "you don't have permission to perform this action"

// missingFact says which fact an undefined field belongs to; ok is false
// for a field of the query's frame (projects, users, pageInfo), which ends
// every fact the query carries.
func missingFact(e gqlError) (f fact, field string, ok bool) {
	m := undefinedField.FindStringSubmatch(e.Message)
	if m == nil {
		return 0, "", false
	}
	field, typ := m[1], m[2]
	switch {
	case field == "pipelineTriggers" || strings.HasPrefix(typ, "PipelineTrigger"):
		return factTriggers, field, true
	case field == "ciCdSettings" || typ == "ProjectCiCdSetting":
		return factScope, field, true
	case field == "projectMembers" || typ == "MemberInterface" || typ == "MemberInterfaceConnection":
		return factTokens, field, true
	case field == "projectMemberships" || field == "groupMemberships" || typ == "ProjectMember" || typ == "GroupMember" || typ == "AccessLevel":
		return factLevels, field, true
	}
	return 0, field, false
}

// errorIndex is the position in a batch's nodes an error's path points
// into ("projects", "nodes", 3, ...), or -1.
func errorIndex(e gqlError) int {
	if len(e.Path) >= 3 {
		if n, ok := e.Path[2].(float64); ok {
			return int(n)
		}
	}
	return -1
}

// errorFact is the fact an error about one project's field is about.
func errorFact(e gqlError) fact {
	switch errorField(e) {
	case "ciCdSettings":
		return factScope
	case "projectMembers":
		return factTokens
	}
	return factTriggers
}

// errorField is the field an error's path ends in below the node.
func errorField(e gqlError) string {
	if len(e.Path) >= 4 {
		if s, ok := e.Path[3].(string); ok {
			return s
		}
	}
	return ""
}

// globalID is GitLab's global ID of a record (https://docs.gitlab.com/api/graphql/#global-ids).
func globalID(model string, id int64) string {
	return "gid://gitlab/" + model + "/" + strconv.FormatInt(id, 10)
}

// idOf is the number at the end of a global ID, or 0.
func idOf(gid string) int64 {
	i := strings.LastIndexByte(gid, '/')
	n, err := strconv.ParseInt(gid[i+1:], 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return n
}

func batches[T any](items []T) [][]T {
	var out [][]T
	for len(items) > 0 {
		n := min(gqlBatch, len(items))
		out = append(out, items[:n])
		items = items[n:]
	}
	return out
}

// restWork is what a batch leaves to REST: per project, the facts GraphQL
// did not give, each once (several errors may name one project's field).
type restWork struct {
	mu       sync.Mutex
	seen     map[[2]int64]bool // (fact, project)
	triggers []inventory.Resource
	scope    []inventory.Resource
	tokens   []inventory.Resource
	// tokensFor are the projects whose access token lists are wanted.
	tokensFor map[int64]bool
}

func (w *restWork) add(f fact, res inventory.Resource) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.seen == nil {
		w.seen = map[[2]int64]bool{}
	}
	k := [2]int64{int64(f), res.ID}
	if w.seen[k] || f == factTokens && !w.tokensFor[res.ID] {
		return
	}
	w.seen[k] = true
	switch f {
	case factTriggers:
		w.triggers = append(w.triggers, res)
	case factScope:
		w.scope = append(w.scope, res)
	case factTokens:
		w.tokens = append(w.tokens, res)
	}
}

// addAll adds the projects for the facts of want.
func (w *restWork) addAll(projects []inventory.Resource, want factSet) {
	for _, res := range projects {
		for f := range factCount {
			if want.has(f) {
				w.add(f, res)
			}
		}
	}
}

// denyGap records a field GitLab refused for one project, as the REST
// call's 403 would.
func (c *collector) denyGap(res inventory.Resource, f fact, reason string) {
	c.addGap(inventory.Gap{Resource: projectName(res.Path, res.ID), What: factNames[f], Kind: inventory.GapPermission, Reason: reason})
}

// gqlReason is a gap's reason for a GraphQL error; addGap redacts it.
func gqlReason(e gqlError) string { return "GraphQL: " + e.Message }
