package gitlabsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
)

// gqlAnswer is a decoded GraphQL answer.
type gqlAnswer struct {
	status int
	raw    []byte
	Data   map[string]any `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Path       []any          `json:"path"`
		Locations  []gqlLocation  `json:"locations"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

// postGQL sends one GraphQL query to /api/graphql with a PRIVATE-TOKEN
// (none if token is "").
func postGQL(t *testing.T, s *Server, token, query string, vars map[string]any) gqlAnswer {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, s.URL()+"/api/graphql", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("PRIVATE-TOKEN", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /api/graphql: %v", err)
	}
	defer resp.Body.Close()
	a := gqlAnswer{status: resp.StatusCode}
	a.raw, _ = io.ReadAll(resp.Body)
	if strings.Contains(resp.Header.Get("Content-Type"), "json") {
		if err := json.Unmarshal(a.raw, &a); err != nil {
			t.Fatalf("decode %s: %v", a.raw, err)
		}
	}
	return a
}

// messages lists the answer's error messages.
func (a gqlAnswer) messages() []string {
	var out []string
	for _, e := range a.Errors {
		out = append(out, e.Message)
	}
	return out
}

// dig follows keys and indices into decoded JSON.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// complexityOf computes a query's complexity and depth as the server
// would, without serving it.
func complexityOf(t *testing.T, w *World, query string) (complexity, depth int) {
	t.Helper()
	ix := buildIndex(w)
	q := &gqlReq{ix: ix, schema: ix.gqlSchemaFor(), vars: map[string]any{}}
	doc, err := parser.ParseQuery(&ast.Source{Input: query})
	if err != nil {
		t.Fatal(err)
	}
	if errs := validator.ValidateWithRules(q.schema, doc, gqlValidationRules); len(errs) > 0 {
		t.Fatalf("%s: %v", query, errs)
	}
	op := doc.Operations[0]
	return q.complexity(q.schema.Query, op.SelectionSet), q.depth(q.schema.Query, op.SelectionSet)
}

// The complexities below are worked out by hand from GitLab's rules
// (graphql_exec.go): a field 1 + children; a resolver field children + 1
// (+1 sort, +5 search), a resolver connection that × (1 + limit × 0.01),
// truncated.
func TestGraphQLComplexityByHand(t *testing.T) {
	w := testWorld()
	for _, c := range []struct {
		query      string
		complexity int
		depth      int
	}{
		// pipelineTriggers: count 1 + nodes{id} 2 = 3, +1 = 4, × 2 = 8;
		// ciCdSettings (no resolver) 1 + 1 = 2; nodes 1 + (1 + 2 + 8) = 12;
		// projects (12 + 1) × 2 = 26.
		{`{ projects(ids: ["gid://gitlab/Project/20"], first: 100) { nodes { id ciCdSettings { inboundJobTokenScopeEnabled } pipelineTriggers(first: 100) { count nodes { id } } } } }`, 26, 5},
		// The same with first: 10 on both: triggers 4 × 1.1 = 4.4 → 4;
		// nodes 1 + 1 + 2 + 4 = 8; projects 9 × 1.1 = 9.9 → 9.
		{`{ projects(first: 10) { nodes { id ciCdSettings { inboundJobTokenScopeEnabled } pipelineTriggers(first: 10) { count nodes { id } } } } }`, 9, 5},
		// No first: the maximum page size, 100.
		{`{ projects { nodes { id } } }`, 6, 3},
		// search +5, sort +1: (1 + 1 + 5 + 1) × 1.5 = 12.
		{`{ projects(first: 50, search: "app", sort: "id_asc") { count } }`, 12, 2},
		// users has a default sort (created_desc): (2 + 1 + 1) × 2 = 8.
		{`{ users(ids: ["gid://gitlab/User/5"]) { nodes { id } } }`, 8, 3},
		// currentUser (resolver, no connection): 1 + 1 = 2.
		{`{ currentUser { id } }`, 2, 2},
		// projectMemberships is a plain connection: no multiplier.
		// memberships 1 + nodes(1 + id 1 + accessLevel 2) = 5; currentUser 6.
		{`{ currentUser { projectMemberships(first: 100) { nodes { id accessLevel { integerValue } } } } }`, 6, 5},
		// Repeated and fragment fields merge by response key; aliases do not.
		{`{ currentUser { id id ...F } } fragment F on User { id username }`, 3, 2},
		{`{ currentUser { a: id b: id } }`, 3, 2},
		// Group.projects is a resolver connection: (2 + 1) × 1.2 = 3.6 → 3;
		// group (3 + 1) = 4.
		{`{ group(fullPath: "top") { projects(first: 20) { nodes { id } } } }`, 4, 4},
	} {
		gotC, gotD := complexityOf(t, w, c.query)
		if gotC != c.complexity || gotD != c.depth {
			t.Errorf("%s\ncomplexity %d depth %d, want %d and %d", c.query, gotC, gotD, c.complexity, c.depth)
		}
	}
}

// aliasedProjects is n aliased projects(first: 100) lists of 10 each:
// (nodes 1 + 3 + 1) × 2 = 10.
func aliasedProjects(n int) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		fmt.Fprintf(&b, " p%d: projects(first: 100) { nodes { id name fullPath } }", i)
	}
	b.WriteString(" }")
	return b.String()
}

func TestGraphQLComplexityLimits(t *testing.T) {
	w := testWorld()
	s := NewServer(w, Options{})
	defer s.Close()
	if c, _ := complexityOf(t, w, aliasedProjects(1)); c != 10 {
		t.Fatalf("one aliased list costs %d, want 10", c)
	}
	for _, c := range []struct {
		name, token string
		n           int
		want        string
	}{
		{"anonymous at 200", "", 20, ""},
		{"anonymous over 200", "", 21, "Query has complexity of 210, which exceeds max complexity of 200"},
		{"user at 250", tokBob, 25, ""},
		{"user over 250", tokBob, 26, "Query has complexity of 260, which exceeds max complexity of 250"},
		{"administrator over 250", tokAdmin, 30, ""},
		{"administrator over 300", tokAdmin, 31, "Query has complexity of 310, which exceeds max complexity of 300"},
	} {
		a := postGQL(t, s, c.token, aliasedProjects(c.n), nil)
		if a.status != http.StatusOK {
			t.Errorf("%s: status %d", c.name, a.status)
		}
		if c.want == "" {
			if len(a.Errors) > 0 || a.Data == nil {
				t.Errorf("%s: errors %v", c.name, a.messages())
			}
			continue
		}
		if !slices.Equal(a.messages(), []string{c.want}) || a.Data != nil {
			t.Errorf("%s: %s, want only the error %q", c.name, a.raw, c.want)
		}
	}
}

// nestedGroups asks for group(fullPath: "top/sub") and n parents: depth n + 2.
func nestedGroups(n int) string {
	return `{ group(fullPath: "top/sub") { ` + strings.Repeat("parent { ", n) + "id" + strings.Repeat(" }", n) + " } }"
}

func TestGraphQLDepthLimits(t *testing.T) {
	w := testWorld()
	s := NewServer(w, Options{})
	defer s.Close()
	if _, d := complexityOf(t, w, nestedGroups(3)); d != 5 {
		t.Fatalf("depth of three parents: %d, want 5", d)
	}
	for _, c := range []struct {
		token string
		n     int
		want  string
	}{
		{tokAlice, 18, ""},
		{tokAlice, 19, "Query has depth of 21, which exceeds max depth of 20"},
		{"", 13, ""},
		{"", 14, "Query has depth of 16, which exceeds max depth of 15"},
	} {
		a := postGQL(t, s, c.token, nestedGroups(c.n), nil)
		got := strings.Join(a.messages(), "; ")
		if got != c.want {
			t.Errorf("%d parents (token %v): errors %q, want %q", c.n, c.token != "", got, c.want)
		}
	}
}

func TestGraphQLValidationWording(t *testing.T) {
	s := NewServer(testWorld(), Options{})
	defer s.Close()
	a := postGQL(t, s, tokBob, "{ project(fullPath: \"top/app\") {\n  name\n  nope\n} }", nil)
	if a.status != http.StatusOK || len(a.Errors) != 1 || a.Data != nil {
		t.Fatalf("unknown field: %d %s", a.status, a.raw)
	}
	e := a.Errors[0]
	wantExt := map[string]any{"code": "undefinedField", "typeName": "Project", "fieldName": "nope"}
	if e.Message != "Field 'nope' doesn't exist on type 'Project'" || fmt.Sprint(e.Extensions) != fmt.Sprint(wantExt) ||
		len(e.Locations) != 1 || e.Locations[0] != (gqlLocation{Line: 3, Column: 3}) {
		t.Errorf("unknown field: %s", a.raw)
	}
	if !bytes.Contains(a.raw, []byte(`"extensions":{"code":"undefinedField","typeName":"Project","fieldName":"nope"}`)) {
		t.Errorf("extensions not in graphql-ruby's order: %s", a.raw)
	}

	a = postGQL(t, s, tokBob, `{ project(fullPath: "top/app", membership: true) { name } }`, nil)
	if got := a.messages(); !slices.Equal(got, []string{"Field 'project' doesn't accept argument 'membership'"}) ||
		a.Errors[0].Extensions["code"] != "argumentNotAccepted" {
		t.Errorf("unknown argument: %s", a.raw)
	}
	a = postGQL(t, s, tokBob, `{ project { name } }`, nil)
	if got := a.messages(); !slices.Equal(got, []string{"Field 'project' is missing required arguments: fullPath"}) {
		t.Errorf("missing argument: %s", a.raw)
	}
	a = postGQL(t, s, tokBob, `{ project(fullPath: "top/app") }`, nil)
	if got := a.messages(); !slices.Equal(got, []string{"Field must have selections (field 'project' returns Project but has no selections. Did you mean 'project { ... }'?)"}) {
		t.Errorf("no selections: %s", a.raw)
	}
	a = postGQL(t, s, tokBob, `{ project(fullPath: "top/app") { name`, nil)
	if a.status != http.StatusOK || len(a.Errors) != 1 || len(a.Errors[0].Locations) != 1 || a.Data != nil {
		t.Errorf("parse error: %d %s", a.status, a.raw)
	}
	a = postGQL(t, s, tokBob, `query A { currentUser { id } } query B { currentUser { username } }`, nil)
	if got := a.messages(); !slices.Equal(got, []string{"An operation name is required"}) {
		t.Errorf("two operations: %s", a.raw)
	}
	a = postGQL(t, s, tokBob, `mutation { anything }`, nil)
	if got := a.messages(); len(got) == 0 || got[0] != "Schema is not configured for mutations" {
		t.Errorf("mutation: %s", a.raw)
	}
	a = postGQL(t, s, tokBob, ``, nil)
	if got := a.messages(); !slices.Equal(got, []string{"No query string was present"}) {
		t.Errorf("empty query: %s", a.raw)
	}
	a = postGQL(t, s, tokBob, "{ currentUser { id } }"+strings.Repeat(" ", gqlMaxQuerySize), nil)
	if a.status != http.StatusUnprocessableEntity || !slices.Equal(a.messages(), []string{"Query too large"}) {
		t.Errorf("long query: %d %s", a.status, a.raw)
	}
}

// Operation names, variables, aliases, fragments and __typename.
func TestGraphQLExecution(t *testing.T) {
	s := NewServer(testWorld(), Options{})
	defer s.Close()
	body, _ := json.Marshal(map[string]any{
		"query": `query A { currentUser { id } }
query B($path: ID!) {
  p: project(fullPath: $path) { __typename ...P ... on Project { fullPath } }
  currentUser { __typename username ... on User { bot } }
}
fragment P on Project { name id n: name group @include(if: false) { id } }`,
		"operationName": "B",
		"variables":     `{"path": "TOP/APP"}`, // a JSON string, as GitLab also accepts
	})
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/api/graphql", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tokAlice)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := `{"data":{"p":{"__typename":"Project","name":"App","id":"gid://gitlab/Project/20","n":"App","fullPath":"top/app"},` +
		`"currentUser":{"__typename":"CurrentUser","username":"alice","bot":false}}}`
	if resp.StatusCode != http.StatusOK || string(raw) != want {
		t.Errorf("got %d %s\nwant %s", resp.StatusCode, raw, want)
	}

	// GET with ?query= is served too (GitLab routes GET and POST).
	greq, _ := http.NewRequest(http.MethodGet, s.URL()+"/api/graphql?query="+url.QueryEscape(`{ currentUser { username } }`), nil)
	greq.Header.Set("PRIVATE-TOKEN", tokAlice)
	gresp, err := http.DefaultClient.Do(greq)
	if err != nil {
		t.Fatal(err)
	}
	graw, _ := io.ReadAll(gresp.Body)
	gresp.Body.Close()
	if gresp.StatusCode != http.StatusOK || string(graw) != `{"data":{"currentUser":{"username":"alice"}}}` {
		t.Errorf("GET: %d %s", gresp.StatusCode, graw)
	}
	if n := s.Counts()["GET /api/graphql"]; n != 1 {
		t.Errorf("GET counted %d times", n)
	}

	a := postGQL(t, s, tokAlice, `query($ids: [ID!]) { projects(ids: $ids) { count } }`, map[string]any{"ids": map[string]any{"a": 1}})
	if len(a.Errors) != 1 || a.Errors[0].Message != "Variable $ids of type [ID!] was provided invalid value" || a.Data != nil {
		t.Errorf("bad variable: %s", a.raw)
	}
	// A single value where a list is expected is a list of one (input
	// coercion); 5 is no global ID.
	a = postGQL(t, s, tokAlice, `query($ids: [ID!]) { projects(ids: $ids) { count } }`, map[string]any{"ids": 5})
	if !slices.Equal(a.messages(), []string{"5 is not a valid GitLab ID."}) {
		t.Errorf("a single ID: %s", a.raw)
	}
}

func TestGraphQLAuthentication(t *testing.T) {
	s := NewServer(testWorld(), Options{})
	defer s.Close()
	for _, c := range []struct {
		name, token string
		status      int
		body        string
	}{
		{"unknown", "glpat-nope", http.StatusUnauthorized, `{"errors":[{"message":"Invalid token"}]}`},
		{"expired", tokAliceExpired, http.StatusUnauthorized, `{"errors":[{"message":"Invalid token"}]}`},
		{"revoked", tokAliceRevoked, http.StatusUnauthorized, `{"errors":[{"message":"Invalid token"}]}`},
		{"read_user only", tokAliceUser, http.StatusUnauthorized, `{"errors":[{"message":"Invalid token"}]}`},
		{"blocked owner", tokDave, http.StatusForbidden, `{"errors":[{"message":"API not accessible for user"}]}`},
	} {
		a := postGQL(t, s, c.token, `{ currentUser { id } }`, nil)
		if a.status != c.status || string(a.raw) != c.body {
			t.Errorf("%s: %d %s, want %d %s", c.name, a.status, a.raw, c.status, c.body)
		}
	}
	// Anonymous: public projects only, no current user.
	a := postGQL(t, s, "", `{ currentUser { id } projects { count nodes { fullPath } } }`, nil)
	if a.status != http.StatusOK || dig(a.Data, "currentUser") != nil || fmt.Sprint(dig(a.Data, "projects", "nodes")) != "[map[fullPath:open/site]]" {
		t.Errorf("anonymous: %d %s", a.status, a.raw)
	}
}

// A Developer of project 20 and Maintainer of 21: ciCdSettings is null
// without an error where it may not read it, pipelineTriggers and
// ciJobTokenScope null with GitLab's error, and the rest is kept.
func TestGraphQLPermissions(t *testing.T) {
	s := NewServer(testWorld(), Options{})
	defer s.Close()
	a := postGQL(t, s, tokBob, `{ projects(ids: ["gid://gitlab/Project/20", "gid://gitlab/Project/21", "gid://gitlab/Project/23"]) {
  count
  nodes { id maxAccessLevel { integerValue stringValue } ciCdSettings { inboundJobTokenScopeEnabled } pipelineTriggers { count nodes { id } } }
} }`, nil)
	if a.status != http.StatusOK {
		t.Fatalf("%d %s", a.status, a.raw)
	}
	// id_desc: 21 first. Project 23 (carol's, private) is not visible.
	wantData := `{"count":2,"nodes":[` +
		`{"id":"gid://gitlab/Project/21","maxAccessLevel":{"integerValue":40,"stringValue":"MAINTAINER"},"ciCdSettings":{"inboundJobTokenScopeEnabled":false},"pipelineTriggers":{"count":0,"nodes":[]}},` +
		`{"id":"gid://gitlab/Project/20","maxAccessLevel":{"integerValue":30,"stringValue":"DEVELOPER"},"ciCdSettings":null,"pipelineTriggers":null}]}`
	if got := strings.TrimSpace(string(a.raw)); !strings.Contains(got, `"data":{"projects":`+wantData+`}`) {
		t.Errorf("data: %s\nwant projects %s", a.raw, wantData)
	}
	if len(a.Errors) != 1 || a.Errors[0].Message != gqlResourceError ||
		fmt.Sprint(a.Errors[0].Path) != "[projects nodes 1 pipelineTriggers]" || len(a.Errors[0].Locations) != 1 {
		t.Errorf("errors: %s", a.raw)
	}
	a = postGQL(t, s, tokBob, `{ project(fullPath: "top/app") { ciJobTokenScope { inboundAllowlistCount } } }`, nil)
	if len(a.Errors) != 1 || a.Errors[0].Message != gqlResourceError || dig(a.Data, "project", "ciJobTokenScope") != nil {
		t.Errorf("ciJobTokenScope as Developer: %s", a.raw)
	}
	// Alice owns the group: the same project answers everything.
	a = postGQL(t, s, tokAlice, `{ project(fullPath: "top/app") {
  ciCdSettings { inboundJobTokenScopeEnabled jobTokenScopeEnabled }
  ciJobTokenScope { inboundAllowlistCount groupsAllowlistCount }
} }`, nil)
	want := `{"data":{"project":{"ciCdSettings":{"inboundJobTokenScopeEnabled":true,"jobTokenScopeEnabled":false},"ciJobTokenScope":{"inboundAllowlistCount":1,"groupsAllowlistCount":1}}}}`
	if string(a.raw) != want {
		t.Errorf("as Owner: %s\nwant %s", a.raw, want)
	}
	// A project nobody may see answers null, no error.
	a = postGQL(t, s, tokBob, `{ project(fullPath: "carol/notes") { id } }`, nil)
	if string(a.raw) != `{"data":{"project":null}}` {
		t.Errorf("invisible project: %s", a.raw)
	}
	// Malformed and mistyped global IDs; too many full paths.
	a = postGQL(t, s, tokBob, `{ projects(ids: ["20"]) { count } }`, nil)
	if !slices.Equal(a.messages(), []string{"20 is not a valid GitLab ID."}) || dig(a.Data, "projects") != nil || a.Data == nil {
		t.Errorf("malformed gid: %s", a.raw)
	}
	a = postGQL(t, s, tokBob, `{ projects(ids: ["gid://gitlab/User/3"]) { count } }`, nil)
	if !slices.Equal(a.messages(), []string{"gid://gitlab/User/3 is not a valid ID for Project."}) {
		t.Errorf("gid of a user: %s", a.raw)
	}
	paths := make([]string, 51)
	for i := range paths {
		paths[i] = fmt.Sprintf("top/p%d", i)
	}
	a = postGQL(t, s, tokBob, `query($p: [String!]) { projects(fullPaths: $p) { count } }`, map[string]any{"p": paths})
	if !slices.Equal(a.messages(), []string{"You cannot provide more than 50 full_paths"}) {
		t.Errorf("51 full paths: %s", a.raw)
	}
}

// The tokens PipelineTrigger shows are those of GET /projects/:id/triggers.
func TestGraphQLTriggerTokensMatchREST(t *testing.T) {
	s := NewServer(testWorld(), Options{})
	defer s.Close()
	for _, tok := range []string{tokAlice, tokAdmin} {
		resp := doGet(t, s, tok, "/projects/20/triggers")
		var rest []struct {
			ID    int64  `json:"id"`
			Token string `json:"token"`
		}
		if err := json.Unmarshal(resp.body, &rest); err != nil || len(rest) != 2 {
			t.Fatalf("REST triggers: %v (%d)", err, len(rest))
		}
		a := postGQL(t, s, tok, `{ project(fullPath: "top/app") { pipelineTriggers { nodes { id token hasTokenExposed owner { username } } } } }`, nil)
		nodes, _ := dig(a.Data, "project", "pipelineTriggers", "nodes").([]any)
		if len(a.Errors) > 0 || len(nodes) != 2 {
			t.Fatalf("GraphQL triggers: %s", redact(string(a.raw), tokTriggerAlice))
		}
		for _, r := range rest {
			i := slices.IndexFunc(nodes, func(n any) bool { return dig(n, "id") == gid("Ci::Trigger", r.ID) })
			if i < 0 {
				t.Errorf("trigger %d missing", r.ID)
				continue
			}
			if dig(nodes[i], "token") != r.Token {
				t.Errorf("trigger %d: GraphQL token differs from REST's", r.ID)
			}
			exposed := strings.HasPrefix(r.Token, "glptt-")
			if dig(nodes[i], "hasTokenExposed") != exposed {
				t.Errorf("trigger %d: hasTokenExposed %v, REST shows the token in full: %v", r.ID, dig(nodes[i], "hasTokenExposed"), exposed)
			}
		}
	}
}

func TestGraphQLVersionGating(t *testing.T) {
	q := `{ project(fullPath: "top/app") { pipelineTriggers { nodes { id } } } }`
	for _, c := range []struct {
		version, query, want string
	}{
		{"16.2.0-ee", q, "Field 'pipelineTriggers' doesn't exist on type 'Project'"},
		{"16.3.0-ee", q, ""},
		{"16.10.0-ee", `{ project(fullPath: "top/app") { pipelineTriggers { nodes { expiresAt } } } }`, "Field 'expiresAt' doesn't exist on type 'PipelineTrigger'"},
		{"16.11.0-ee", `{ project(fullPath: "top/app") { pipelineTriggers { nodes { expiresAt } } } }`, ""},
		{"16.10.0-ee", `{ project(fullPath: "top/app") { ciJobTokenScope { inboundAllowlistCount } } }`, "Field 'ciJobTokenScope' doesn't exist on type 'Project'"},
		{"15.4.0-ce", `{ project(fullPath: "top/app") { ciCdSettings { inboundJobTokenScopeEnabled } } }`, "Field 'inboundJobTokenScopeEnabled' doesn't exist on type 'ProjectCiCdSetting'"},
		{"15.5.0-ce", `{ project(fullPath: "top/app") { ciCdSettings { inboundJobTokenScopeEnabled } } }`, ""},
	} {
		w := testWorld()
		w.Version = c.version
		s := NewServer(w, Options{})
		a := postGQL(t, s, tokAlice, c.query, nil)
		s.Close()
		if got := strings.Join(a.messages(), "; "); got != c.want {
			t.Errorf("%s %s: errors %q, want %q", c.version, c.query, got, c.want)
		}
	}
}

// A project's triggers paged three at a time to the end, forwards and
// backwards, with the ordering GitLab's keyset connection gives an
// unordered relation (ID descending).
func TestGraphQLNestedPagination(t *testing.T) {
	w := testWorld()
	var want []int64
	for i := int64(0); i < 8; i++ {
		id := 500 + i
		w.Triggers = append(w.Triggers, &Trigger{ID: id, ProjectID: 21, OwnerID: 3, Description: fmt.Sprint("t", i),
			CreatedAt: testNow, UpdatedAt: testNow, Value: fmt.Sprintf("glptt-page%020d", id)})
	}
	for i := int64(507); i >= 500; i-- {
		want = append(want, i)
	}
	s := NewServer(w, Options{})
	defer s.Close()
	const q = `query($after: String, $before: String, $first: Int, $last: Int) {
  projects(ids: ["gid://gitlab/Project/21"]) { nodes {
    pipelineTriggers(first: $first, after: $after, last: $last, before: $before) {
      count pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id } }
    }
  } }
}`
	page := func(vars map[string]any) (ids []int64, info map[string]any) {
		t.Helper()
		a := postGQL(t, s, tokBob, q, vars)
		conn := dig(a.Data, "projects", "nodes", 0, "pipelineTriggers")
		if len(a.Errors) > 0 || conn == nil || dig(conn, "count") != float64(8) {
			t.Fatalf("page %v: %s", vars, a.raw)
		}
		for _, e := range dig(conn, "edges").([]any) {
			var id int64
			fmt.Sscanf(dig(e, "node", "id").(string), "gid://gitlab/Ci::Trigger/%d", &id)
			ids = append(ids, id)
		}
		return ids, dig(conn, "pageInfo").(map[string]any)
	}
	var got []int64
	vars := map[string]any{"first": 3}
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("no end")
		}
		ids, info := page(vars)
		got = append(got, ids...)
		if info["hasPreviousPage"] != (pages > 0) {
			t.Errorf("page %d: hasPreviousPage %v", pages, info["hasPreviousPage"])
		}
		if info["hasNextPage"] != true {
			break
		}
		vars = map[string]any{"first": 3, "after": info["endCursor"]}
	}
	if !slices.Equal(got, want) {
		t.Errorf("forwards: %v, want %v", got, want)
	}
	got = nil
	vars = map[string]any{"last": 3}
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("no start")
		}
		ids, info := page(vars)
		got = append(ids, got...)
		if info["hasPreviousPage"] != true {
			break
		}
		vars = map[string]any{"last": 3, "before": info["startCursor"]}
	}
	if !slices.Equal(got, want) {
		t.Errorf("backwards: %v, want %v", got, want)
	}
	// first above the maximum page size is cut to 100; a cursor that is not
	// one is refused.
	if ids, _ := page(map[string]any{"first": 500}); len(ids) != 8 {
		t.Errorf("first: 500 gave %d", len(ids))
	}
	a := postGQL(t, s, tokBob, q, map[string]any{"after": "not a cursor"})
	if !slices.Equal(a.messages(), []string{"Please provide a valid cursor"}) {
		t.Errorf("bad cursor: %s", a.raw)
	}
}

// An ownerless trigger breaks PipelineTrigger.owner: UserCore!, so its node
// is null with graphql-ruby's error, and the others stay.
func TestGraphQLNonNullOwner(t *testing.T) {
	w := testWorld()
	w.Triggers[0].OwnerID = 0
	s := NewServer(w, Options{})
	defer s.Close()
	a := postGQL(t, s, tokAlice, `{ project(fullPath: "top/app") { pipelineTriggers { count nodes { id owner { id } } } } }`, nil)
	nodes := dig(a.Data, "project", "pipelineTriggers", "nodes")
	if fmt.Sprint(nodes) != "[map[id:gid://gitlab/Ci::Trigger/402 owner:map[id:gid://gitlab/User/2]] <nil>]" ||
		!slices.Equal(a.messages(), []string{"Cannot return null for non-nullable field PipelineTrigger.owner"}) ||
		fmt.Sprint(a.Errors[0].Path) != "[project pipelineTriggers nodes 1 owner]" {
		t.Errorf("%s", redact(string(a.raw), tokTriggerAlice))
	}
}

func TestGraphQLNoGraphQL(t *testing.T) {
	s := NewServer(testWorld(), Options{NoGraphQL: true})
	defer s.Close()
	a := postGQL(t, s, tokAlice, `{ currentUser { id } }`, nil)
	if a.status != http.StatusNotFound || !bytes.Contains(a.raw, []byte("404")) {
		t.Errorf("NoGraphQL: %d %s", a.status, a.raw)
	}
	if r := doGet(t, s, tokAlice, "/user"); r.status != http.StatusOK {
		t.Errorf("REST with NoGraphQL: %d", r.status)
	}
}

// Counting, rate limits and faults treat POST /api/graphql as a route.
func TestGraphQLMiddlewares(t *testing.T) {
	s := NewServer(testWorld(), Options{Faults: Faults{ErrorRate: 1, ErrorStatuses: []int{502}, Routes: []string{"POST /api/graphql"}}})
	defer s.Close()
	if a := postGQL(t, s, tokAlice, `{ currentUser { id } }`, nil); a.status != http.StatusBadGateway {
		t.Errorf("fault on POST /api/graphql: %d", a.status)
	}
	if r := doGet(t, s, tokAlice, "/user"); r.status != http.StatusOK {
		t.Errorf("REST outside the faulted route: %d", r.status)
	}
	if n := s.Counts()["POST /api/graphql"]; n != 1 {
		t.Errorf("counted %d GraphQL requests, want 1", n)
	}

	t0 := time.Unix(1_900_000_000, 0)
	rl := NewServer(testWorld(), Options{RateLimit: RateLimit{Requests: 2, Period: time.Minute}, Clock: func() time.Time { return t0 }})
	defer rl.Close()
	var statuses []int
	for range 3 {
		statuses = append(statuses, postGQL(t, rl, tokAlice, `{ currentUser { id } }`, nil).status)
	}
	if !slices.Equal(statuses, []int{200, 200, 429}) {
		t.Errorf("rate limit: %v", statuses)
	}
}

// Admin Mode: an administrator's token without the admin_mode scope is
// served as a user (its own projects), with the admin_mode scope as an
// administrator; the complexity limit follows the user's admin flag.
func TestGraphQLAdminMode(t *testing.T) {
	w := testWorld()
	w.Settings.AdminMode = true
	const tokAdminMode = "glpat-test-admin-mode-0000"
	w.Tokens = append(w.Tokens, &PersonalAccessToken{ID: 199, UserID: 1, Name: "am", Scopes: []string{"api", "admin_mode"},
		CreatedAt: testNow, Value: tokAdminMode})
	s := NewServer(w, Options{})
	defer s.Close()
	q := `{ projects { count } users { count } }`
	plain := postGQL(t, s, tokAdmin, q, nil)
	admin := postGQL(t, s, tokAdminMode, q, nil)
	if dig(plain.Data, "projects", "count") != float64(1) || dig(admin.Data, "projects", "count") != float64(4) {
		t.Errorf("projects without admin_mode %v, with %v; want 1 (public) and 4", dig(plain.Data, "projects", "count"), dig(admin.Data, "projects", "count"))
	}
	// Users: without admin mode the blocked user is left out.
	if dig(plain.Data, "users", "count") != float64(8) || dig(admin.Data, "users", "count") != float64(9) {
		t.Errorf("users without admin_mode %v, with %v; want 8 and 9", dig(plain.Data, "users", "count"), dig(admin.Data, "users", "count"))
	}
	if a := postGQL(t, s, tokAdmin, aliasedProjects(30), nil); len(a.Errors) > 0 {
		t.Errorf("administrator without admin_mode at 300: %v", a.messages())
	}
}

// Project.projectMembers: the direct members with relations: [DIRECT], the
// groups' above by default, bots flagged; null and an error for a caller
// who cannot read the project.
func TestGraphQLProjectMembers(t *testing.T) {
	w := testWorld()
	s := NewServer(w, Options{})
	defer s.Close()
	var p *Project
	for _, pr := range w.Projects {
		if pr.ID == 20 {
			p = pr
		}
	}
	members := func(a gqlAnswer) []string {
		var out []string
		nodes, _ := dig(a.Data, "project", "projectMembers", "nodes").([]any)
		for _, n := range nodes {
			out = append(out, fmt.Sprintf("%v %v bot:%v", dig(n, "__typename"), dig(n, "user", "id"), dig(n, "user", "bot")))
		}
		slices.Sort(out)
		return out
	}
	var direct, all []string
	for _, m := range p.Members {
		direct = append(direct, fmt.Sprintf("ProjectMember gid://gitlab/User/%d bot:%v", m.UserID, m.UserID == 5))
	}
	all = slices.Clone(direct)
	for g := range w.Groups {
		gr := w.Groups[g]
		if gr.ID != p.GroupID && gr.ID != 10 {
			continue
		}
		for _, m := range gr.Members {
			all = append(all, fmt.Sprintf("GroupMember gid://gitlab/User/%d bot:%v", m.UserID, m.UserID == 6))
		}
	}
	slices.Sort(direct)
	slices.Sort(all)
	if len(direct) == 0 || len(all) == len(direct) {
		t.Fatalf("project 20: %d direct, %d with the groups' members: the test checks nothing", len(direct), len(all))
	}
	q := `query($r: [ProjectMemberRelation!]) { project(fullPath: "top/app") { projectMembers(relations: $r, first: 100) { nodes { __typename user { id bot } } } } }`
	if a := postGQL(t, s, tokAdmin, q, map[string]any{"r": []string{"DIRECT"}}); !slices.Equal(members(a), direct) || len(a.Errors) > 0 {
		t.Errorf("DIRECT: %v, want %v (%s)", members(a), direct, a.raw)
	}
	if a := postGQL(t, s, tokAdmin, `{ project(fullPath: "top/app") { projectMembers { nodes { __typename user { id bot } } } } }`, nil); !slices.Equal(members(a), all) {
		t.Errorf("default relations: %v, want %v", members(a), all)
	}
	a := postGQL(t, s, tokCarol, q, map[string]any{"r": []string{"DIRECT"}})
	if dig(a.Data, "project") != nil && dig(a.Data, "project", "projectMembers") != nil {
		t.Errorf("a caller who cannot see the project: %s", a.raw)
	}
}
