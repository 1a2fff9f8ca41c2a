package audit

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tokenaudit/tokenaudit/inventory"
)

// Principle is the part of GitLab's token guidance (https://docs.gitlab.com/security/tokens/)
// a rule serves: one of its four security principles, its security best
// practices, or its decision tree for choosing a token type.
type Principle string

// The principles of the token guide, its best practices and its decision tree.
const (
	PrincipleMinimizeRotation Principle = "minimize manual rotation"
	PrincipleSmallestScope    Principle = "smallest scope possible"
	PrincipleExpiryVisibility Principle = "expiration visibility"
	PrincipleEasyRotation     Principle = "easy rotation"
	PrincipleBestPractice     Principle = "best practice"
	PrincipleDecisionTree     Principle = "decision tree"
)

// Principles lists every principle in the order of the token guide.
var Principles = []Principle{
	PrincipleMinimizeRotation, PrincipleSmallestScope, PrincipleExpiryVisibility,
	PrincipleEasyRotation, PrincipleBestPractice, PrincipleDecisionTree,
}

// Target says what a rule looks at.
type Target string

// Rule targets.
const (
	TargetToken    Target = "token"    // one token at a time
	TargetInstance Target = "instance" // the instance's settings
	TargetProject  Target = "project"  // one project's settings
)

// Outcome is what a check concluded. Missing data gives OutcomeUnknown,
// never a pass or a failure: a deploy token has no last_used_at, so usage
// rules cannot judge it.
type Outcome int

// Outcomes of a check.
const (
	OutcomePass Outcome = iota
	OutcomeFail
	OutcomeUnknown
)

// Context is what checks read besides the thing they judge: the time of the
// audit and the policy's thresholds.
type Context struct {
	Now    time.Time
	Policy Policy
	// disabled holds the upper-cased IDs of rules the policy turned off.
	disabled map[string]bool
}

// Enabled reports whether the policy leaves the rule on.
func (c *Context) Enabled(id string) bool { return !c.disabled[strings.ToUpper(id)] }

// days turns a number of days into a duration.
func days(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

// Rule is one entry of the catalogue. Everything but the check functions is
// data, so `tokenaudit rules` and docs/rules.md are generated from it.
type Rule struct {
	// ID is permanent: TA-NNN, never renumbered or reused. A retired rule
	// keeps its entry.
	ID        string
	Title     string
	Principle Principle
	// Severity is the default; the policy may override it.
	Severity Severity
	// Hygiene is the points each finding of the rule adds to the hygiene
	// part of a token's risk score (score.go), suppressed or not; 0: none.
	Hygiene   int
	Rationale string
	// Remediation says what to do, naming the better token type where the
	// token guide's decision tree has one.
	Remediation string
	Target      Target
	// Kinds are the token kinds a token rule applies to.
	Kinds []inventory.Kind
	// Inactive marks a rule that judges inactive (expired or revoked) tokens.
	// Every other token rule judges active tokens only: a token that no
	// longer works carries no risk but clutter.
	Inactive bool
	// Exactly one check is set, matching Target. Each returns its outcome
	// and, for a failure, the detail shown in the finding (for unknown, why).
	Token    func(t *inventory.Token, c *Context) (Outcome, string)
	Instance func(s *inventory.Settings, c *Context) (Outcome, string)
	Project  func(p *inventory.Project, c *Context) (Outcome, string)
}

// AppliesTo describes in words what the rule looks at, for the catalogue.
func (r Rule) AppliesTo() string {
	switch r.Target {
	case TargetToken:
		names := make([]string, len(r.Kinds))
		for i, k := range r.Kinds {
			names[i] = string(k)
		}
		state := "active"
		if r.Inactive {
			state = "inactive"
		}
		return state + " " + strings.Join(names, ", ") + " tokens"
	case TargetInstance:
		return "instance settings"
	case TargetProject:
		return "projects"
	}
	return string(r.Target)
}

// RuleByID returns the rule with the ID, matched case-insensitively.
func RuleByID(id string) (Rule, bool) {
	for _, r := range Rules {
		if strings.EqualFold(r.ID, id) {
			return r, true
		}
	}
	return Rule{}, false
}

// Helpers for checks.

func pass() (Outcome, string)              { return OutcomePass, "" }
func unknown(why string) (Outcome, string) { return OutcomeUnknown, why }
func fail(format string, a ...any) (Outcome, string) {
	return OutcomeFail, fmt.Sprintf(format, a...)
}

// hasScope reports whether the token has any of the scopes and returns the
// ones it has, in the token's order.
func scopesIn(t *inventory.Token, set map[string]bool) []string {
	var found []string
	for _, s := range t.Scopes {
		if set[s] {
			found = append(found, s)
		}
	}
	return found
}

func hasAny(t *inventory.Token, set map[string]bool) bool {
	for _, s := range t.Scopes {
		if set[s] {
			return true
		}
	}
	return false
}

func set(items ...string) map[string]bool {
	m := make(map[string]bool, len(items))
	for _, s := range items {
		m[s] = true
	}
	return m
}

// formatDays writes a duration as whole days, rounded down.
func formatDays(d time.Duration) string {
	n := int(d / (24 * time.Hour))
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

func date(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// ownerName names a token's owner in a detail.
func ownerName(o *inventory.Owner) string {
	if o.Username != "" {
		return o.Username
	}
	return fmt.Sprintf("user %d", o.ID)
}

// ownerActive judges an owner's state: unknown when not visible (a
// non-administrator does not see other users' states), a failure for any
// state but active (blocked, deactivated, banned, ...).
func ownerActive(o *inventory.Owner) (Outcome, string) {
	switch o.State {
	case "":
		return unknown("owner state not visible")
	case "active":
		return pass()
	}
	return fail("owner %s is %s", ownerName(o), o.State)
}

// ResourceName names a resource in a detail and in ResourceFinding.Resource:
// "instance", "project acme/api", "group 42". serve's metrics name a
// token's resource the same way.
func ResourceName(r inventory.Resource) string {
	switch {
	case r.Type == inventory.ResourceInstance || r.Type == "":
		return "instance"
	case r.Path != "":
		return string(r.Type) + " " + r.Path
	default:
		return fmt.Sprintf("%s %d", r.Type, r.ID)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, cmp.Compare)
	return keys
}
