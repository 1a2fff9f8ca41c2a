package report

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/collect"
	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
	"github.com/tokenaudit/tokenaudit/inventory"
)

const (
	hostileScript = `<script>alert(1)</script>`
	hostileImg    = `"><img src=x onerror=alert(1)>`
)

// hostileResult is the rich result with token names and an owner that try
// to break out of the page.
func hostileResult() *audit.Result {
	r := richResult()
	r.Tokens[0].Token.Name = hostileScript
	r.Tokens[1].Token.Name = hostileImg
	if r.Tokens[0].Token.Owner != nil {
		r.Tokens[0].Token.Owner.Username = hostileImg
	}
	return r
}

// htmlDataBlock returns the JSON the page embeds.
func htmlDataBlock(t *testing.T, page []byte) htmlData {
	t.Helper()
	m := regexp.MustCompile(`(?s)<script type="application/json" id="data">(.*?)</script>`).FindSubmatch(page)
	if m == nil {
		t.Fatal("the page has no JSON data block")
	}
	var d htmlData
	var raw struct {
		Summary struct {
			Tokens     int            `json:"tokens"`
			BySeverity map[string]int `json:"by_severity"`
			Findings   map[string]int `json:"findings"`
		} `json:"summary"`
		Tokens []htmlToken `json:"tokens"`
	}
	if err := json.Unmarshal(m[1], &raw); err != nil {
		t.Fatalf("data block is no JSON: %v", err)
	}
	d.Summary.Tokens = raw.Summary.Tokens
	for _, s := range reportSeverities {
		d.Summary.BySeverity = append(d.Summary.BySeverity, countEntry{s.String(), raw.Summary.BySeverity[s.String()]})
		if s != audit.SeverityNone {
			d.Summary.Findings = append(d.Summary.Findings, countEntry{s.String(), raw.Summary.Findings[s.String()]})
		}
	}
	d.Tokens = raw.Tokens
	return d
}

// TestHTMLSelfContained: the page references nothing outside itself.
func TestHTMLSelfContained(t *testing.T) {
	for _, tc := range goldenCases {
		page := string(render(t, "html", tc.result(), Options{}))
		for _, bad := range []string{`src="http`, `href="http`, `src='http`, `href='http`, `@import`, `url(`, `<link`, `//cdn`} {
			if strings.Contains(page, bad) {
				t.Errorf("%s: page contains %q", tc.name, bad)
			}
		}
		if !strings.Contains(page, "default-src &#39;none&#39;") {
			t.Errorf("%s: page has no Content Security Policy", tc.name)
		}
	}
}

// TestHTMLHostile: hostile names appear only escaped, in the markup and in
// the data block, and the data still reads back as they were.
func TestHTMLHostile(t *testing.T) {
	r := hostileResult()
	page := render(t, "html", r, Options{})
	for _, s := range []string{hostileScript, hostileImg, "<img", "<script>alert"} {
		if bytes.Contains(page, []byte(s)) {
			t.Errorf("page holds %q unescaped", s)
		}
	}
	if n := bytes.Count(page, []byte("<script")); n != 2 {
		t.Errorf("page has %d script elements, want 2 (the data and the code)", n)
	}
	d := htmlDataBlock(t, page)
	if d.Tokens[0].Name != hostileScript || d.Tokens[1].Name != hostileImg {
		t.Errorf("data block names = %q, %q; want the hostile names back", d.Tokens[0].Name, d.Tokens[1].Name)
	}
	// The owners chart writes the hostile owner as text.
	if !bytes.Contains(page, []byte(html.EscapeString(`"><img`))) && !bytes.Contains(page, []byte("&#34;&gt;&lt;img")) {
		t.Error("the hostile owner is not in the owners chart, escaped")
	}
}

// TestHTMLCounts: the data block's counts are the result's.
func TestHTMLCounts(t *testing.T) {
	for _, tc := range goldenCases {
		r := tc.result()
		d := htmlDataBlock(t, render(t, "html", r, Options{}))
		if d.Summary.Tokens != r.Summary.Tokens || len(d.Tokens) != len(r.Tokens) {
			t.Errorf("%s: data has %d tokens (summary %d), result %d", tc.name, len(d.Tokens), d.Summary.Tokens, len(r.Tokens))
		}
		for _, e := range d.Summary.BySeverity {
			s, _ := audit.ParseSeverity(e.key)
			if e.n != r.Summary.BySeverity[s] {
				t.Errorf("%s: by_severity %s = %d, want %d", tc.name, e.key, e.n, r.Summary.BySeverity[s])
			}
		}
		for _, e := range d.Summary.Findings {
			s, _ := audit.ParseSeverity(e.key)
			if e.n != r.Summary.Findings[s] {
				t.Errorf("%s: findings %s = %d, want %d", tc.name, e.key, e.n, r.Summary.Findings[s])
			}
		}
		for i, tok := range d.Tokens {
			if tok.ID != r.Tokens[i].Token.ID || tok.Risk != r.Tokens[i].RiskScore {
				t.Errorf("%s: token %d is %d risk %d, want %d risk %d", tc.name, i, tok.ID, tok.Risk, r.Tokens[i].Token.ID, r.Tokens[i].RiskScore)
			}
		}
	}
}

// TestHTMLExpiryChart: a token expiring in ten days is in the second
// week's column, one that never expires in the last.
func TestHTMLExpiryChart(t *testing.T) {
	now := day(2026, time.January, 1)
	r := &audit.Result{Now: now, Tokens: []audit.TokenResult{
		{Active: true, Token: inventory.Token{Kind: inventory.KindPersonal, ID: 1, Expires: inventory.Expiry{At: now.AddDate(0, 0, 10), DateOnly: true}}},
		{Active: true, Token: inventory.Token{Kind: inventory.KindPersonal, ID: 2}},
		{Active: false, Token: inventory.Token{Kind: inventory.KindPersonal, ID: 3}},
		{Active: true, Token: inventory.Token{Kind: inventory.KindPersonal, ID: 4, Expires: inventory.Expiry{At: now.AddDate(1, 0, 0)}}},
	}}
	c := expiryColumns(r)
	var got []int
	for _, col := range c.Cols {
		got = append(got, col.N)
	}
	want := make([]int, htmlWeeks+1)
	want[1], want[htmlWeeks] = 1, 1
	if !slicesEqual(got, want) || c.Never != 1 {
		t.Errorf("columns = %v (never %d), want %v", got, c.Never, want)
	}
}

func slicesEqual(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestHTMLBrowser loads the page of an audited simulator in headless
// Chromium and checks what its script built: a row per token, the summary
// the JSON report's, and a screenshot that is more than blank.
func TestHTMLBrowser(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("TOKENAUDIT_REQUIRE_CHROMIUM") != "" {
			t.Fatalf("TOKENAUDIT_REQUIRE_CHROMIUM is set but chromium is not on PATH: %v", err)
		}
		t.Skip("chromium not found; scripts/test installs it and runs this test")
	}
	if testing.Short() {
		t.Skip("starts a browser")
	}
	r := simulatedResult(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "report.html")
	if err := os.WriteFile(path, render(t, "html", r, Options{}), 0o600); err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Summary struct {
			Tokens     int            `json:"tokens"`
			BySeverity map[string]int `json:"by_severity"`
			Findings   map[string]int `json:"findings"`
			Suppressed int            `json:"suppressed"`
			Gaps       int            `json:"gaps"`
		} `json:"summary"`
	}
	if err := json.Unmarshal(render(t, "json", r, Options{}), &rep); err != nil {
		t.Fatal(err)
	}

	dom := runChromium(t, chromium, dir, "--dump-dom", "file://"+path)
	body := regexp.MustCompile(`(?s)<tbody id="rows">(.*?)</tbody>`).FindSubmatch(dom)
	if body == nil {
		t.Fatalf("the DOM has no token table body:\n%.2000s", dom)
	}
	if rows := bytes.Count(body[1], []byte("<tr")); rows != len(r.Tokens) || rows == 0 {
		t.Errorf("the table has %d rows, want %d (one per token)", rows, len(r.Tokens))
	}
	findings := 0
	for _, n := range rep.Summary.Findings {
		findings += n
	}
	want := map[string]int{
		"sum-tokens": rep.Summary.Tokens, "sum-findings": findings,
		"sum-suppressed": rep.Summary.Suppressed, "sum-gaps": rep.Summary.Gaps,
	}
	for _, s := range reportSeverities[:5] {
		want["sum-sev-"+s.String()] = rep.Summary.BySeverity[s.String()]
	}
	for id, n := range want {
		m := regexp.MustCompile(`id="` + id + `"[^>]*>(\d+)<`).FindSubmatch(dom)
		if m == nil {
			t.Errorf("the DOM has no %s", id)
			continue
		}
		if got, _ := strconv.Atoi(string(m[1])); got != n {
			t.Errorf("%s shows %d, the JSON report %d", id, got, n)
		}
	}
	if !bytes.Contains(dom, []byte(strconv.Itoa(len(r.Tokens))+" of "+strconv.Itoa(len(r.Tokens))+" tokens")) {
		t.Error("the table does not say it shows every token")
	}

	png := filepath.Join(dir, "page.png")
	runChromium(t, chromium, dir, "--screenshot="+png, "--window-size=1280,2000", "file://"+path)
	b, err := os.ReadFile(png)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	if len(b) < 20000 || !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("screenshot is %d bytes or no PNG; want a page with charts", len(b))
	}
	if out := os.Getenv("TOKENAUDIT_HTML_SCREENSHOT"); out != "" {
		if err := os.WriteFile(out, b, 0o644); err != nil {
			t.Error(err)
		}
	}
}

// runChromium runs headless Chromium with its own profile and nothing that
// reaches the network, bounded to a minute, and returns its stdout.
func runChromium(t *testing.T, chromium, dir string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	profile, err := os.MkdirTemp(dir, "profile")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, chromium, append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + profile,
	}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.Bytes())
	}
	return out
}

// simulatedResult audits the small simulated instance as its administrator.
func simulatedResult(t *testing.T) *audit.Result {
	t.Helper()
	w, err := gitlabsim.Generate("small", 1)
	if err != nil {
		t.Fatal(err)
	}
	srv := gitlabsim.NewServer(w, gitlabsim.Options{})
	t.Cleanup(srv.Close)
	client, _, err := collect.NewClient(srv.URL()+"/api/v4", w.AdminToken(), collect.ClientOptions{RetryMax: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	inv, err := collect.Collect(ctx, client, collect.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := audit.Evaluate(inv, audit.DefaultPolicy(), w.Now)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
