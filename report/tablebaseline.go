package report

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/inventory"
)

// changeMark is a token row's cell of the change column: "new token" for
// a token the baseline did not have, "N new" for N unsuppressed findings
// the matching baseline token did not have, "" for nothing new. (Not
// "+N": the findings column already shortens its list that way.)
func changeMark(tr *audit.TokenResult) string {
	if tr.Baseline == audit.ChangeNew {
		return "new token"
	}
	n := 0
	for i := range tr.Findings {
		if f := &tr.Findings[i]; !f.Suppressed && f.Baseline == audit.ChangeNew {
			n++
		}
	}
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n) + " new"
}

// baselineLine is the summary's line of the comparison: its date, the
// unsuppressed findings new (by severity), unchanged and resolved, and the
// tokens new and gone.
func baselineLine(d *audit.BaselineDiff) string {
	c := &d.Counts
	total := func(m map[audit.Severity]int) int {
		n := 0
		for _, v := range m {
			n += v
		}
		return n
	}
	news := plural(total(c.NewFindings), "new finding", "new findings")
	var bySev []string
	for _, sev := range reportSeverities {
		if n := c.NewFindings[sev]; n > 0 {
			bySev = append(bySev, strconv.Itoa(n)+" "+sev.String())
		}
	}
	if len(bySev) > 0 {
		news += " (" + strings.Join(bySev, ", ") + ")"
	}
	return fmt.Sprintf("%s: %s, %d unchanged, %d resolved, %s, %d gone",
		d.GeneratedAt.UTC().Format(time.RFC3339), news, total(c.UnchangedFindings), total(c.ResolvedFindings),
		plural(c.NewTokens, "new token", "new tokens"), c.DisappearedTokens)
}

// labeler names what a row is about (a resource, a token's resource) with
// its instance where the table shows several.
type labeler func(url, what string) string

// instanceLabel is the table's labeler: with one instance the name alone,
// with several the name and the instance's number in the summary's GitLab
// line ("acme/web [2]"), since paths repeat across instances. The number
// comes last so that a name shortened from the left keeps it.
func instanceLabel(r *audit.Result) labeler {
	urls := r.Instances()
	if len(urls) < 2 {
		return func(_, what string) string { return what }
	}
	return func(raw, what string) string {
		n := slices.Index(urls, audit.NormalizeURL(raw))
		if n < 0 { // a baseline's instance this result does not hold
			return what + " [" + raw + "]"
		}
		return what + " [" + strconv.Itoa(n+1) + "]"
	}
}

// mergedLine is the summary's GitLab line of a merged result: its
// instances, numbered as instanceLabel numbers them when there are several.
func mergedLine(r *audit.Result) string {
	urls := r.Instances()
	if len(urls) > 1 {
		for i := range urls {
			urls[i] = "[" + strconv.Itoa(i+1) + "] " + urls[i]
		}
	}
	return fmt.Sprintf("merged from %s of %s", plural(len(r.Sources), "report", "reports"), strings.Join(urls, ", "))
}

// resolvedSection lists the baseline's findings that are gone, those the
// baseline had suppressed left out as the open findings' tables leave
// them out.
func resolvedSection(d *audit.BaselineDiff, at labeler) section {
	var rows []audit.ResolvedFinding
	for _, f := range d.Resolved {
		if !f.Suppressed {
			rows = append(rows, f)
		}
	}
	return section{
		title: "Resolved since the baseline of " + d.GeneratedAt.UTC().Format(time.DateOnly),
		cols: []column{
			{header: "severity"},
			{header: "rule"},
			{header: "kind"},
			{header: "token or resource", flex: true, left: true, max: 40},
			{header: "title", flex: true, wrap: true, min: 30},
		},
		rows: func(yield func([]string, audit.Severity) bool) {
			for i := range rows {
				f := &rows[i]
				kind, of := "-", f.Resource
				if f.Token != nil {
					kind, of = tableKind(f.Token.Kind), f.Token.Name
				}
				of = at(f.GitLabURL, of)
				if !yield([]string{f.Severity.String(), f.Rule, kind, of, f.Title}, f.Severity) {
					return
				}
			}
		},
		more: func(shown int) string {
			return fmt.Sprintf("Showing the first %d of %d resolved findings; the JSON report lists them all.", shown, len(rows))
		},
	}
}

// disappearedSection lists the baseline's tokens that no token matches.
func disappearedSection(d *audit.BaselineDiff, at labeler) section {
	return section{
		title: "Tokens gone since the baseline (deleted, or no longer visible)",
		cols: []column{
			{header: "severity"},
			{header: "kind"},
			{header: "name", flex: true, max: 40},
			{header: "owner", flex: true, max: 30},
			{header: "resource", flex: true, left: true, max: 40},
		},
		rows: func(yield func([]string, audit.Severity) bool) {
			for i := range d.Disappeared {
				t := &d.Disappeared[i]
				resource := t.Resource.Path
				if t.Resource.Type == "instance" || t.Resource.Type == "" {
					resource = "instance"
				}
				resource = at(t.GitLabURL, resource)
				if !yield([]string{t.Severity.String(), tableKind(t.Kind), t.Name, orDash(t.Owner), resource}, t.Severity) {
					return
				}
			}
		},
		more: func(shown int) string {
			return fmt.Sprintf("Showing the first %d of %d tokens gone; the JSON report lists them all.", shown, len(d.Disappeared))
		},
	}
}

func tableKind(k inventory.Kind) string {
	if s, ok := tableKinds[k]; ok {
		return s
	}
	return string(k)
}
