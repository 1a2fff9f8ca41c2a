package cli

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// checkYAML checks a configuration file against t (a struct with
// mapstructure tags) before viper reads it, because viper's own errors name
// neither the line nor, for a wrong type, always the key. It reports the
// first problem as "line N: key: what is wrong (what is allowed)".
func checkYAML(data []byte, t reflect.Type) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("malformed YAML: %s", yamlSyntaxError(err))
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil // an empty file sets nothing
	}
	root := doc.Content[0]
	if isNull(root) {
		return nil
	}
	return checkNode(root, t, "")
}

// yamlParserProblems are the problems yaml.v3's parser (parserc.go), not
// its scanner, reports. For those its parser.fail (decode.go) prints the
// mark's 0-based line as is, one less than the line meant, and no line at
// all for the first; the scanner's lines it corrects.
var yamlParserProblems = []string{
	"did not find expected <stream-start>", "did not find expected <document start>",
	"found undefined tag handle", "did not find expected node content",
	"did not find expected '-' indicator", "did not find expected key",
	"did not find expected ',' or ']'", "did not find expected ',' or '}'",
	"found duplicate %YAML directive", "found incompatible YAML document",
	"found duplicate %TAG directive",
}

// yamlSyntaxError words yaml.v3's syntax error with the right line,
// 1-based as an editor counts.
func yamlSyntaxError(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line, problem := 0, msg
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, p, ok := strings.Cut(rest, ": "); ok {
			if v, convErr := strconv.Atoi(n); convErr == nil {
				line, problem = v, p
			}
		}
	}
	if !slices.Contains(yamlParserProblems, problem) {
		return msg
	}
	return fmt.Sprintf("line %d: %s", line+1, problem)
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// checkNode checks that n fits typ; key is the dotted path for messages.
func checkNode(n *yaml.Node, typ reflect.Type, key string) error {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if isNull(n) {
		return nil // "key:" with no value keeps the default
	}
	wrong := func(want string) error {
		return fmt.Errorf("line %d: %s: want %s, got %s", n.Line, key, want, describeNode(n))
	}
	switch {
	case typ == durationType:
		if n.Kind != yaml.ScalarNode {
			return wrong("a duration such as 30s or 2m")
		}
		if _, err := time.ParseDuration(n.Value); err != nil {
			return wrong("a duration such as 30s or 2m")
		}
	case typ.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return wrong("a mapping of settings")
		}
		return checkMapping(n, typ, key)
	case typ.Kind() == reflect.Map:
		if n.Kind != yaml.MappingNode {
			return wrong("a mapping")
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if err := checkNode(n.Content[i+1], typ.Elem(), key+"."+k); err != nil {
				return err
			}
		}
	case typ.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return wrong("a list")
		}
		for i, item := range n.Content {
			if err := checkNode(item, typ.Elem(), fmt.Sprintf("%s[%d]", key, i)); err != nil {
				return err
			}
		}
	case typ.Kind() == reflect.String:
		if n.Kind != yaml.ScalarNode {
			return wrong("a text value")
		}
	case typ.Kind() == reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			return wrong("true or false")
		}
	case typ.Kind() >= reflect.Int && typ.Kind() <= reflect.Int64:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
			return wrong("a whole number")
		}
		if _, err := strconv.ParseInt(n.Value, 0, 64); err != nil {
			return wrong("a whole number")
		}
	default:
		return fmt.Errorf("line %d: %s: cannot be set in the file", n.Line, key)
	}
	return nil
}

// checkMapping checks the keys of a mapping against the struct's fields.
func checkMapping(n *yaml.Node, typ reflect.Type, prefix string) error {
	fields := map[string]reflect.Type{}
	var names []string
	for f := range typ.Fields() {
		name := f.Tag.Get("mapstructure")
		if name == "" || name == "-" {
			continue
		}
		fields[name] = f.Type
		names = append(names, name)
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], n.Content[i+1]
		name := kn.Value
		key := name
		if prefix != "" {
			key = prefix + "." + name
		}
		ft, ok := fields[name]
		if !ok {
			if looksLikeToken(name) {
				return fmt.Errorf("line %d: a key that looks like a token (not shown); the token goes in GITLAB_TOKEN or token_file", kn.Line)
			}
			if prefix == "" && isTokenKey(name) {
				return fmt.Errorf("line %d: %s: a token value is never read from the config file (set GITLAB_TOKEN, or token_file to a file only you can read)", kn.Line, key)
			}
			return fmt.Errorf("line %d: unknown key %q%s (allowed here: %s)", kn.Line, key, suggest(name, names), strings.Join(names, ", "))
		}
		if first, dup := seen[name]; dup {
			return fmt.Errorf("line %d: %s is set twice (first on line %d)", kn.Line, key, first)
		}
		seen[name] = kn.Line
		if err := checkNode(vn, ft, key); err != nil {
			return err
		}
	}
	return nil
}

func isTokenKey(name string) bool {
	return slices.Contains([]string{"token", "gitlab_token", "private_token", "access_token"}, strings.ToLower(name))
}

// suggest returns `; did you mean "x"?` for a near miss.
func suggest(name string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := editDistance(strings.ToLower(name), n); d < bestD {
			best, bestD = n, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// describeNode says what a node is, for "got ..." in a message.
func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if looksLikeToken(n.Value) {
			return "a value that looks like a token (not shown)"
		}
		v := n.Value
		if len(v) > 40 {
			v = v[:40] + "…"
		}
		return strconv.Quote(v)
	}
	return "something else"
}
