package gitlabsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"

	"github.com/vektah/gqlparser/v2/ast"
)

// The executor: it walks the validated operation as the GraphQL spec's
// ExecuteSelectionSet does (https://spec.graphql.org/October2021/#sec-Executing-Selection-Sets),
// keeping the order and aliases of the response keys, and computes depth
// and complexity over the same collected fields as graphql-ruby's
// analyzers do.

// gqlObject is a JSON object that keeps its keys in order.
type gqlObject struct {
	keys []string
	vals []any
}

func (o *gqlObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		vb, err := json.Marshal(o.vals[i])
		if err != nil {
			return nil, err
		}
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// gqlFieldGroup is the fields of one response key, merged.
type gqlFieldGroup struct {
	key    string
	fields []*ast.Field
}

// selections is the merged selection set of the group's fields.
func (g *gqlFieldGroup) selections() ast.SelectionSet {
	if len(g.fields) == 1 {
		return g.fields[0].SelectionSet
	}
	var out ast.SelectionSet
	for _, f := range g.fields {
		out = append(out, f.SelectionSet...)
	}
	return out
}

// collectFields is the spec's CollectFields for an object (or, in the
// analyzers, an interface) type: fragments whose type condition applies,
// @skip and @include, fields grouped by response key in first-seen order.
func (q *gqlReq) collectFields(t *ast.Definition, set ast.SelectionSet) []*gqlFieldGroup {
	var groups []*gqlFieldGroup
	byKey := map[string]*gqlFieldGroup{}
	visited := map[string]bool{}
	var walk func(ast.SelectionSet)
	walk = func(set ast.SelectionSet) {
		for _, sel := range set {
			switch s := sel.(type) {
			case *ast.Field:
				if !q.included(s.Directives) {
					continue
				}
				key := s.Alias
				if key == "" {
					key = s.Name
				}
				g := byKey[key]
				if g == nil {
					g = &gqlFieldGroup{key: key}
					byKey[key] = g
					groups = append(groups, g)
				}
				g.fields = append(g.fields, s)
			case *ast.InlineFragment:
				if !q.included(s.Directives) || !q.applies(t, s.TypeCondition) {
					continue
				}
				walk(s.SelectionSet)
			case *ast.FragmentSpread:
				if !q.included(s.Directives) || visited[s.Name] || s.Definition == nil {
					continue
				}
				visited[s.Name] = true
				if !q.applies(t, s.Definition.TypeCondition) {
					continue
				}
				walk(s.Definition.SelectionSet)
			}
		}
	}
	walk(set)
	return groups
}

// applies reports whether a fragment on cond applies to type t.
func (q *gqlReq) applies(t *ast.Definition, cond string) bool {
	if cond == "" || cond == t.Name {
		return true
	}
	c := q.schema.Types[cond]
	if c == nil {
		return false
	}
	switch {
	case c.IsAbstractType() && t.Kind == ast.Object:
		for _, p := range q.schema.GetPossibleTypes(c) {
			if p.Name == t.Name {
				return true
			}
		}
	case t.IsAbstractType() && c.Kind == ast.Object:
		// In the analyzers only: a fragment on a possible type.
		for _, p := range q.schema.GetPossibleTypes(t) {
			if p.Name == c.Name {
				return true
			}
		}
	}
	return false
}

// included evaluates @skip and @include.
func (q *gqlReq) included(ds ast.DirectiveList) bool {
	for _, d := range ds {
		var want bool
		switch d.Name {
		case "skip":
			want = false
		case "include":
			want = true
		default:
			continue
		}
		if v, _ := d.ArgumentMap(q.vars)["if"].(bool); v != want {
			return false
		}
	}
	return true
}

// execSet executes a selection set on obj of object type t. failed means a
// non-null field came out null, which makes this object null in turn.
func (q *gqlReq) execSet(t *ast.Definition, obj any, set ast.SelectionSet, path []any) (*gqlObject, bool) {
	out := &gqlObject{}
	for _, g := range q.collectFields(t, set) {
		f := g.fields[0]
		fpath := append(append([]any(nil), path...), g.key)
		if f.Name == "__typename" {
			out.keys, out.vals = append(out.keys, g.key), append(out.vals, t.Name)
			continue
		}
		def := t.Fields.ForName(f.Name)
		if def == nil {
			continue // validated away
		}
		args := f.ArgumentMap(q.vars)
		v, gerr := q.resolve(t.Name, f.Name, obj, args)
		if gerr != nil {
			gerr.Locations, gerr.Path = gqlLoc(f.Position), fpath
			q.errs = append(q.errs, gerr)
			v = nil
		}
		val, st := q.complete(def.Type, t.Name+"."+f.Name, v, gerr != nil, g.selections(), f, fpath)
		if st == gqlFailed {
			return nil, true
		}
		out.keys, out.vals = append(out.keys, g.key), append(out.vals, val)
	}
	return out, false
}

// The outcomes of completing a value.
const (
	gqlOK     = iota
	gqlNulled // null because a non-null field below failed; already reported
	gqlFailed // null where the type is non-null: the parent is null in turn
)

// complete is the spec's CompleteValue. reported says an error for this
// value is already in the answer.
func (q *gqlReq) complete(t *ast.Type, field string, v any, reported bool, set ast.SelectionSet, f *ast.Field, path []any) (any, int) {
	if t.NonNull {
		inner := *t
		inner.NonNull = false
		val, st := q.complete(&inner, field, v, reported, set, f, path)
		if st != gqlOK {
			return nil, gqlFailed
		}
		if val == nil {
			if !reported {
				q.errs = append(q.errs, &gqlError{Message: "Cannot return null for non-nullable field " + field,
					Locations: gqlLoc(f.Position), Path: path})
			}
			return nil, gqlFailed
		}
		return val, gqlOK
	}
	if isNil(v) {
		return nil, gqlOK
	}
	if t.Elem != nil {
		items, _ := v.([]any)
		out := make([]any, 0, len(items))
		for i, it := range items {
			val, st := q.complete(t.Elem, field, it, false, set, f, append(append([]any(nil), path...), i))
			if st == gqlFailed {
				return nil, gqlNulled
			}
			out = append(out, val)
		}
		return out, gqlOK
	}
	def := q.schema.Types[t.NamedType]
	switch def.Kind {
	case ast.Scalar, ast.Enum:
		return v, gqlOK
	case ast.Interface, ast.Union:
		def = q.schema.Types[gqlTypeOf(v)]
	}
	obj, failed := q.execSet(def, v, set, path)
	if failed {
		return nil, gqlNulled
	}
	return obj, gqlOK
}

// isNil reports a nil value, typed nil pointers included.
func isNil(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case *Project:
		return x == nil
	case *Group:
		return x == nil
	case *Trigger:
		return x == nil
	case *gqlUser:
		return x == nil
	case *gqlConn:
		return x == nil
	case *gqlMember:
		return x == nil
	}
	return false
}

// depth is graphql-ruby's query depth: the deepest chain of fields, a
// root field counting 1; fragments add none.
func (q *gqlReq) depth(t *ast.Definition, set ast.SelectionSet) int {
	best := 0
	for _, g := range q.collectFields(t, set) {
		d := 1
		if ct := q.childType(t, g.fields[0]); ct != nil {
			d += q.depth(ct, g.selections())
		}
		best = max(best, d)
	}
	return best
}

func (q *gqlReq) childType(t *ast.Definition, f *ast.Field) *ast.Definition {
	if f.Name == "__typename" {
		return nil
	}
	def := t.Fields.ForName(f.Name)
	if def == nil {
		return nil
	}
	ct := q.schema.Types[def.Type.Name()]
	if ct == nil || ct.IsLeafType() {
		return nil
	}
	return ct
}

// gqlResolved names the fields GitLab serves through a resolver class, and
// whether each is a connection: their complexity is GitLab's
// BaseField#field_resolver_complexity; every other field costs 1 plus its
// children (https://gitlab.com/gitlab-org/gitlab/-/blob/master/app/graphql/types/base_field.rb,
// resolver classes named in app/graphql/types/query_type.rb, project_type.rb,
// group_type.rb).
var gqlResolved = map[string]bool{ // field -> connection
	"Query.currentUser":        false, // Resolvers::CurrentUserResolver
	"Query.project":            false, // Resolvers::ProjectResolver
	"Query.group":              false, // Resolvers::GroupResolver
	"Query.projects":           true,  // Resolvers::ProjectsResolver
	"Query.users":              true,  // Resolvers::UsersResolver
	"Project.ciJobTokenScope":  false, // Resolvers::Ci::JobTokenScopeResolver
	"Project.pipelineTriggers": true,  // Resolvers::Ci::PipelineTriggersResolver
	"Project.projectMembers":   true,  // Resolvers::ProjectMembersResolver
	"Group.projects":           true,  // Resolvers::GroupProjectsResolver
}

// complexity is graphql-ruby's query complexity with GitLab's field
// complexities: a field costs 1 plus its children; a resolver field its
// children plus the resolver's 1 (+1 with sort, +5 with search,
// Resolvers::BaseResolver.resolver_complexity), and a resolver connection
// that times (1 + limit × 0.01), limit the smaller of first, last and the
// maximum page size (complexity_multiplier: 0 with iid or iids), cut to an
// integer (https://gitlab.com/gitlab-org/gitlab/-/blob/master/app/graphql/resolvers/base_resolver.rb).
func (q *gqlReq) complexity(t *ast.Definition, set ast.SelectionSet) int {
	total := 0
	for _, g := range q.collectFields(t, set) {
		f := g.fields[0]
		child := 0
		if ct := q.childType(t, f); ct != nil {
			child = q.complexity(ct, g.selections())
		}
		conn, resolved := gqlResolved[t.Name+"."+f.Name]
		if !resolved {
			total += 1 + child
			continue
		}
		args := f.ArgumentMap(q.vars)
		c := float64(child + 1)
		if args["sort"] != nil {
			c++
		}
		if args["search"] != nil {
			c += 5
		}
		if conn {
			limit := int64(gqlMaxPageSize)
			for _, k := range []string{"first", "last"} {
				if n, ok := gqlInt(args[k]); ok && n < limit {
					limit = n
				}
			}
			mult := 0.01
			if args["iid"] != nil || args["iids"] != nil {
				mult = 0
			}
			c += c * (float64(limit) * mult)
		}
		total += int(math.Trunc(c))
	}
	return total
}

// gqlInt reads an Int argument: a literal (int64) or a variable (int64
// after coercion, or a JSON number).
func gqlInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case float64:
		return int64(n), true
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	}
	return 0, false
}

// gqlString reads a String or ID argument.
func gqlString(v any) (string, bool) {
	switch s := v.(type) {
	case string:
		return s, true
	case json.Number:
		return s.String(), true
	case int64:
		return fmt.Sprint(s), true
	}
	return "", false
}

// gqlStrings reads a list of String or ID: variables come out of coercion
// as typed slices ([]json.Number for [1, 2]).
func gqlStrings(v any) ([]string, bool) {
	if v == nil {
		return nil, false
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice {
		if s, ok := gqlString(v); ok {
			return []string{s}, true // input coercion of a single value
		}
		return nil, false
	}
	out := make([]string, 0, rv.Len())
	for i := range rv.Len() {
		if s, ok := gqlString(rv.Index(i).Interface()); ok {
			out = append(out, s)
		}
	}
	return out, true
}
