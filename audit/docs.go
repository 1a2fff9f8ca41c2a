package audit

import (
	"fmt"
	"strings"
)

// RulesMarkdown renders the rule catalogue, the default thresholds and the
// risk-score formula as the Markdown of docs/rules.md. A test keeps the file
// in step; `go test ./audit -update` rewrites it.
func RulesMarkdown() string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("# tokenaudit rule reference\n\n")
	w("<!-- Generated from audit/catalog.go by `go test ./audit -update`. Do not edit. -->\n\n")
	w("tokenaudit judges every token against the rules below, built from GitLab's token guidance:\n")
	w("its four security principles (minimize manual rotation, smallest scope possible, expiration\n")
	w("visibility, easy rotation), its security best practices and its decision tree for choosing a\n")
	w("token type. `tokenaudit rules` prints the same catalogue.\n\n")
	w("Rule IDs are permanent: a rule is never renumbered, and a retired rule keeps its ID.\n")
	w("A token's severity is its worst finding that no exception suppresses. Rules judge active tokens\n")
	w("only, except TA-005. When the data a rule needs is missing (deploy tokens have no usage\n")
	w("data; a non-administrator cannot see other users' state), the rule's outcome is unknown:\n")
	w("neither a pass nor a finding.\n\n")

	w("| ID | Severity | Principle | Title | Applies to |\n|---|---|---|---|---|\n")
	for _, r := range Rules {
		w("| [%s](#%s) | %s | %s | %s | %s |\n", r.ID, strings.ToLower(r.ID), r.Severity, r.Principle, r.Title, r.AppliesTo())
	}
	w("\n## Rules\n")
	for _, r := range Rules {
		w("\n### %s\n\n", r.ID)
		w("**%s**\n\n", r.Title)
		w("- Severity: %s\n", r.Severity)
		w("- Principle: %s\n", r.Principle)
		w("- Applies to: %s\n", r.AppliesTo())
		if r.Hygiene != 0 {
			w("- Hygiene points: %d (see [Risk score](#risk-score))\n", r.Hygiene)
		}
		w("\n")
		w("%s\n\n", r.Rationale)
		w("Remediation: %s\n", r.Remediation)
	}

	w("\n## Policy\n\n")
	w("Every threshold can be changed in the configuration file, every rule's severity overridden and\n")
	w("any rule turned off (`rules: {TA-011: {severity: medium}, TA-050: {disabled: true}}`).\n\n")
	w("| Setting | Default | Allowed | Meaning |\n|---|---|---|---|\n")
	for _, t := range thresholds {
		w("| `%s` | %d %s | %s | %s |\n", t.key, t.def, t.unit, t.allowed(), t.meaning)
	}
	w("| `legacy_bot_users` | none | usernames, glob patterns | human-type accounts used by automation (TA-040) |\n")
	w("\nExceptions accept a known risk until a date. Each names a rule (or `*`, every rule, for one token\n")
	w("named by kind and id), what it covers (`kind` and `id`; `owner` and/or `name` glob patterns,\n")
	w("optionally narrowed by `kind`; or a `resource` pattern such as `project acme/*` for instance and\n")
	w("project rules), a required `reason` and a required `expires` date (YYYY-MM-DD). From 00:00 UTC on\n")
	w("that date the exception no longer applies and the report lists it as expired. A suppressed finding\n")
	w("stays in the report, marked suppressed, and counts toward neither the token's severity nor\n")
	w("`--fail-on`.\n")

	w("\n## Risk score\n\n")
	b.WriteString(scoreFormula())
	return b.String()
}
