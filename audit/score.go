package audit

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/tokenaudit/tokenaudit/inventory"
)

// The score's numbers live here and in the rules' Hygiene points, once:
// scoreFormula writes docs/rules.md's description of the score from them,
// so changing a number changes the documentation with it.

// Caps of the score's three parts; they add up to 100.
const (
	maxExposure = 40
	maxBlast    = 35
	maxHygiene  = 25
)

// scopeWeight is one row of the exposure table: a scope's points are
// those of the first row that matches it.
type scopeWeight struct {
	what   string // for the formula
	points int
	match  func(scope string) bool
}

var (
	writeScopeList = []string{"write_repository", "write_registry", "write_package_registry", "write_virtual_registry",
		"write_observability", "create_runner", "manage_runner", "k8s_proxy", "ai_features"}
	writeScopes   = set(writeScopeList...)
	readAPIScopes = set("read_api", "read_user")

	scopeWeights = []scopeWeight{
		{"sudo or admin_mode", 40, func(s string) bool { return adminScopes[s] }},
		{"api", 30, func(s string) bool { return s == "api" }},
		{"a scope tokenaudit does not know", 15, func(s string) bool { return !knownScopes[s] }},
		{"a write scope (" + strings.Join(writeScopeList, ", ") + ")", 15, func(s string) bool { return writeScopes[s] }},
		{"read_api or read_user", 10, func(s string) bool { return readAPIScopes[s] }},
		{"any other scope", 5, func(string) bool { return true }},
	}

	// rolePoints add to a project or group access token's exposure for
	// its bot's role: the first row whose level the role reaches.
	rolePoints = []struct {
		level  int
		name   string
		points int
	}{{50, "Owner", 10}, {40, "Maintainer", 5}}
)

// triggerExposure is a pipeline trigger token's exposure: it has no
// scopes but runs pipelines as its owner.
const triggerExposure = 20

// Blast radius.
const (
	blastAdmin         = 35 // an administrator's token
	blastGroupBase     = 15 // a token attached to a group,
	blastGroupPer      = 5  // plus a point per this many of its projects,
	blastGroupMaxExtra = 20 // at most this many;
	blastGroupUnknown  = 25 // the group's size unknown
	blastPersonPer     = 2  // a person's token: a point per this many projects of the owner,
	blastPersonMax     = 30 // at most this many;
	blastPersonUnknown = 10 // the number unknown
	blastProject       = 5  // a token attached to one project
)

// hygienePoints holds each rule's Hygiene by ID: findings name their rule
// by ID.
var hygienePoints = func() map[string]int {
	m := map[string]int{}
	for _, r := range Rules {
		if r.Hygiene != 0 {
			m[r.ID] = r.Hygiene
		}
	}
	return m
}()

// Score computes a token's risk score, 0 to 100, from the token's facts
// (exposure, blast radius) and its findings (hygiene), as scoreFormula
// describes. active says whether the token still works at the audit's time.
func Score(t *inventory.Token, findings []Finding, active bool) int {
	if !active {
		return 0
	}
	return min(exposure(t), maxExposure) + min(blast(t), maxBlast) + min(hygiene(findings), maxHygiene)
}

func exposure(t *inventory.Token) int {
	widest := 0
	if t.Kind == inventory.KindPipelineTrigger {
		widest = triggerExposure
	}
	for _, s := range t.Scopes {
		for _, w := range scopeWeights {
			if w.match(s) {
				widest = max(widest, w.points)
				break
			}
		}
	}
	for _, r := range rolePoints {
		if t.AccessLevel >= r.level {
			widest += r.points
			break
		}
	}
	return widest
}

func blast(t *inventory.Token) int {
	switch t.Kind {
	case inventory.KindPersonal, inventory.KindImpersonation, inventory.KindServiceAccount:
		switch {
		case t.Owner != nil && t.Owner.Admin:
			return blastAdmin
		case t.Owner == nil || t.Owner.ProjectsReachable < 0:
			return blastPersonUnknown
		}
		return min(t.Owner.ProjectsReachable/blastPersonPer, blastPersonMax)
	}
	if t.Resource.Type == inventory.ResourceGroup {
		if t.Resource.Projects < 0 {
			return blastGroupUnknown
		}
		return blastGroupBase + min(t.Resource.Projects/blastGroupPer, blastGroupMaxExtra)
	}
	return blastProject
}

func hygiene(findings []Finding) int {
	total := 0
	for _, f := range findings {
		total += hygienePoints[f.Rule]
	}
	return total
}

// scoreFormula describes Score for docs/rules.md, with the numbers above
// and the rules' Hygiene points.
func scoreFormula() string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("A token's risk score runs from 0 (no risk) to %d and is the sum of three capped parts.\n", maxExposure+maxBlast+maxHygiene)
	w("An inactive token (expired or revoked) scores 0: it no longer works.\n\n")

	w("Exposure, at most %d: what the token may do.\n", maxExposure)
	w("- The widest scope, by the first of these it is:\n")
	for _, s := range scopeWeights {
		w("  - %s: %d\n", s.what, s.points)
	}
	w("- A pipeline trigger token, which has no scopes but runs pipelines as its owner: %d.\n", triggerExposure)
	roles := make([]string, len(rolePoints))
	for i, r := range rolePoints {
		roles[i] = fmt.Sprintf("%s (%d) +%d", r.name, r.level, r.points)
	}
	w("- Plus the role of a project or group access token: %s.\n\n", strings.Join(roles, ", "))

	w("Blast radius, at most %d: how much the token reaches.\n", maxBlast)
	w("- The token of an administrator (personal, impersonation, service account): %d.\n", blastAdmin)
	w("- A token attached to a group (group access token, group deploy token): %d plus one point\n", blastGroupBase)
	w("  per %d projects in the group, at most %d more; %d when the group's size is unknown.\n", blastGroupPer, blastGroupMaxExtra, blastGroupUnknown)
	w("- A personal, impersonation or service-account token: one point per %d projects its\n", blastPersonPer)
	w("  owner is a member of, at most %d; %d when unknown.\n", blastPersonMax, blastPersonUnknown)
	w("- A token attached to one project (project access, project deploy and trigger tokens): %d.\n\n", blastProject)

	w("Hygiene, at most %d: points for each finding of these rules, suppressed or not (an\n", maxHygiene)
	w("exception accepts a risk, it does not remove it):\n")
	scored := slices.DeleteFunc(slices.Clone(Rules), func(r Rule) bool { return r.Hygiene == 0 })
	slices.SortStableFunc(scored, func(a, b Rule) int { return cmp.Compare(b.Hygiene, a.Hygiene) })
	for _, r := range scored {
		w("- %s %s: %d\n", r.ID, r.Title, r.Hygiene)
	}
	return b.String()
}
