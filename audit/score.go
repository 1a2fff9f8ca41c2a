package audit

import "github.com/tokenaudit/tokenaudit/inventory"

// ScoreFormula documents Score; docs/rules.md prints it.
const ScoreFormula = `A token's risk score runs from 0 (no risk) to 100 and is the sum of three capped parts.
An inactive token (expired or revoked) scores 0: it no longer works.

Exposure, at most 40: what the token may do.
- The widest scope: sudo or admin_mode 40; api 30; a scope tokenaudit does not know 15;
  a write scope (write_repository, write_registry, write_package_registry,
  write_virtual_registry, write_observability, create_runner, manage_runner, k8s_proxy,
  ai_features) 15; read_api or read_user 10; any other scope 5. A pipeline trigger token,
  which has no scopes but runs pipelines as its owner, counts 20.
- Plus the role of a project or group access token: Owner (50) +10, Maintainer (40) +5.

Blast radius, at most 35: how much the token reaches.
- The token of an administrator (personal, impersonation, service account): 35.
- A token attached to a group (group access token, group deploy token): 15 plus one point
  per 5 projects in the group, at most 20 more; 25 when the group's size is unknown.
- A personal, impersonation or service-account token: half the number of projects its
  owner is a member of, at most 30; 10 when unknown.
- A token attached to one project (project access, project deploy and trigger tokens): 5.

Hygiene, at most 25: points for each finding of these rules, suppressed or not (an
exception accepts a risk, it does not remove it):
- never expires (TA-001, TA-060) 15; owner blocked, deactivated or gone (TA-041, TA-062) 12;
  not used recently (TA-030, TA-063) 10; lifetime over the maximum (TA-002) 8;
  never used (TA-031) 8; not rotated (TA-050) 5; legacy bot-user token (TA-040) 5.`

// Parts of the score. Changing one changes ScoreFormula too.
const (
	maxExposure = 40
	maxBlast    = 35
	maxHygiene  = 25
)

var (
	writeScopes = set("write_repository", "write_registry", "write_package_registry", "write_virtual_registry",
		"write_observability", "create_runner", "manage_runner", "k8s_proxy", "ai_features")
	readAPIScopes = set("read_api", "read_user")
	hygienePoints = map[string]int{
		"TA-001": 15, "TA-060": 15,
		"TA-041": 12, "TA-062": 12,
		"TA-030": 10, "TA-063": 10,
		"TA-002": 8, "TA-031": 8,
		"TA-050": 5, "TA-040": 5,
	}
)

// Score computes a token's risk score, 0 to 100, from the token's facts
// (exposure, blast radius) and its findings (hygiene), as ScoreFormula
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
		widest = 20
	}
	for _, s := range t.Scopes {
		var w int
		switch {
		case adminScopes[s]:
			w = 40
		case s == "api":
			w = 30
		case !knownScopes[s]:
			w = 15
		case writeScopes[s]:
			w = 15
		case readAPIScopes[s]:
			w = 10
		default:
			w = 5
		}
		widest = max(widest, w)
	}
	switch {
	case t.AccessLevel >= 50:
		widest += 10
	case t.AccessLevel >= 40:
		widest += 5
	}
	return widest
}

func blast(t *inventory.Token) int {
	switch t.Kind {
	case inventory.KindPersonal, inventory.KindImpersonation, inventory.KindServiceAccount:
		switch {
		case t.Owner != nil && t.Owner.Admin:
			return 35
		case t.Owner == nil || t.Owner.ProjectsReachable < 0:
			return 10
		}
		return min(t.Owner.ProjectsReachable/2, 30)
	}
	if t.Resource.Type == inventory.ResourceGroup {
		if t.Resource.Projects < 0 {
			return 25
		}
		return 15 + min(t.Resource.Projects/5, 20)
	}
	return 5
}

func hygiene(findings []Finding) int {
	total := 0
	for _, f := range findings {
		total += hygienePoints[f.Rule]
	}
	return total
}
