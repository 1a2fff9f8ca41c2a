package audit

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/tokenaudit/tokenaudit/inventory"
)

// Filter narrows a result to what a reader asked to see. Every report and
// the exit code are computed on the filtered result, so what is shown is
// what gates. The zero value keeps everything. Each field that is set must
// match; within a list, any entry may.
type Filter struct {
	// MinSeverity keeps tokens and resource findings at or above it
	// (their worst unsuppressed finding); SeverityNone keeps all.
	MinSeverity Severity `json:"min_severity"`
	// Kinds keeps tokens of these kinds.
	Kinds []inventory.Kind `json:"kinds"`
	// Owners are path.Match globs on the owner's username (a deploy
	// token's own username when it has no owner).
	Owners []string `json:"owners"`
	// Resources are path prefixes, matched segment by segment: acme keeps
	// acme and acme/api, not acme-labs.
	Resources []string `json:"resources"`
	// Rules keeps tokens and resource findings with a finding of one of
	// these rules, suppressed or not.
	Rules []string `json:"rules"`
}

// IsZero reports whether f keeps everything.
func (f Filter) IsZero() bool {
	return f.MinSeverity == SeverityNone && len(f.Kinds) == 0 && len(f.Owners) == 0 &&
		len(f.Resources) == 0 && len(f.Rules) == 0
}

// String describes f in one line, as the reports print it.
func (f Filter) String() string {
	var parts []string
	if f.MinSeverity > SeverityNone {
		parts = append(parts, "severity "+f.MinSeverity.String()+" and above")
	}
	list := func(name string, vals []string) {
		if len(vals) > 0 {
			parts = append(parts, name+" "+strings.Join(vals, ", "))
		}
	}
	kinds := make([]string, len(f.Kinds))
	for i, k := range f.Kinds {
		kinds[i] = string(k)
	}
	list("kind", kinds)
	list("owner", f.Owners)
	list("resource", f.Resources)
	list("rule", f.Rules)
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}

// Validate checks the kinds, globs and rule IDs, so that a typo is an
// error rather than an empty, green report.
func (f Filter) Validate() error {
	var errs []error
	if f.MinSeverity < SeverityNone || f.MinSeverity > SeverityCritical {
		errs = append(errs, fmt.Errorf("min_severity: %v is no severity", f.MinSeverity))
	}
	for _, k := range f.Kinds {
		if !slices.Contains(inventory.Kinds, k) {
			names := make([]string, len(inventory.Kinds))
			for i, k := range inventory.Kinds {
				names[i] = string(k)
			}
			errs = append(errs, fmt.Errorf("kinds: unknown kind %q (want one of %s)", k, strings.Join(names, ", ")))
		}
	}
	for _, g := range f.Owners {
		if _, err := path.Match(g, ""); err != nil {
			errs = append(errs, fmt.Errorf("owners: bad glob %q: %v", g, err))
		}
	}
	for _, id := range f.Rules {
		if _, ok := RuleByID(id); !ok {
			errs = append(errs, fmt.Errorf("rules: unknown rule %q (see tokenaudit rules)", id))
		}
	}
	return errors.Join(errs...)
}

// Filter returns a copy of r with only the tokens and resource findings f
// keeps, and the summary counted again over them. Gaps are kept whole: an
// incomplete audit stays incomplete however it is narrowed. The result
// records f in Applied; r itself is not changed.
func (r *Result) Filter(f Filter) *Result {
	out := *r
	if f.IsZero() {
		return &out
	}
	applied := f
	out.Applied = &applied
	out.Tokens = nil
	for _, t := range r.Tokens {
		if f.keepToken(&t) {
			out.Tokens = append(out.Tokens, t)
		}
	}
	out.Findings = nil
	for _, rf := range r.Findings {
		if f.keepResourceFinding(&rf) {
			out.Findings = append(out.Findings, rf)
		}
	}
	out.Summary = summarize(&out)
	return &out
}

func (f Filter) keepToken(t *TokenResult) bool {
	if t.Severity < f.MinSeverity {
		return false
	}
	if len(f.Kinds) > 0 && !slices.Contains(f.Kinds, t.Token.Kind) {
		return false
	}
	if len(f.Owners) > 0 {
		name := t.Token.Username
		if t.Token.Owner != nil {
			name = t.Token.Owner.Username
		}
		if !slices.ContainsFunc(f.Owners, func(g string) bool { ok, _ := path.Match(g, name); return ok }) {
			return false
		}
	}
	if len(f.Resources) > 0 && !f.underResource(t.Token.Resource.Path) {
		return false
	}
	if len(f.Rules) > 0 && !slices.ContainsFunc(t.Findings, func(x Finding) bool { return slices.Contains(f.Rules, x.Rule) }) {
		return false
	}
	return true
}

// keepResourceFinding applies what a resource finding has: a severity, a
// rule and a resource. Kinds and owners are of tokens and do not apply.
func (f Filter) keepResourceFinding(rf *ResourceFinding) bool {
	if f.MinSeverity > SeverityNone && (rf.Suppressed || rf.Severity < f.MinSeverity) {
		return false
	}
	if len(f.Rules) > 0 && !slices.Contains(f.Rules, rf.Rule) {
		return false
	}
	if len(f.Resources) > 0 {
		// "project acme/api", "group acme": the path follows the type.
		_, p, ok := strings.Cut(rf.Resource, " ")
		if !ok || !f.underResource(p) {
			return false
		}
	}
	return true
}

func (f Filter) underResource(p string) bool {
	if p == "" {
		return false
	}
	for _, pre := range f.Resources {
		pre = strings.Trim(pre, "/")
		if pre == "" || p == pre || strings.HasPrefix(p, pre+"/") {
			return true
		}
	}
	return false
}
