package audit

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/tokenaudit/tokenaudit/inventory"
)

// Policy is everything about an audit that an organisation may tune:
// thresholds, per-rule severity overrides, rules turned off, the names of
// legacy bot users, and exceptions. It is a plain struct so that cmd can map
// the configuration file onto it (the mapstructure tags are the YAML keys;
// every field decodes with viper's default hooks: numbers, strings, lists;
// the yaml tags let go.yaml.in/yaml/v3 decode the same keys).
// The zero value is not useful: start from DefaultPolicy and change fields.
type Policy struct {
	// The thresholds, whole numbers of days or projects. Each one's
	// meaning, default and allowed values are in the thresholds table
	// (thresholds.go), which DefaultPolicy, Validate and docs/rules.md read.
	MaxLifetimeDays     int `mapstructure:"max_lifetime_days" yaml:"max_lifetime_days"`
	ExpiringUrgentDays  int `mapstructure:"expiring_urgent_days" yaml:"expiring_urgent_days"`
	ExpiringSoonDays    int `mapstructure:"expiring_soon_days" yaml:"expiring_soon_days"`
	LargeGroupProjects  int `mapstructure:"large_group_projects" yaml:"large_group_projects"`
	PersonReachProjects int `mapstructure:"person_reach_projects" yaml:"person_reach_projects"`
	StaleDays           int `mapstructure:"stale_days" yaml:"stale_days"`
	NeverUsedDays       int `mapstructure:"never_used_days" yaml:"never_used_days"`
	RotationDays        int `mapstructure:"rotation_days" yaml:"rotation_days"`
	TriggerUnusedDays   int `mapstructure:"trigger_unused_days" yaml:"trigger_unused_days"`

	// LegacyBotUsers names the human-type accounts that automation uses
	// (the token guide's "bot user PAT", a last resort): usernames or
	// path.Match glob patterns such as "ci-*". Their personal access tokens
	// are flagged by TA-040. Default: none.
	LegacyBotUsers []string `mapstructure:"legacy_bot_users" yaml:"legacy_bot_users"`

	// Rules changes single rules, keyed by rule ID ("TA-011"; matched
	// case-insensitively, as viper lower-cases keys). Default: none.
	Rules map[string]RuleSetting `mapstructure:"rules" yaml:"rules"`

	// Exceptions accept a known risk for a while. Default: none.
	Exceptions []Exception `mapstructure:"exceptions" yaml:"exceptions"`
}

// RuleSetting changes one rule.
type RuleSetting struct {
	// Severity replaces the rule's default severity: critical, high,
	// medium, low or info. Empty keeps the default.
	Severity string `mapstructure:"severity" yaml:"severity"`
	// Disabled turns the rule off: it is not evaluated at all.
	Disabled bool `mapstructure:"disabled" yaml:"disabled"`
}

// Exception suppresses the findings of one rule (or of every rule, for one
// named token) on the tokens or resources it names, until its expiry date.
// A suppressed finding stays in the result with Suppressed set and the
// reason, but counts toward neither the token's severity nor Result.Worst.
//
// It names what it covers by one of:
//   - Kind and ID: exactly one token ("personal" and 1234);
//   - Owner and/or Name: path.Match glob patterns over the owner's username
//     and the token's name ("ci-*", "renovate"); with both, both must match;
//     Kind, if set, narrows the match to that kind;
//   - Resource: a glob pattern over a resource finding's resource
//     ("instance", "project acme/*"), for instance and project rules. As in
//     path.Match, "*" does not cross a "/": "project acme/*" covers
//     acme/api but not acme/infra/api.
type Exception struct {
	// Rule is the rule ID the exception suppresses. "*" suppresses every
	// rule, and is allowed only for one token named by Kind and ID, so that
	// no pattern can silence a whole class of tokens by accident.
	Rule string `mapstructure:"rule" yaml:"rule"`
	// Kind is a token kind (personal, impersonation, service_account,
	// project_access, group_access, deploy, pipeline_trigger).
	Kind string `mapstructure:"kind" yaml:"kind"`
	// ID is GitLab's token id; 0: not used. Needs Kind.
	ID int64 `mapstructure:"id" yaml:"id"`
	// Owner is a glob pattern over the owner's username.
	Owner string `mapstructure:"owner" yaml:"owner"`
	// Name is a glob pattern over the token's name.
	Name string `mapstructure:"name" yaml:"name"`
	// Resource is a glob pattern over a resource finding's resource.
	Resource string `mapstructure:"resource" yaml:"resource"`
	// Reason says why the risk is accepted. Required.
	Reason string `mapstructure:"reason" yaml:"reason"`
	// Expires is the date (YYYY-MM-DD) the exception stops applying, at
	// 00:00 UTC that day, the way GitLab expires tokens. Required: every
	// accepted risk is reviewed again. An expired exception suppresses
	// nothing and is listed in Result.ExpiredExceptions.
	Expires string `mapstructure:"expires" yaml:"expires"`
}

// DefaultPolicy returns the thresholds' defaults (the thresholds table),
// no overrides and no exceptions.
func DefaultPolicy() Policy {
	var p Policy
	for _, th := range thresholds {
		*th.field(&p) = th.def
	}
	return p
}

// Validate reports every problem in the policy at once, each naming the
// field and what is allowed.
func (p Policy) Validate() error {
	errs := p.thresholdProblems()
	for i, u := range p.LegacyBotUsers {
		if err := checkPattern(u); err != nil || u == "" {
			errs = append(errs, fmt.Errorf("policy legacy_bot_users[%d]: %q is not a username or glob pattern", i, u))
		}
	}
	for _, id := range sortedKeys(p.Rules) {
		s := p.Rules[id]
		if _, ok := RuleByID(id); !ok {
			errs = append(errs, fmt.Errorf("policy rules: unknown rule %q (want a rule ID such as TA-001; see tokenaudit rules)", id))
			continue
		}
		if s.Severity != "" {
			if sev, err := ParseSeverity(s.Severity); err != nil || sev == SeverityNone {
				errs = append(errs, fmt.Errorf("policy rules.%s.severity: %q is not allowed (want critical, high, medium, low or info)", id, s.Severity))
			}
		}
	}
	for i, e := range p.Exceptions {
		for _, err := range e.problems() {
			errs = append(errs, fmt.Errorf("policy exceptions[%d]: %w", i, err))
		}
	}
	return errors.Join(errs...)
}

// problems lists what is wrong with one exception.
func (e Exception) problems() []error {
	var errs []error
	switch {
	case e.Rule == "":
		errs = append(errs, errors.New("rule is required (a rule ID such as TA-011, or \"*\" for one token named by kind and id)"))
	case e.Rule == "*":
		if e.ID == 0 {
			errs = append(errs, errors.New("rule \"*\" needs one token named by kind and id, not patterns"))
		}
	default:
		if _, ok := RuleByID(e.Rule); !ok {
			errs = append(errs, fmt.Errorf("rule %q is unknown (want a rule ID such as TA-011; see tokenaudit rules)", e.Rule))
		}
	}
	if e.Kind != "" && !knownKind(inventory.Kind(e.Kind)) {
		errs = append(errs, fmt.Errorf("kind %q is unknown (want one of %s)", e.Kind, kindList()))
	}
	if e.ID < 0 {
		errs = append(errs, fmt.Errorf("id %d is not allowed (want a GitLab token id above 0)", e.ID))
	}
	if e.ID != 0 && e.Kind == "" {
		errs = append(errs, errors.New("id needs kind: token ids are unique only within a kind"))
	}
	if e.ID != 0 && (e.Owner != "" || e.Name != "" || e.Resource != "") {
		errs = append(errs, errors.New("name a token either by kind and id or by owner/name patterns, not both"))
	}
	if e.Resource != "" && (e.Kind != "" || e.Owner != "" || e.Name != "") {
		errs = append(errs, errors.New("resource names an instance or project finding; it cannot be combined with kind, owner or name"))
	}
	if e.ID == 0 && e.Owner == "" && e.Name == "" && e.Resource == "" {
		errs = append(errs, errors.New("names nothing (want kind and id, an owner or name pattern, or a resource pattern)"))
	}
	for _, f := range []struct{ field, pattern string }{{"owner", e.Owner}, {"name", e.Name}, {"resource", e.Resource}} {
		if err := checkPattern(f.pattern); err != nil {
			errs = append(errs, fmt.Errorf("%s %q is not a valid glob pattern: %w", f.field, f.pattern, err))
		}
	}
	if strings.TrimSpace(e.Reason) == "" {
		errs = append(errs, errors.New("reason is required: say why the risk is accepted"))
	}
	if e.Expires == "" {
		errs = append(errs, errors.New("expires is required (a date, YYYY-MM-DD): every accepted risk is reviewed again"))
	} else if _, err := time.Parse(time.DateOnly, e.Expires); err != nil {
		errs = append(errs, fmt.Errorf("expires %q is not a date (want YYYY-MM-DD)", e.Expires))
	}
	return errs
}

// expiresAt is the instant the exception stops applying: 00:00 UTC on its
// date. Call only on a validated exception.
func (e Exception) expiresAt() time.Time {
	t, _ := time.Parse(time.DateOnly, e.Expires)
	return t.UTC()
}

// describe says how the exception names what it covers, for the report.
func (e Exception) describe() string {
	var parts []string
	if e.Kind != "" {
		parts = append(parts, "kind="+e.Kind)
	}
	if e.ID != 0 {
		parts = append(parts, fmt.Sprintf("id=%d", e.ID))
	}
	if e.Owner != "" {
		parts = append(parts, "owner="+e.Owner)
	}
	if e.Name != "" {
		parts = append(parts, "name="+e.Name)
	}
	if e.Resource != "" {
		parts = append(parts, "resource="+e.Resource)
	}
	return strings.Join(parts, " ")
}

// matchesToken reports whether the exception names the token. Patterns
// were checked by Validate, so match errors cannot happen.
func (e Exception) matchesToken(t *inventory.Token) bool {
	if e.Resource != "" {
		return false
	}
	if e.Kind != "" && inventory.Kind(e.Kind) != t.Kind {
		return false
	}
	if e.ID != 0 {
		return e.ID == t.ID
	}
	if e.Owner != "" {
		if t.Owner == nil || !globMatch(e.Owner, t.Owner.Username) {
			return false
		}
	}
	if e.Name != "" && !globMatch(e.Name, t.Name) {
		return false
	}
	return true
}

// matchesResource reports whether the exception names a resource finding.
func (e Exception) matchesResource(resource string) bool {
	return e.Resource != "" && globMatch(e.Resource, resource)
}

// matchesRule reports whether the exception covers the rule.
func (e Exception) matchesRule(id string) bool {
	return e.Rule == "*" || strings.EqualFold(e.Rule, id)
}

func globMatch(pattern, s string) bool {
	ok, err := path.Match(pattern, s)
	return err == nil && ok
}

// checkPattern validates a glob pattern; "" is valid (not set).
func checkPattern(p string) error {
	if p == "" {
		return nil
	}
	_, err := path.Match(p, "")
	return err
}

func knownKind(k inventory.Kind) bool {
	for _, x := range inventory.Kinds {
		if x == k {
			return true
		}
	}
	return false
}

func kindList() string {
	names := make([]string, len(inventory.Kinds))
	for i, k := range inventory.Kinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}
