package report

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/inventory"
)

func lines(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }

// tokenRows returns the severities of the token rows of a table: the
// lines of the token section that start with a severity.
func tokenRows(out string) []string {
	var sevs []string
	in := false
	for _, l := range lines(out) {
		switch {
		case l == "Tokens with findings, worst first":
			in = true
		case in && (l == "" || strings.HasPrefix(l, " ") || strings.HasPrefix(l, "risk ") || strings.HasPrefix(l, "SEVERITY") || strings.HasPrefix(l, "─")):
		case in:
			f := strings.Fields(l)
			if len(f) == 0 || !slices.Contains([]string{"critical", "high", "medium", "low", "info"}, f[0]) {
				return sevs
			}
			sevs = append(sevs, f[0])
		}
	}
	return sevs
}

// TestTableWidth: no line is wider than the terminal, at 80 columns (the
// default) and wider, with or without colour.
func TestTableWidth(t *testing.T) {
	for _, opts := range []Options{{}, {Width: 80, Color: true}, {Width: 100}, {Width: 132}, {Width: 200, MaxRows: -1}} {
		for _, tc := range goldenCases {
			out := string(render(t, "table", tc.result(), opts))
			width := opts.Width
			if width == 0 {
				width = 80
			}
			for i, l := range lines(out) {
				if w := displayWidth(l); w > width {
					t.Errorf("%s at %+v: line %d is %d wide:\n%s", tc.name, opts, i+1, w, l)
				}
			}
		}
	}
}

func TestTableContent(t *testing.T) {
	out := string(render(t, "table", richResult(), Options{}))
	// Worst first, as the result orders them; clean tokens are counted, not listed.
	order := tokenRows(out)
	if got, want := strings.Join(order, ","), "critical,high,medium,medium,low,info"; got != want {
		t.Errorf("token rows by severity = %s, want %s\n%s", got, want, out)
	}
	for _, want := range []string{
		"2 tokens without findings not shown.",
		"TA-001, 1 more",   // the top finding's rule and a count of the rest
		"TA-030", "TA-031", // resource findings
		"group acme/legacy",       // gaps
		"INCOMPLETE",              // an error gap
		"1234 requests in 2.346s", // stats
		"17.5.1-ee",               // version
		"TA-004 for personal:101", // expired exception
		"critical 1, high 1, medium 2, low 1, info 1, none 2",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "laptop") {
		t.Errorf("table shows a token without open findings\n%s", out)
	}
	// Suppressed findings are listed as such, with the exception's reason.
	joined := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{
		"Suppressed by an exception",
		"public mirror",
		"release token, used", "(SEC-42)",
		"+sa-token", "(no reason given)",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

// TestTableNotJudged: the summary counts the rule checks that lacked data
// and the tokens they were on, and says so when there were none.
func TestTableNotJudged(t *testing.T) {
	none := richResult()
	for i := range none.Tokens {
		none.Tokens[i].Unknown = nil
	}
	one := richResult()
	one.Tokens = one.Tokens[:1]
	one.Tokens[0].Unknown = []string{"TA-041"}
	for _, tc := range []struct {
		name string
		r    *audit.Result
		want string
	}{
		{"rich", richResult(), "Not judged 4 rule checks on 3 tokens lacked data, listed as unknown in the CSV and JSON reports"},
		{"one", one, "Not judged 1 rule check on 1 token lacked data, listed as unknown in the CSV and JSON reports"},
		{"none", none, "Not judged none: every rule had the data it needs"},
		{"no tokens", emptyResult(), "Not judged none: every rule had the data it needs"},
	} {
		out := string(render(t, "table", tc.r, Options{}))
		if !strings.Contains(strings.Join(strings.Fields(out), " "), tc.want) {
			t.Errorf("%s: table lacks %q:\n%s", tc.name, tc.want, out)
		}
		if strings.Count(out, "Not judged") != 1 {
			t.Errorf("%s: want one Not judged line:\n%s", tc.name, out)
		}
	}
}

// TestTableMaxRows: past MaxRows the table says how many it left out.
func TestTableMaxRows(t *testing.T) {
	r := richResult()
	for _, tc := range []struct {
		maxRows, rows int
		note          string
	}{
		{0, 6, ""},
		{2, 2, "Showing the 2 worst of 6 tokens with findings"},
		{-1, 6, ""},
	} {
		out := string(render(t, "table", r, Options{MaxRows: tc.maxRows, Width: 120}))
		if rows := len(tokenRows(out)); rows != tc.rows {
			t.Errorf("MaxRows %d: %d token rows, want %d\n%s", tc.maxRows, len(tokenRows(out)), tc.rows, out)
		}
		if tc.note != "" && !strings.Contains(strings.Join(strings.Fields(out), " "), tc.note) {
			t.Errorf("MaxRows %d: no note %q\n%s", tc.maxRows, tc.note, out)
		}
		if tc.note == "" && strings.Contains(out, "Showing the") {
			t.Errorf("MaxRows %d: says rows were left out\n%s", tc.maxRows, out)
		}
	}
}

// TestTableMaxRowsOtherTables: the findings of no token and the gaps are
// capped too, and say so.
func TestTableMaxRowsOtherTables(t *testing.T) {
	out := strings.Join(strings.Fields(string(render(t, "table", richResult(), Options{MaxRows: 1}))), " ")
	for _, want := range []string{
		"Showing the 1 worst of 6 tokens with findings",
		"Showing the first 1 of 2 findings not tied to a token; the JSON report lists them all.",
		"Showing the first 1 of 2 gaps; the JSON report lists them all.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("MaxRows 1: no note %q\n%s", want, out)
		}
	}
	if slices.ContainsFunc(findingSection(string(render(t, "table", richResult(), Options{MaxRows: 1}))), func(l string) bool { return strings.Contains(l, "TA-031") }) ||
		strings.Contains(out, "pipeline triggers") {
		t.Errorf("MaxRows 1: rows past the cap are shown\n%s", out)
	}
}

func TestTableColor(t *testing.T) {
	plain := string(render(t, "table", richResult(), Options{}))
	if strings.Contains(plain, "\x1b") {
		t.Errorf("plain table has escape sequences:\n%q", plain)
	}
	color := string(render(t, "table", richResult(), Options{Color: true}))
	for _, want := range []string{"\x1b[1;31mcritical\x1b[0m", "\x1b[31mhigh\x1b[0m", "\x1b[33mmedium\x1b[0m"} {
		if !strings.Contains(color, want) {
			t.Errorf("colour table lacks %q", want)
		}
	}
	// Colour changes nothing but the escapes.
	if stripped := ansiRE.ReplaceAllString(color, ""); stripped != plain {
		t.Errorf("colour table differs from the plain one beyond colour:\n%s\n---\n%s", stripped, plain)
	}
}

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		in    string
		width int
		left  bool
		want  string
	}{
		{"abcdef", 6, false, "abcdef"},
		{"abcdef", 4, false, "abc…"},
		{"acme/platform/api", 8, true, "…orm/api"},
		{"令牌令牌", 5, false, "令牌…"},
		{"abc", 0, false, ""},
	} {
		if got := truncate(tc.in, tc.width, tc.left); got != tc.want {
			t.Errorf("truncate(%q, %d, %v) = %q, want %q", tc.in, tc.width, tc.left, got, tc.want)
		}
	}
	if got := truncateList("TA-001,TA-004,TA-007", 13); got != "TA-001 +2" {
		t.Errorf("truncateList = %q", got)
	}
	if got := wrapText("GET /api/v4/projects/42/triggers: 502", 10, 3); got != "GET /api/\nv4/project\ns/42/ tri…" {
		t.Errorf("wrapText = %q", got)
	}
}

func TestSanitize(t *testing.T) {
	for in, want := range map[string]string{
		"plain ünïcödé 令牌": "plain ünïcödé 令牌",
		"a\nb":             `a\nb`,
		"\x1b[2J":          `\x1b[2J`,
		"\u202eevil":       `\u202eevil`,
		"bad\xffbyte":      `bad\xffbyte`,
	} {
		if got := sanitize(in); got != want {
			t.Errorf("sanitize(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestTableManyTokens: with 100,000 tokens the table lists the default 50
// worst and counts the rest.
func TestTableManyTokens(t *testing.T) {
	r := syntheticResult(100_000)
	out := string(render(t, "table", r, Options{}))
	withFindings := 0
	for _, tr := range r.Tokens {
		if tr.Severity >= audit.SeverityInfo {
			withFindings++
		}
	}
	note := fmt.Sprintf("Showing the %d worst of %d tokens with findings", DefaultMaxRows, withFindings)
	if !strings.Contains(strings.Join(strings.Fields(out), " "), note) {
		t.Errorf("no note %q:\n%s", note, out)
	}
	if n := len(lines(out)); n > 10*DefaultMaxRows+40 {
		t.Errorf("table of 100,000 tokens has %d lines", n)
	}
	_ = inventory.Kinds
}

// groupedResult is richResult with many findings of a few resource rules,
// out of order: 20 projects (and one suppressed) without a job token
// allowlist, a rule on exactly groupOver projects, one on 4 groups and one
// on projects and groups mixed.
func groupedResult() *audit.Result {
	r := richResult()
	add := func(resource, rule string, sev audit.Severity, title string, suppressed bool) {
		r.Findings = append(r.Findings, audit.ResourceFinding{Resource: resource, Finding: audit.Finding{
			Rule: rule, Severity: sev, Title: title, Detail: "detail", Remediation: "fix it", Suppressed: suppressed,
		}})
	}
	add("project acme/mixed", "TA-075", audit.SeverityInfo, "Mixed resources", false)
	add("group acme/mixed-group", "TA-075", audit.SeverityInfo, "Mixed resources", false)
	for i := range 20 {
		add(fmt.Sprintf("project acme/team-%02d/service-with-a-long-name", i), "TA-072", audit.SeverityMedium, "Project's CI/CD job token allowlist is off", false)
	}
	add("project acme/excused", "TA-072", audit.SeverityMedium, "Project's CI/CD job token allowlist is off", true)
	for i := range groupOver {
		add(fmt.Sprintf("project acme/three-%d", i), "TA-073", audit.SeverityLow, "Three of a kind", false)
	}
	for i := range 4 {
		add(fmt.Sprintf("group acme/g%d", i), "TA-074", audit.SeverityHigh, "Group rule", false)
	}
	add("project acme/mixed-2", "TA-075", audit.SeverityInfo, "Mixed resources", false)
	add("group acme/mixed-group-2", "TA-075", audit.SeverityInfo, "Mixed resources", false)
	return r
}

// findingSection returns the lines of the table of findings not tied to a
// token, without its title and header.
func findingSection(out string) []string {
	ls := lines(out)
	start := slices.Index(ls, "Findings not tied to a token")
	if start < 0 {
		return nil
	}
	var section []string
	for _, l := range ls[start+3:] {
		if l == "" {
			break
		}
		section = append(section, l)
	}
	return section
}

// TestTableGroupsResourceFindings: a rule with more than groupOver
// findings on projects takes one row that counts them and names the first
// few; instance findings and smaller rules keep a row each; worst first.
func TestTableGroupsResourceFindings(t *testing.T) {
	r := groupedResult()
	out := string(render(t, "table", r, Options{Width: 200}))
	var rules []string
	for _, l := range findingSection(out) {
		if f := strings.Fields(l); len(f) > 1 && strings.HasPrefix(f[1], "TA-") {
			rules = append(rules, f[0]+" "+f[1])
		}
	}
	want := []string{
		"high TA-030", "high TA-074", "medium TA-031", "medium TA-072",
		"low TA-073", "low TA-073", "low TA-073", "info TA-075",
	}
	if !slices.Equal(rules, want) {
		t.Errorf("finding rows = %q, want %q\n%s", rules, want, out)
	}
	// The names stop at groupPathsWidth: two of these long paths, not three.
	joined := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{
		"TA-072 20 projects Project's CI/CD job token allowlist is off: acme/team-00/service-with-a-long-name, acme/team-01/service-with-a-long-name and 18 more",
		"TA-074 4 groups Group rule: acme/g0, acme/g1, acme/g2 and 1 more",
		"TA-075 4 resources Mixed resources: project acme/mixed, group acme/mixed-group, project acme/mixed-2 and 1 more",
		"TA-073 project acme/three-2 Three of a kind",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(strings.Join(findingSection(out), "\n"), "acme/excused") || strings.Contains(out, "acme/team-03") {
		t.Errorf("table names a suppressed finding or more than the first few:\n%s", out)
	}

	// At 80 columns the row wraps and keeps its count.
	out = string(render(t, "table", r, Options{}))
	if joined := strings.Join(strings.Fields(out), " "); !strings.Contains(joined, "TA-072 20 projects Project's CI/CD job token allowlist is off:") ||
		!strings.Contains(joined, "name and 18 more") {
		t.Errorf("80-column table lacks the grouped TA-072 row:\n%s", out)
	}

	// The cap counts rows, and says how many findings they stand for.
	out = strings.Join(strings.Fields(string(render(t, "table", r, Options{MaxRows: 2}))), " ")
	if note := "Showing the first 2 of 8 rows of findings not tied to a token (33 findings); the JSON report lists them all."; !strings.Contains(out, note) {
		t.Errorf("MaxRows 2: no note %q\n%s", note, out)
	}

	// The JSON still lists every finding, suppressed ones included (the
	// CSV has a row per token and none for resource findings).
	doc := string(render(t, "json", r, Options{}))
	for _, f := range r.Findings {
		if !strings.Contains(doc, `"resource": "`+f.Resource+`"`) {
			t.Errorf("JSON report lacks the finding on %s", f.Resource)
		}
	}
}

// TestTableGroupedGolden pins the layout of grouped findings at 80 columns
// and checks that no line is wider than the terminal.
func TestTableGroupedGolden(t *testing.T) {
	checkGolden(t, "grouped.table.golden", render(t, "table", groupedResult(), Options{}))
	for _, width := range []int{80, 100, 132} {
		out := string(render(t, "table", groupedResult(), Options{Width: width}))
		for i, l := range lines(out) {
			if w := displayWidth(l); w > width {
				t.Errorf("width %d: line %d is %d wide:\n%s", width, i+1, w, l)
			}
		}
	}
}

// TestTableIdentifiesTokens: each row names its token (name, kind and ID),
// its owner or resource, expiry, last use and top finding; at 200 columns
// none of that is cut, and at 80 and 200 every line fits.
func TestTableIdentifiesTokens(t *testing.T) {
	r := richResult()
	for _, width := range []int{80, 200} {
		out := string(render(t, "table", r, Options{Width: width}))
		for i, l := range lines(out) {
			if w := displayWidth(l); w > width {
				t.Errorf("width %d: line %d is %d wide:\n%s", width, i+1, w, l)
			}
		}
		out = tokenTable(out)
		if strings.Contains(out, "bot\n") || strings.Contains(out, "  bot  ") || strings.Contains(out, "instance") {
			t.Errorf("width %d: a row names its owner bot or its resource instance:\n%s", width, out)
		}
		if width < 200 {
			continue
		}
		if strings.Contains(out, ellipsis) {
			t.Errorf("width 200: something is cut:\n%s", out)
		}
		for _, want := range []string{
			"admin-automation", "personal #101", "root (admin)", "used 1 d ago", "Administrator token with sudo scope",
			"ci-release-bot-token-with-a-rather-long-descriptive-name", "project #2201", "acme/platform/backend/services/api-gateway", "in 338 d", "never used",
			"gitlab-deploy-token", "deploy #31", "use unknown",
			"imperson #400", "carol",
			"trigger #5", "alice",
			sanitize(oddMixed), "group #900",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("width 200: table lacks %q:\n%s", want, out)
			}
		}
	}
}

// tokenTable is the token section of a table, up to its notes.
func tokenTable(out string) string {
	start := strings.Index(out, "Tokens with findings")
	end := strings.Index(out, scoreNote)
	if start < 0 || end < start {
		return ""
	}
	return out[start:end]
}

// TestTableExpiry: expiry in days from the result's now, and last use.
func TestTableExpiry(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		tok  inventory.Token
		want string
	}{
		{inventory.Token{}, "never\nuse unknown"},
		{inventory.Token{Expires: inventory.Expiry{At: now.Add(-12*24*time.Hour - time.Hour)}, UsageReported: true}, "expired 12 d ago\nnever used"},
		{inventory.Token{Expires: inventory.Expiry{At: now.Add(30*24*time.Hour + time.Hour)}, LastUsedAt: now.Add(-time.Hour), UsageReported: true}, "in 30 d\nused today"},
		{inventory.Token{Expires: inventory.Expiry{At: now.Add(time.Hour)}, LastUsedAt: now.Add(-50 * time.Hour), UsageReported: true}, "today\nused 2 d ago"},
		{inventory.Token{Revoked: true}, "revoked\nuse unknown"},
	} {
		if got := expiryLines(&tc.tok, !tc.tok.Revoked, now); got != tc.want {
			t.Errorf("expiryLines(%+v) = %q, want %q", tc.tok.Expires, got, tc.want)
		}
	}
}

// TestTableTies: two tokens alike in everything but their ID are two rows
// that show their IDs, the lower first, whatever the result's order.
func TestTableTies(t *testing.T) {
	r := richResult()
	twin := r.Tokens[0]
	twin.Token.ID = 99
	r.Tokens = append([]audit.TokenResult{r.Tokens[0], twin}, r.Tokens[1:]...)
	for _, width := range []int{80, 200} {
		out := string(render(t, "table", r, Options{Width: width}))
		i, j := strings.Index(out, "personal #99 "), strings.Index(out, "personal #101 ")
		if i < 0 || j < 0 || i > j {
			t.Errorf("width %d: want personal #99, then personal #101:\n%s", width, out)
		}
	}
}

// TestTableLimitNote: the table says how many rows it left out and how to
// see them, and why risk and severity may disagree.
func TestTableLimitNote(t *testing.T) {
	out := strings.Join(strings.Fields(string(render(t, "table", richResult(), Options{MaxRows: 2}))), " ")
	for _, want := range []string{
		"Showing the 2 worst of 6 tokens with findings, 4 left out: --all shows every one, --limit N the N worst;",
		strings.Join(strings.Fields(scoreNote), " "),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if displayWidth(scoreNote) > 80 {
		t.Errorf("the score note takes more than a line at 80 columns: %q", scoreNote)
	}
}

// TestTableOwner: who holds a token, as the owner column names it.
func TestTableOwner(t *testing.T) {
	at := func(_, what string) string { return what }
	project := inventory.Resource{Type: inventory.ResourceProject, ID: 7, Path: "acme/web"}
	for _, tc := range []struct {
		tok  inventory.Token
		want string
	}{
		{inventory.Token{Kind: inventory.KindPersonal, Owner: &inventory.Owner{Username: "root", Admin: true}, Resource: inventory.Resource{Type: inventory.ResourceInstance}}, "root (admin)"},
		{inventory.Token{Kind: inventory.KindProjectAccess, Owner: &inventory.Owner{Username: "project_7_bot_1a2b", Type: inventory.OwnerProjectBot}, Resource: project}, "acme/web"},
		{inventory.Token{Kind: inventory.KindDeploy, Username: "gitlab+deploy-token-5", Resource: project}, "gitlab+deploy-token-5\nacme/web"},
		{inventory.Token{Kind: inventory.KindDeploy, Resource: inventory.Resource{Type: inventory.ResourceGroup, ID: 9}}, "group #9"},
		{inventory.Token{Kind: inventory.KindPipelineTrigger, Owner: &inventory.Owner{Username: "alice"}, Resource: project}, "alice\nacme/web"},
	} {
		if got := ownerLines(&audit.TokenResult{Token: tc.tok}, at); got != tc.want {
			t.Errorf("%s: owner %q, want %q", tc.tok.Kind, got, tc.want)
		}
	}
}
