package report

import (
	"cmp"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/inventory"
)

// HTMLWriter writes one self-contained HTML page: the summary, SVG charts
// drawn here, and the token table, which the page's own script builds from
// the JSON block it embeds and lets a reader sort and filter. The page
// loads nothing: its CSS and script are inline and its Content Security
// Policy allows nothing else, those two by hash.
//
// Every value goes through html/template, GitLab's text being user input:
// the charts' labels are escaped as HTML, the data block as JSON inside a
// script element, and the script writes cells with textContent only.
type HTMLWriter struct {
	Options Options
}

var _ Writer = HTMLWriter{}

var (
	//go:embed html/report.html.tmpl
	htmlPage string
	//go:embed html/style.css
	htmlCSS string
	//go:embed html/app.js
	htmlJS string

	htmlTemplate = template.Must(template.New("report").Parse(htmlPage))
	// The policy names the inline style and script by hash, so that
	// anything else that found its way into the page would not run.
	htmlCSP = "default-src 'none'; img-src data:; style-src " + cspHash(htmlCSS) + "; script-src " + cspHash(htmlJS)
)

func cspHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// htmlWeeks is how far ahead the expiry chart looks: six months.
const htmlWeeks = 26

// htmlTop is how many owners and resources the risk charts show.
const htmlTop = 10

type htmlPageData struct {
	CSP         string
	CSS         template.CSS
	JS          template.JS
	Title       string
	GeneratedAt string
	GitLab      string
	Version     string
	Mode        string
	Complete    bool
	Cards       []htmlCard
	Expiry      htmlColumns
	Severity    htmlBars
	Kinds       htmlBars
	Owners      htmlBars
	Resources   htmlBars
	Data        htmlData
}

// htmlCard is one count of the summary; the browser test reads it back by
// its ID.
type htmlCard struct {
	ID, Label string
	N         int
	Class     string
}

// htmlData is the JSON block that the page's script reads.
type htmlData struct {
	Summary htmlSummary `json:"summary"`
	Tokens  []htmlToken `json:"tokens"`
}

type htmlSummary struct {
	Tokens     int           `json:"tokens"`
	BySeverity orderedCounts `json:"by_severity"`
	ByKind     orderedCounts `json:"by_kind"`
	Findings   orderedCounts `json:"findings"`
	Suppressed int           `json:"suppressed"`
	Gaps       int           `json:"gaps"`
	GapErrors  int           `json:"gap_errors"`
	Complete   bool          `json:"complete"`
}

type htmlToken struct {
	Kind     string `json:"kind"`
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	Owner    string `json:"owner"`
	Resource string `json:"resource"`
	Scopes   string `json:"scopes"`
	Severity string `json:"severity"`
	// Rank orders severities for sorting: 0 none to 5 critical.
	Rank     int    `json:"rank"`
	Risk     int    `json:"risk"`
	Active   bool   `json:"active"`
	Expires  string `json:"expires"` // "" never
	LastUsed string `json:"last_used"`
	Findings string `json:"findings"`
	Top      string `json:"top"`
	GitLab   string `json:"gitlab_url,omitempty"`
}

// htmlBars is a horizontal bar chart.
type htmlBars struct {
	Title, Empty string
	Height       int
	Bars         []htmlBar
}

type htmlBar struct {
	Label, Short, Value string
	Y, TextY, W         int
	Class               string
}

// htmlColumns is the vertical bar chart of expiries per week.
type htmlColumns struct {
	Height, BaseY int
	Cols          []htmlColumn
	Never         int
	Ticks         []htmlTick
}

type htmlColumn struct {
	X, Y, H, N int
	Label      string // the week, for the tooltip
	Class      string
}

type htmlTick struct {
	X     int
	Label string
}

// Write implements Writer.
func (HTMLWriter) Write(w io.Writer, r *audit.Result) error {
	if r == nil {
		return fmt.Errorf("write html report: %w", errNilResult)
	}
	if err := htmlTemplate.Execute(w, htmlPageFor(r)); err != nil {
		return fmt.Errorf("write html report: %w", err)
	}
	return nil
}

func htmlPageFor(r *audit.Result) *htmlPageData {
	var inv inventory.Inventory
	if r.Inventory != nil {
		inv = *r.Inventory
	}
	sum := r.Summary
	p := &htmlPageData{
		CSP:         htmlCSP,
		CSS:         template.CSS(htmlCSS), // a constant of the binary
		JS:          template.JS(htmlJS),   // likewise
		Title:       "tokenaudit report",
		GeneratedAt: formatTime(r.Now),
		GitLab:      sanitize(inv.GitLab.URL),
		Version:     sanitize(inv.GitLab.Version),
		Mode:        string(inv.GitLab.Mode),
		Complete:    sum.Complete,
	}
	if p.GitLab != "" {
		p.Title += " for " + p.GitLab
	}
	findings := 0
	for _, n := range sum.Findings {
		findings += n
	}
	p.Cards = []htmlCard{
		{ID: "sum-tokens", Label: "tokens", N: sum.Tokens},
		{ID: "sum-findings", Label: "open findings", N: findings},
	}
	for _, s := range reportSeverities[:5] {
		p.Cards = append(p.Cards, htmlCard{ID: "sum-sev-" + s.String(), Label: s.String() + " tokens", N: sum.BySeverity[s], Class: "sev-" + s.String()})
	}
	p.Cards = append(p.Cards,
		htmlCard{ID: "sum-suppressed", Label: "suppressed", N: sum.Suppressed},
		htmlCard{ID: "sum-gaps", Label: "gaps", N: sum.Gaps},
	)

	p.Data = htmlData{
		Summary: htmlSummary{
			Tokens: sum.Tokens, BySeverity: severityCounts(sum.BySeverity, true),
			ByKind: kindCounts(sum.ByKind), Findings: severityCounts(sum.Findings, false),
			Suppressed: sum.Suppressed, Gaps: sum.Gaps, GapErrors: sum.GapErrors, Complete: sum.Complete,
		},
		Tokens: make([]htmlToken, 0, len(r.Tokens)),
	}
	for i := range r.Tokens {
		p.Data.Tokens = append(p.Data.Tokens, htmlTokenRow(&r.Tokens[i]))
	}

	p.Expiry = expiryColumns(r)
	var sevBars []htmlBar
	for _, s := range reportSeverities[:5] {
		sevBars = append(sevBars, htmlBar{Label: s.String(), Value: strconv.Itoa(sum.Findings[s]), W: sum.Findings[s], Class: "sev-" + s.String()})
	}
	p.Severity = layoutBars("Open findings by severity", "No open findings.", sevBars)
	p.Kinds = layoutBars("Open findings by token kind", "No open findings.", findingsByKind(r))
	owners, resources := riskiest(r)
	p.Owners = layoutBars("Riskiest owners (total risk score)", "No token carries risk.", owners)
	p.Resources = layoutBars("Riskiest projects and groups (total risk score)", "No project or group token carries risk.", resources)
	return p
}

func htmlTokenRow(tr *audit.TokenResult) htmlToken {
	t := &tr.Token
	var rules []string
	for _, f := range tr.Findings {
		if !f.Suppressed {
			rules = append(rules, f.Rule)
		}
	}
	row := htmlToken{
		Kind: string(t.Kind), ID: t.ID, Name: sanitize(t.Name),
		Owner: htmlOwner(t), Resource: htmlResource(t.Resource),
		Scopes:   sanitize(strings.Join(t.Scopes, ", ")),
		Severity: tr.Severity.String(), Rank: int(tr.Severity), Risk: tr.RiskScore,
		Active:   tr.Active,
		Expires:  string(appendExpiry(nil, t.Expires, true)),
		Findings: strings.Join(rules, " "),
		Top:      sanitize(strings.ReplaceAll(topFinding(tr), "\n", " ")),
		GitLab:   sanitize(tr.GitLabURL),
	}
	// GitLab reports the usage of every kind but deploy tokens; saying so
	// by kind keeps the page the same for a result read back from JSON.
	switch {
	case t.Kind == inventory.KindDeploy && !t.UsageReported:
		row.LastUsed = "unknown"
	case t.LastUsedAt.IsZero():
		row.LastUsed = "never"
	default:
		row.LastUsed = t.LastUsedAt.UTC().Format(time.DateOnly)
	}
	return row
}

// htmlOwner names the account behind a token: a person or service account
// by username, a deploy token by its own username; a bot's username says
// nothing its resource does not, so it goes without.
func htmlOwner(t *inventory.Token) string {
	switch {
	case t.Owner != nil && t.Owner.Type != inventory.OwnerProjectBot && t.Owner.Type != inventory.OwnerGroupBot:
		return sanitize(t.Owner.Username)
	case t.Kind == inventory.KindDeploy && t.Username != "":
		return sanitize(t.Username)
	}
	return ""
}

func htmlResource(res inventory.Resource) string {
	switch {
	case res.Type == inventory.ResourceInstance:
		return "instance"
	case res.Path != "":
		return sanitize(res.Path)
	}
	return string(res.Type) + " #" + strconv.FormatInt(res.ID, 10)
}

// expiryColumns counts the tokens that work now by the week they stop
// working in, over the next htmlWeeks weeks, and those that never do.
func expiryColumns(r *audit.Result) htmlColumns {
	const (
		left, colW, gap, plot = 8, 18, 4, 160
		top                   = 16
	)
	counts := make([]int, htmlWeeks+1) // the last is never
	for i := range r.Tokens {
		tr := &r.Tokens[i]
		if !tr.Active {
			continue
		}
		if tr.Token.Expires.Never() {
			counts[htmlWeeks]++
			continue
		}
		d := tr.Token.Expires.At.Sub(r.Now)
		if d < 0 {
			continue
		}
		if wk := int(d / (7 * 24 * time.Hour)); wk < htmlWeeks {
			counts[wk]++
		}
	}
	most := max(1, slices.Max(counts))
	c := htmlColumns{Height: top + plot + 34, BaseY: top + plot, Never: counts[htmlWeeks]}
	for i, n := range counts {
		h := n * plot / most
		if n > 0 && h < 2 {
			h = 2
		}
		x := left + i*(colW+gap)
		col := htmlColumn{X: x, Y: top + plot - h, H: h, N: n, Class: "bar"}
		if i == htmlWeeks {
			x += 2 * gap // set apart from the weeks
			col.X = x
			col.Label = "never expire"
			col.Class = "bar never"
			c.Ticks = append(c.Ticks, htmlTick{X: x + colW/2, Label: "never"})
		} else {
			from := r.Now.UTC().AddDate(0, 0, 7*i)
			col.Label = "week of " + from.Format(time.DateOnly)
			if i%4 == 0 {
				c.Ticks = append(c.Ticks, htmlTick{X: x + colW/2, Label: from.Format("Jan 2")})
			}
		}
		c.Cols = append(c.Cols, col)
	}
	return c
}

// findingsByKind counts open findings of tokens by the token's kind.
func findingsByKind(r *audit.Result) []htmlBar {
	n := map[inventory.Kind]int{}
	for i := range r.Tokens {
		for _, f := range r.Tokens[i].Findings {
			if !f.Suppressed {
				n[r.Tokens[i].Token.Kind]++
			}
		}
	}
	var bars []htmlBar
	for _, k := range inventory.Kinds {
		if n[k] > 0 {
			bars = append(bars, htmlBar{Label: string(k), Value: strconv.Itoa(n[k]), W: n[k], Class: "bar"})
		}
	}
	return bars
}

// riskiest sums the risk scores of the tokens that work now by owner and
// by project or group, the htmlTop highest of each (ties by name).
func riskiest(r *audit.Result) (owners, resources []htmlBar) {
	type acc struct{ risk, tokens int }
	byOwner, byRes := map[string]*acc{}, map[string]*acc{}
	add := func(m map[string]*acc, key string, risk int) {
		if key == "" || risk == 0 {
			return
		}
		a := m[key]
		if a == nil {
			a = &acc{}
			m[key] = a
		}
		a.risk += risk
		a.tokens++
	}
	for i := range r.Tokens {
		tr := &r.Tokens[i]
		if !tr.Active {
			continue
		}
		add(byOwner, htmlOwner(&tr.Token), tr.RiskScore)
		if tr.Token.Resource.Type != inventory.ResourceInstance {
			add(byRes, htmlResource(tr.Token.Resource), tr.RiskScore)
		}
	}
	top := func(m map[string]*acc) []htmlBar {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b string) int {
			return cmp.Or(cmp.Compare(m[b].risk, m[a].risk), cmp.Compare(a, b))
		})
		var bars []htmlBar
		for _, k := range keys[:min(len(keys), htmlTop)] {
			a := m[k]
			bars = append(bars, htmlBar{Label: k, W: a.risk, Class: "bar",
				Value: strconv.Itoa(a.risk) + " (" + plural(a.tokens, "token", "tokens") + ")"})
		}
		return bars
	}
	return top(byOwner), top(byRes)
}

// layoutBars places horizontal bars, their W the value to scale.
func layoutBars(title, empty string, bars []htmlBar) htmlBars {
	const rowH, barMax = 22, 300
	most := 1
	for _, b := range bars {
		most = max(most, b.W)
	}
	for i := range bars {
		n := bars[i].W
		bars[i].W = n * barMax / most
		if n > 0 && bars[i].W < 2 {
			bars[i].W = 2
		}
		bars[i].Short = truncate(bars[i].Label, 28, false)
		bars[i].Y = i * rowH
		bars[i].TextY = i*rowH + 15
		if bars[i].Class == "" {
			bars[i].Class = "bar"
		}
	}
	return htmlBars{Title: title, Empty: empty, Height: max(rowH, len(bars)*rowH), Bars: bars}
}
