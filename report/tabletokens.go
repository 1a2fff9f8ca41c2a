package report

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/inventory"
)

// scoreNote is the line under the token table that says why a row of a
// lower risk can have a higher severity (audit/score.go has the formula).
const scoreNote = "severity is the worst open finding; risk (0-100) adds scopes, reach, hygiene."

// tokenSection lists the tokens with open findings, worst first, each by
// what a reader tells it apart by: its name, kind and ID, owner, resource,
// expiry, last use and its worst finding. A token's Severity counts
// unsuppressed findings only.
func tokenSection(r *audit.Result, at labeler) section {
	tokens, base := r.Tokens, r.Baseline
	order := tableOrder(tokens, at)
	s := section{
		title: "Tokens with findings, worst first",
		cols: []column{
			{header: "severity", stacked: true},
			{header: "token", flex: true, wrap: true, stacked: true, min: 12, max: 60},
			{header: "owner", flex: true, wrap: true, stacked: true, min: 12, max: 50},
			{header: "expires", stacked: true},
			{header: "top finding", flex: true, wrap: true, stacked: true, min: 16, max: 60},
		},
		spaced: true,
		rows: func(yield func([]string, audit.Severity) bool) {
			for _, i := range order {
				tr := &tokens[i]
				if !yield(tokenRow(tr, r.Now, at, base != nil), tr.Severity) {
					return
				}
			}
		},
		more: func(shown int) string {
			return fmt.Sprintf("Showing the %d worst of %d tokens with findings, %d left out: --all shows every one, --limit N the N worst; the CSV and JSON reports list every token.",
				shown, len(order), len(order)-shown)
		},
		empty: "No token has open findings.",
		notes: []string{scoreNote},
	}
	if without := len(tokens) - len(order); without > 0 {
		s.footer = plural(without, "token", "tokens") + " without findings not shown."
	}
	if base != nil {
		s.footer = strings.TrimSpace(s.footer + " new token: one the baseline of " +
			base.GeneratedAt.UTC().Format(time.DateOnly) + " did not have; N new: N findings it did not have on a token it had.")
	}
	return s
}

// tableOrder returns the indexes of the tokens with open findings in the
// table's order: severity, risk, then what a reader sees of two tokens
// alike (expiry, soonest first and never last; owner; name; kind and ID),
// so that no two rows look the same and ties do not depend on the
// result's order.
func tableOrder(tokens []audit.TokenResult, at labeler) []int {
	var order []int
	owners := map[int]string{}
	for i := range tokens {
		if tokens[i].Severity >= audit.SeverityInfo {
			order = append(order, i)
		}
	}
	owner := func(i int) string {
		o, ok := owners[i]
		if !ok {
			o = ownerLines(&tokens[i], at)
			owners[i] = o
		}
		return o
	}
	expiry := func(t *inventory.Token) (never bool, at time.Time) { return t.Expires.Never(), t.Expires.At }
	slices.SortStableFunc(order, func(i, j int) int {
		a, b := &tokens[i], &tokens[j]
		if c := cmp.Or(cmp.Compare(b.Severity, a.Severity), cmp.Compare(b.RiskScore, a.RiskScore)); c != 0 {
			return c
		}
		an, aa := expiry(&a.Token)
		bn, ba := expiry(&b.Token)
		switch {
		case an != bn && an:
			return 1
		case an != bn:
			return -1
		}
		return cmp.Or(aa.Compare(ba),
			strings.Compare(owner(i), owner(j)),
			strings.Compare(a.Token.Name, b.Token.Name),
			cmp.Compare(slices.Index(inventory.Kinds, a.Token.Kind), slices.Index(inventory.Kinds, b.Token.Kind)),
			cmp.Compare(a.Token.ID, b.Token.ID),
			strings.Compare(a.GitLabURL, b.GitLabURL))
	})
	return order
}

// tokenRow is a token's row: each cell's values one a line, sanitized.
func tokenRow(tr *audit.TokenResult, now time.Time, at labeler, withBaseline bool) []string {
	t := &tr.Token
	sev := tr.Severity.String() + "\nrisk " + strconv.Itoa(tr.RiskScore)
	if withBaseline {
		if m := changeMark(tr); m != "" {
			sev += "\n" + m
		}
	}
	name := sanitize(t.Name) + "\n" + tableKind(t.Kind) + " #" + strconv.FormatInt(t.ID, 10)
	return []string{sev, name, ownerLines(tr, at), expiryLines(t, tr.Active, now), topFinding(tr)}
}

// ownerLines names who holds a token and what it is attached to, sanitized:
// a person's token its owner (the instance goes without saying), a project
// or group access token its project or group (its bot's username says
// nothing more), a deploy token its username and project or group, a
// trigger its owner and project.
func ownerLines(tr *audit.TokenResult, at labeler) string {
	t := &tr.Token
	var who string
	switch {
	case t.Owner != nil && t.Owner.Type != inventory.OwnerProjectBot && t.Owner.Type != inventory.OwnerGroupBot:
		who = sanitize(t.Owner.Username)
		if t.Owner.Admin {
			who += " (admin)"
		}
	case t.Kind == inventory.KindDeploy && t.Username != "":
		who = sanitize(t.Username)
	}
	var res string
	switch {
	case t.Resource.Type == inventory.ResourceInstance:
	case t.Resource.Path != "":
		res = sanitize(t.Resource.Path)
	default:
		res = string(t.Resource.Type) + " #" + strconv.FormatInt(t.Resource.ID, 10)
	}
	// Where the table shows several instances, the label goes on the
	// resource, or on the owner of a token that has none.
	switch {
	case res != "":
		res = at(tr.GitLabURL, res)
	case who != "":
		who = at(tr.GitLabURL, who)
	}
	switch {
	case who == "" && res == "":
		return "-"
	case who == "":
		return res
	case res == "":
		return who
	}
	return who + "\n" + res
}

// expiryLines is when a token stops working and when it was last used,
// in days from the result's now: "in 30 d", "expired 12 d ago", "never";
// "used 3 d ago", "never used", "use unknown" (GitLab does not say).
func expiryLines(t *inventory.Token, active bool, now time.Time) string {
	var exp string
	switch {
	case t.Revoked:
		exp = "revoked"
	case t.Expires.Never():
		exp = "never"
	case !t.Expires.At.After(now):
		exp = "expired " + daysAgo(now.Sub(t.Expires.At))
	default:
		if d := days(t.Expires.At.Sub(now)); d == 0 {
			exp = "today"
		} else {
			exp = "in " + strconv.Itoa(d) + " d"
		}
	}
	if !active && exp == "never" {
		exp = "inactive"
	}
	used := "use unknown"
	switch {
	case !t.UsageReported:
	case t.LastUsedAt.IsZero():
		used = "never used"
	default:
		used = "used " + daysAgo(now.Sub(t.LastUsedAt))
	}
	return exp + "\n" + used
}

// days is d in whole days, rounded down, never negative.
func days(d time.Duration) int { return max(0, int(d/(24*time.Hour))) }

func daysAgo(d time.Duration) string {
	if n := days(d); n > 0 {
		return strconv.Itoa(n) + " d ago"
	}
	return "today"
}

// topFinding is a token's worst open finding (Findings are worst first)
// by its title and rule, and how many more it has.
func topFinding(tr *audit.TokenResult) string {
	var top *audit.Finding
	more := 0
	for i := range tr.Findings {
		if f := &tr.Findings[i]; !f.Suppressed {
			if top == nil {
				top = f
			} else {
				more++
			}
		}
	}
	if top == nil {
		return "-"
	}
	s := sanitize(top.Title) + "\n" + sanitize(top.Rule)
	if more > 0 {
		s += ", " + strconv.Itoa(more) + " more"
	}
	return s
}

// suppressedSection lists the findings an exception suppresses, of tokens
// and of no token, with the exception's reason: they stay in the report,
// marked as suppressed, as the README promises.
func suppressedSection(r *audit.Result, at labeler) section {
	type row struct {
		cells []string
		sev   audit.Severity
	}
	var rows []row
	reason := func(f *audit.Finding) string {
		if f.SuppressionReason == "" {
			return "(no reason given)"
		}
		return f.SuppressionReason
	}
	for i := range r.Tokens {
		tr := &r.Tokens[i]
		for j := range tr.Findings {
			if f := &tr.Findings[j]; f.Suppressed {
				of := sanitize(tr.Token.Name) + "\n" + tableKind(tr.Token.Kind) + " #" + strconv.FormatInt(tr.Token.ID, 10)
				rows = append(rows, row{[]string{f.Severity.String() + "\n" + sanitize(f.Rule), of, sanitize(f.Title), sanitize(reason(f))}, f.Severity})
			}
		}
	}
	for i := range r.Findings {
		if f := &r.Findings[i]; f.Suppressed {
			rows = append(rows, row{[]string{f.Severity.String() + "\n" + sanitize(f.Rule), sanitize(at(f.GitLabURL, f.Resource)), sanitize(f.Title), sanitize(reason(&f.Finding))}, f.Severity})
		}
	}
	slices.SortStableFunc(rows, func(a, b row) int { return cmp.Compare(b.sev, a.sev) })
	return section{
		title: "Suppressed by an exception (not counted toward --fail-on)",
		cols: []column{
			{header: "severity", stacked: true},
			{header: "token or resource", flex: true, wrap: true, stacked: true, min: 12, max: 50},
			{header: "finding", flex: true, wrap: true, stacked: true, min: 12, max: 50},
			{header: "reason", flex: true, wrap: true, stacked: true, min: 16},
		},
		spaced: true,
		rows: func(yield func([]string, audit.Severity) bool) {
			for _, r := range rows {
				if !yield(r.cells, r.sev) {
					return
				}
			}
		},
		more: func(shown int) string {
			return fmt.Sprintf("Showing the first %d of %d suppressed findings, %d left out: --all shows every one; the JSON report lists them all.", shown, len(rows), len(rows)-shown)
		},
	}
}
