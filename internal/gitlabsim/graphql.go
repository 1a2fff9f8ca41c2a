package gitlabsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
	"github.com/vektah/gqlparser/v2/validator/core"
	"github.com/vektah/gqlparser/v2/validator/rules"
)

// GitLab's GraphQL API at /api/graphql (https://docs.gitlab.com/api/graphql/),
// for the subset of graphql_schema.go. The request goes through
// GraphqlController (https://gitlab.com/gitlab-org/gitlab/-/blob/master/app/controllers/graphql_controller.rb)
// and GitlabSchema (https://gitlab.com/gitlab-org/gitlab/-/blob/master/app/graphql/gitlab_schema.rb):
// the same tokens as the REST API, the query's size, graphql-ruby's
// validation, GitLab's depth and complexity limits, then execution. The
// simulator parses and validates with gqlparser and executes the validated
// document itself (graphql_exec.go).

// graphqlPath is where GitLab routes GraphQL (config/routes/api.rb).
const graphqlPath = "/api/graphql"

// GitlabSchema's limits (app/graphql/gitlab_schema.rb).
const (
	gqlMaxComplexityAnonymous = 200 // DEFAULT_MAX_COMPLEXITY
	gqlMaxComplexityUser      = 250 // AUTHENTICATED_MAX_COMPLEXITY
	gqlMaxComplexityAdmin     = 300 // ADMIN_MAX_COMPLEXITY
	gqlMaxDepthAnonymous      = 15  // DEFAULT_MAX_DEPTH
	gqlMaxDepthUser           = 20  // AUTHENTICATED_MAX_DEPTH
	gqlMaxPageSize            = 100 // default_max_page_size
)

// gqlMaxQuerySize is GraphqlController::MAX_QUERY_SIZE, in characters.
const gqlMaxQuerySize = 10_000

// gqlMaxBody bounds what the simulator reads of a request body; GitLab's
// own bound is the proxy's, far above any query of gqlMaxQuerySize.
const gqlMaxBody = 1 << 20

// gqlError is one entry of a GraphQL answer's "errors", keys in
// graphql-ruby's order.
type gqlError struct {
	Message    string        `json:"message"`
	Locations  []gqlLocation `json:"locations,omitempty"`
	Path       []any         `json:"path,omitempty"`
	Extensions any           `json:"extensions,omitempty"` // map[string]any or *gqlObject
}

type gqlLocation struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

func gqlLoc(p *ast.Position) []gqlLocation {
	if p == nil {
		return nil
	}
	return []gqlLocation{{Line: p.Line, Column: p.Column}}
}

// writeGQLErrors answers GraphqlController#render_error's shape,
// {"errors":[{"message":...}]}, with status.
func writeGQLErrors(w http.ResponseWriter, status int, errs ...*gqlError) {
	b, _ := json.Marshal(map[string]any{"errors": errs})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// noGraphQLPage is what a GitLab without the GraphQL route answers: Rails'
// routing error, rendered as the static public/404.html
// (https://gitlab.com/gitlab-org/gitlab/-/blob/master/public/404.html;
// shortened here to its message).
const noGraphQLPage = "<!DOCTYPE html>\n<html>\n<head><title>The page you're looking for could not be found (404)</title></head>\n<body><h1>404</h1><p>The page could not be found or you don't have permission to view it.</p></body>\n</html>\n"

// gqlRequest is the body GraphqlController#permitted_standalone_query_params reads.
type gqlRequest struct {
	Query         string
	OperationName string
	Variables     map[string]any
}

// serveGraphQL answers POST (and GET) /api/graphql.
func (s *Server) serveGraphQL(w http.ResponseWriter, r *http.Request) {
	if s.opts.NoGraphQL {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, noGraphQLPage)
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	ix := s.ix

	// authenticate_sessionless_user!(:graphql_api) finds no user for a
	// token that is unknown, expired, revoked or without api/read_api, and
	// authorize_access_api! then answers "Invalid token"; a blocked or
	// deactivated user may not access_api.
	var c *caller
	if secret := callerSecret(r); secret != "" {
		cl, aerr := ix.authenticateSecret(secret, scopeRead)
		switch aerr {
		case nil:
			c = cl
		case errUserBlocked, errUserPendingApproval, errUserDeactivated:
			writeGQLErrors(w, http.StatusForbidden, &gqlError{Message: "API not accessible for user"})
			return
		default:
			writeGQLErrors(w, http.StatusUnauthorized, &gqlError{Message: "Invalid token"})
			return
		}
	}

	req, status, msg := readGQLRequest(w, r)
	if msg != "" {
		writeGQLErrors(w, status, &gqlError{Message: msg})
		return
	}
	// limit_query_size counts characters (Ruby's String#size).
	if utf8.RuneCountInString(req.Query) > gqlMaxQuerySize {
		writeGQLErrors(w, http.StatusUnprocessableEntity, &gqlError{Message: "Query too large"})
		return
	}
	q := &gqlReq{s: s, ix: ix, c: c, schema: ix.gqlSchemaFor(), get: r.Method == http.MethodGet}
	out, status := q.run(req)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

// readGQLRequest reads query, operationName and variables from a JSON
// body, a form, or (GET) the URL. A failure gives a status and message.
func readGQLRequest(w http.ResponseWriter, r *http.Request) (gqlRequest, int, string) {
	var req gqlRequest
	var rawVars json.RawMessage
	ct := strings.ToLower(r.Header.Get("Content-Type"))
	switch {
	case r.Method == http.MethodPost && (strings.Contains(ct, "json") || ct == ""):
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, gqlMaxBody))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return req, http.StatusRequestEntityTooLarge, "Request body too large"
			}
			return req, http.StatusBadRequest, "Could not read the request body"
		}
		if len(bytes.TrimSpace(body)) == 0 {
			break
		}
		var in struct {
			Query         *string         `json:"query"`
			OperationName *string         `json:"operationName"`
			Variables     json.RawMessage `json:"variables"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			// Rails answers a body it cannot parse with 400
			// (ActionDispatch::Http::Parameters::ParseError); Apollo-style
			// batches (a JSON array) are not served.
			return req, http.StatusBadRequest, "Invalid JSON in the request body"
		}
		if in.Query != nil {
			req.Query = *in.Query
		}
		if in.OperationName != nil {
			req.OperationName = *in.OperationName
		}
		rawVars = in.Variables
	default:
		if err := r.ParseForm(); err != nil {
			return req, http.StatusBadRequest, "Could not read the request parameters"
		}
		req.Query = r.Form.Get("query")
		req.OperationName = r.Form.Get("operationName")
		if v := r.Form.Get("variables"); v != "" {
			b, _ := json.Marshal(v)
			rawVars = b
		}
	}
	vars, msg := gqlVariables(rawVars)
	if msg != "" {
		return req, http.StatusUnprocessableEntity, msg
	}
	req.Variables = vars
	return req, 0, ""
}

// gqlVariables is Gitlab::Graphql::Variables#to_h: an object, a JSON
// string holding one, or nothing
// (https://gitlab.com/gitlab-org/gitlab/-/blob/master/lib/gitlab/graphql/variables.rb).
func gqlVariables(raw json.RawMessage) (map[string]any, string) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return map[string]any{}, ""
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, "Unexpected parameter: " + string(raw)
		}
		if strings.TrimSpace(s) == "" {
			return map[string]any{}, ""
		}
		raw = json.RawMessage(s)
	}
	if raw[0] != '{' {
		return nil, "Unexpected parameter: " + string(raw)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err.Error()
	}
	return m, ""
}

// gqlReq is one GraphQL query being answered.
type gqlReq struct {
	s      *Server
	ix     *index
	c      *caller // nil: anonymous
	schema *ast.Schema
	get    bool
	vars   map[string]any
	errs   []*gqlError
}

// gqlValidationRules are gqlparser's rules with the messages graphql-ruby
// words differently in GitLab's wording (graphql-ruby's
// lib/graphql/static_validation/rules/*_error.rb).
var gqlValidationRules = func() *rules.Rules {
	rs := rules.NewDefaultRules()
	rs.ReplaceRule(rules.FieldsOnCorrectTypeRule.Name, gqlRuleUndefinedField)
	rs.ReplaceRule(rules.KnownArgumentNamesRule.Name, gqlRuleArgumentNotAccepted)
	rs.ReplaceRule(rules.ProvidedRequiredArgumentsRule.Name, gqlRuleMissingArguments)
	rs.ReplaceRule(rules.ScalarLeafsRule.Name, gqlRuleSelectionMismatch)
	rs.ReplaceRule(rules.KnownRootTypeRule.Name, gqlRuleRootType)
	return rs
}()

func gqlErrAt(msg string, pos *ast.Position, ext map[string]any) core.ErrorOption {
	return func(e *gqlerror.Error) {
		e.Message = msg
		if pos != nil {
			e.Locations = append(e.Locations, gqlerror.Location{Line: pos.Line, Column: pos.Column})
		}
		e.Extensions = ext
	}
}

func gqlRuleUndefinedField(observers *core.Events, addError core.AddErrFunc) {
	observers.OnField(func(_ *core.Walker, f *ast.Field) {
		if f.ObjectDefinition == nil || f.Definition != nil {
			return
		}
		t := f.ObjectDefinition.Name
		addError(gqlErrAt(fmt.Sprintf("Field '%s' doesn't exist on type '%s'", f.Name, t), f.Position,
			map[string]any{"code": "undefinedField", "typeName": t, "fieldName": f.Name}))
	})
}

func gqlRuleArgumentNotAccepted(observers *core.Events, addError core.AddErrFunc) {
	observers.OnField(func(_ *core.Walker, f *ast.Field) {
		if f.Definition == nil || f.ObjectDefinition == nil {
			return
		}
		for _, a := range f.Arguments {
			if f.Definition.Arguments.ForName(a.Name) != nil {
				continue
			}
			addError(gqlErrAt(fmt.Sprintf("Field '%s' doesn't accept argument '%s'", f.Name, a.Name), a.Position,
				map[string]any{"code": "argumentNotAccepted", "name": f.Name, "typeName": "Field", "argumentName": a.Name}))
		}
	})
	observers.OnDirective(func(_ *core.Walker, d *ast.Directive) {
		if d.Definition == nil {
			return
		}
		for _, a := range d.Arguments {
			if d.Definition.Arguments.ForName(a.Name) == nil {
				addError(gqlErrAt(fmt.Sprintf("Directive '%s' doesn't accept argument '%s'", d.Name, a.Name), a.Position,
					map[string]any{"code": "argumentNotAccepted", "name": d.Name, "typeName": "Directive", "argumentName": a.Name}))
			}
		}
	})
}

func gqlRuleMissingArguments(observers *core.Events, addError core.AddErrFunc) {
	observers.OnField(func(_ *core.Walker, f *ast.Field) {
		if f.Definition == nil {
			return
		}
		var missing []string
		for _, def := range f.Definition.Arguments {
			if !def.Type.NonNull || def.DefaultValue != nil {
				continue
			}
			if a := f.Arguments.ForName(def.Name); a == nil || a.Value.Kind == ast.NullValue {
				missing = append(missing, def.Name)
			}
		}
		if len(missing) > 0 {
			list := strings.Join(missing, ", ")
			addError(gqlErrAt(fmt.Sprintf("Field '%s' is missing required arguments: %s", f.Name, list), f.Position,
				map[string]any{"code": "missingRequiredArguments", "className": "Field", "name": f.Name, "arguments": list}))
		}
	})
}

func gqlRuleSelectionMismatch(observers *core.Events, addError core.AddErrFunc) {
	observers.OnField(func(w *core.Walker, f *ast.Field) {
		if f.Definition == nil {
			return
		}
		t := w.Schema.Types[f.Definition.Type.Name()]
		if t == nil {
			return
		}
		node := fmt.Sprintf("field '%s'", f.Name)
		ext := map[string]any{"code": "selectionMismatch", "nodeName": node, "typeName": t.Name}
		switch {
		case t.IsLeafType() && len(f.SelectionSet) > 0:
			kind := "scalars"
			if t.Kind == ast.Enum {
				kind = "enums"
			}
			var names []string
			for _, sel := range f.SelectionSet {
				if sf, ok := sel.(*ast.Field); ok {
					names = append(names, `"`+sf.Name+`"`)
				}
			}
			addError(gqlErrAt(fmt.Sprintf("Selections can't be made on %s (%s returns %s but has selections [%s])",
				kind, node, t.Name, strings.Join(names, ", ")), f.Position, ext))
		case !t.IsLeafType() && len(f.SelectionSet) == 0:
			addError(gqlErrAt(fmt.Sprintf("Field must have selections (%s returns %s but has no selections. Did you mean '%s { ... }'?)",
				node, t.Name, f.Name), f.Position, ext))
		}
	})
}

// gqlRuleRootType refuses mutations and subscriptions: the simulator
// serves a schema without those roots, in graphql-ruby's words for one.
func gqlRuleRootType(observers *core.Events, addError core.AddErrFunc) {
	observers.OnOperation(func(w *core.Walker, op *ast.OperationDefinition) {
		switch op.Operation {
		case ast.Mutation:
			if w.Schema.Mutation == nil {
				addError(gqlErrAt("Schema is not configured for mutations", op.Position, nil))
			}
		case ast.Subscription:
			if w.Schema.Subscription == nil {
				addError(gqlErrAt("Schema is not configured for subscriptions", op.Position, nil))
			}
		}
	})
}

// run parses, validates, checks the limits and executes a query, and
// returns the answer's body and status.
func (q *gqlReq) run(req gqlRequest) ([]byte, int) {
	if strings.TrimSpace(req.Query) == "" {
		// graphql-ruby's answer to a request without a query.
		return gqlErrorsBody(&gqlError{Message: "No query string was present"}), http.StatusOK
	}
	doc, perr := parser.ParseQuery(&ast.Source{Input: req.Query})
	if perr != nil {
		var ge *gqlerror.Error
		if errors.As(perr, &ge) {
			return gqlErrorsBody(fromGQLParser(ge)), http.StatusOK
		}
		return gqlErrorsBody(&gqlError{Message: perr.Error()}), http.StatusOK
	}
	if verrs := validator.ValidateWithRules(q.schema, doc, gqlValidationRules); len(verrs) > 0 {
		out := make([]*gqlError, 0, len(verrs))
		for _, e := range verrs {
			out = append(out, fromGQLParser(e))
		}
		return gqlErrorsBody(out...), http.StatusOK
	}
	op, msg := selectOperation(doc, req.OperationName)
	if op == nil {
		return gqlErrorsBody(&gqlError{Message: msg}), http.StatusOK
	}
	if q.get && op.Operation != ast.Query {
		// disallow_mutations_for_get raises an ArgumentError: 422.
		return gqlErrorsBody(&gqlError{Message: "Mutations are forbidden in GET requests"}), http.StatusUnprocessableEntity
	}
	vars, verr := validator.VariableValues(q.schema, op, req.Variables)
	if verr != nil {
		return gqlErrorsBody(variableError(op, verr)), http.StatusOK
	}
	q.vars = vars

	// The limits: graphql-ruby runs the depth analyzer, then the
	// complexity analyzer, and answers their errors without data.
	maxDepth, maxComplexity := gqlMaxDepthAnonymous, gqlMaxComplexityAnonymous
	if q.c != nil {
		maxDepth, maxComplexity = gqlMaxDepthUser, gqlMaxComplexityUser
		// max_query_complexity reads current_user.admin, the user's flag,
		// whatever Admin Mode says.
		if q.c.isAdmin {
			maxComplexity = gqlMaxComplexityAdmin
		}
	}
	root := q.rootType(op)
	var limitErrs []*gqlError
	if d := q.depth(root, op.SelectionSet); d > maxDepth {
		limitErrs = append(limitErrs, &gqlError{Message: fmt.Sprintf("Query has depth of %d, which exceeds max depth of %d", d, maxDepth)})
	}
	if c := q.complexity(root, op.SelectionSet); c > maxComplexity {
		limitErrs = append(limitErrs, &gqlError{Message: fmt.Sprintf("Query has complexity of %d, which exceeds max complexity of %d", c, maxComplexity)})
	}
	if len(limitErrs) > 0 {
		return gqlErrorsBody(limitErrs...), http.StatusOK
	}

	data, failed := q.execSet(root, nil, op.SelectionSet, nil)
	var body bytes.Buffer
	body.WriteByte('{')
	if len(q.errs) > 0 {
		b, _ := json.Marshal(q.errs)
		body.WriteString(`"errors":`)
		body.Write(b)
		body.WriteByte(',')
	}
	body.WriteString(`"data":`)
	if failed {
		body.WriteString("null")
	} else {
		b, err := json.Marshal(data)
		if err != nil {
			return gqlErrorsBody(&gqlError{Message: "Internal server error"}), http.StatusInternalServerError
		}
		body.Write(b)
	}
	body.WriteByte('}')
	return body.Bytes(), http.StatusOK
}

func gqlErrorsBody(errs ...*gqlError) []byte {
	b, _ := json.Marshal(map[string]any{"errors": errs})
	return b
}

// gqlExtensionKeys orders the extensions of the reshaped validation
// errors as graphql-ruby's *_error.rb#to_h write them.
var gqlExtensionKeys = map[string][]string{
	"undefinedField":           {"code", "typeName", "fieldName"},
	"argumentNotAccepted":      {"code", "name", "typeName", "argumentName"},
	"missingRequiredArguments": {"code", "className", "name", "arguments"},
	"selectionMismatch":        {"code", "nodeName", "typeName"},
}

func fromGQLParser(e *gqlerror.Error) *gqlError {
	out := &gqlError{Message: e.Message}
	if len(e.Extensions) > 0 {
		out.Extensions = e.Extensions
		code, _ := e.Extensions["code"].(string)
		if keys, ok := gqlExtensionKeys[code]; ok && len(keys) == len(e.Extensions) {
			o := &gqlObject{}
			for _, k := range keys {
				o.keys, o.vals = append(o.keys, k), append(o.vals, e.Extensions[k])
			}
			out.Extensions = o
		}
	}
	for _, l := range e.Locations {
		out.Locations = append(out.Locations, gqlLocation{Line: l.Line, Column: l.Column})
	}
	return out
}

// selectOperation picks the operation to run as graphql-ruby's
// Query#selected_operation does.
func selectOperation(doc *ast.QueryDocument, name string) (*ast.OperationDefinition, string) {
	if name != "" {
		if op := doc.Operations.ForName(name); op != nil {
			return op, ""
		}
		return nil, fmt.Sprintf("No operation named %q", name)
	}
	switch len(doc.Operations) {
	case 0:
		return nil, "No operations in the query document"
	case 1:
		return doc.Operations[0], ""
	}
	return nil, "An operation name is required"
}

// variableError words a variable that does not fit its type as
// graphql-ruby's VariablesAreUsedAndDefined / coercion errors do.
func variableError(op *ast.OperationDefinition, err error) *gqlError {
	var ge *gqlerror.Error
	if !errors.As(err, &ge) {
		return &gqlError{Message: err.Error()}
	}
	for _, p := range ge.Path {
		name, ok := p.(ast.PathName)
		if !ok || name == "variable" {
			continue
		}
		if v := op.VariableDefinitions.ForName(string(name)); v != nil {
			return &gqlError{
				Message:   fmt.Sprintf("Variable $%s of type %s was provided invalid value", v.Variable, v.Type.String()),
				Locations: gqlLoc(v.Position),
				Extensions: map[string]any{"problems": []any{map[string]any{
					"path": []any{}, "explanation": ge.Message,
				}}},
			}
		}
	}
	return fromGQLParser(ge)
}

func (q *gqlReq) rootType(*ast.OperationDefinition) *ast.Definition {
	return q.schema.Query
}
