package cli

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/tokenaudit/tokenaudit/audit"
)

// TestDemo runs the README's first command: a report with findings of
// several severities, exit 0 although findings exist, and the same result
// in every format.
func TestDemo(t *testing.T) {
	dir := cleanEnv(t)
	res := run(t, "demo", "--format", "json", "--output", "table=demo.txt", "--output", "csv=demo.csv")
	if res.code != ExitOK {
		t.Fatalf("exit %d, want 0 (the demo never gates); stderr:\n%s", res.code, res.stderr)
	}
	var rep struct {
		GitLab struct {
			Mode  string `json:"mode"`
			Admin bool   `json:"admin"`
		} `json:"gitlab"`
		Tokens []struct {
			Severity string `json:"severity"`
			Findings []struct {
				Rule string `json:"rule"`
			} `json:"findings"`
		} `json:"tokens"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
		t.Fatalf("demo --format json printed no JSON report: %v", err)
	}
	if err := validateReport(res.stdout); err != nil {
		t.Errorf("the demo's JSON report does not validate against docs/report.schema.json: %v", err)
	}
	if rep.GitLab.Mode != "instance" || !rep.GitLab.Admin {
		t.Errorf("demo audited in mode %q, admin %v; want instance as an administrator", rep.GitLab.Mode, rep.GitLab.Admin)
	}
	seen, rules := map[string]int{}, map[string]int{}
	for _, tk := range rep.Tokens {
		seen[tk.Severity]++
		for _, f := range tk.Findings {
			rules[f.Rule]++
		}
	}
	// The demo reads memberships (person_reach), and medium has people in
	// more projects than the default threshold.
	if rules["TA-024"] == 0 {
		t.Error("demo report has no TA-024 finding (a person's token reaching many projects)")
	}
	for _, sev := range []string{"critical", "high", "medium", "low"} {
		if seen[sev] == 0 {
			t.Errorf("demo report has no %s token (severities seen: %v)", sev, seen)
		}
	}
	table, err := os.ReadFile(filepath.Join(dir, "demo.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"critical", "high", "Summary"} {
		if !strings.Contains(string(table), want) {
			t.Errorf("demo table does not contain %q", want)
		}
	}
	// A table file holds every row; --limit and --all are stdout's.
	withFindings := 0
	for _, tok := range rep.Tokens {
		if len(tok.Findings) > 0 {
			withFindings++
		}
	}
	if withFindings <= 50 || strings.Contains(string(table), "left out") {
		t.Errorf("demo.txt: %d tokens with findings, and the table file says rows were left out: %v", withFindings, strings.Contains(string(table), "left out"))
	}
	f, err := os.Open(filepath.Join(dir, "demo.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(rep.Tokens)+1 {
		t.Errorf("demo.csv has %d rows, want a header and %d tokens", len(rows), len(rep.Tokens))
	}
	if !strings.Contains(res.stderr, "would exit 1") {
		t.Errorf("demo does not say what audit would exit with; stderr:\n%s", res.stderr)
	}
}

func TestDemoBadInput(t *testing.T) {
	cleanEnv(t)
	for _, args := range [][]string{
		{"demo", "--preset", "huge"},
		{"demo", "--format", "xml"},
		{"demo", "--output", "nothing"},
	} {
		if res := run(t, args...); res.code != ExitCannotRun || strings.Count(strings.TrimSpace(res.stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and one line", args, res.code, res.stderr)
		}
	}
}

func TestRules(t *testing.T) {
	cleanEnv(t)
	table := run(t, "rules")
	md := run(t, "rules", "--format", "markdown")
	js := run(t, "rules", "--format", "json")
	for _, r := range []result{table, md, js} {
		if r.code != ExitOK {
			t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
		}
	}
	var rules []ruleJSON
	if err := json.Unmarshal([]byte(js.stdout), &rules); err != nil {
		t.Fatalf("rules --format json: %v", err)
	}
	if len(rules) != len(audit.Rules) {
		t.Errorf("rules --format json lists %d rules, the catalogue has %d", len(rules), len(audit.Rules))
	}
	for i, r := range audit.Rules {
		if i < len(rules) && (rules[i].ID != r.ID || rules[i].Severity != r.Severity.String() || rules[i].Remediation != r.Remediation) {
			t.Errorf("rule %d: got %s/%s, want %s/%s", i, rules[i].ID, rules[i].Severity, r.ID, r.Severity)
		}
		if !strings.Contains(table.stdout, r.ID+"  "+r.Severity.String()) {
			t.Errorf("table does not list %s with severity %s", r.ID, r.Severity)
		}
		if !strings.Contains(md.stdout, "## "+r.ID+": "+r.Title) {
			t.Errorf("markdown has no section for %s", r.ID)
		}
	}
	if res := run(t, "rules", "--format", "yaml"); res.code != ExitCannotRun {
		t.Errorf("rules --format yaml: exit %d, want 2", res.code)
	}
}

// TestRuleDetail: `tokenaudit rules ID` shows the rule in full, in any
// case of the ID; an unknown ID is one line naming it and exit 2; the table
// fits 100 columns.
func TestRuleDetail(t *testing.T) {
	cleanEnv(t)
	for _, r := range audit.Rules {
		res := run(t, "rules", strings.ToLower(r.ID))
		if res.code != ExitOK {
			t.Fatalf("rules %s: exit %d; stderr:\n%s", r.ID, res.code, res.stderr)
		}
		flat := strings.Join(strings.Fields(res.stdout), " ")
		for _, want := range []string{r.ID + ": " + r.Title, r.Severity.String(), string(r.Principle), r.AppliesTo(), r.Rationale, r.Remediation} {
			if !strings.Contains(flat, strings.Join(strings.Fields(want), " ")) {
				t.Errorf("rules %s does not show %q:\n%s", r.ID, want, res.stdout)
			}
		}
		if hyg := fmt.Sprintf("%d points", r.Hygiene); (r.Hygiene > 0) != strings.Contains(res.stdout, hyg) {
			t.Errorf("rules %s: hygiene points %d shown %v:\n%s", r.ID, r.Hygiene, !strings.Contains(res.stdout, hyg), res.stdout)
		}
		for _, l := range strings.Split(res.stdout, "\n") {
			if utf8.RuneCountInString(l) > 100 {
				t.Errorf("rules %s: line of %d columns: %q", r.ID, utf8.RuneCountInString(l), l)
			}
		}
	}
	var one ruleJSON
	if res := run(t, "rules", "TA-001", "--format", "json"); res.code != ExitOK || json.Unmarshal([]byte(res.stdout), &one) != nil || one.ID != "TA-001" {
		t.Errorf("rules TA-001 --format json: exit %d, stdout %q", res.code, res.stdout)
	}
	res := run(t, "rules", "TA-999")
	if res.code != ExitCannotRun || res.stdout != "" || strings.Count(strings.TrimSpace(res.stderr), "\n") != 0 ||
		!strings.Contains(res.stderr, "TA-999") || !strings.Contains(res.stderr, "tokenaudit rules") {
		t.Errorf("rules TA-999: exit %d, stdout %q, stderr %q; want 2 and one line naming it and 'tokenaudit rules'", res.code, res.stdout, res.stderr)
	}
	table := run(t, "rules")
	for _, l := range strings.Split(table.stdout, "\n") {
		if w := displayColumns(l); w > 100 {
			t.Errorf("tokenaudit rules: line of %d columns (want at most 100): %q", w, l)
		}
	}
}

// displayColumns is the width of s on a terminal: wide East Asian runes
// take two columns, combining marks none. The catalogue is ASCII today; the
// check stays right if it is not.
func displayColumns(s string) int {
	n := 0
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Mn, r):
		case r >= 0x1100 && (r <= 0x115f || (r >= 0x2e80 && r <= 0xa4cf) || (r >= 0xac00 && r <= 0xd7a3) || (r >= 0xf900 && r <= 0xfaff) || (r >= 0xff00 && r <= 0xff60) || (r >= 0x1f300 && r <= 0x1faff)):
			n += 2
		default:
			n++
		}
	}
	return n
}

func TestVersion(t *testing.T) {
	res := run(t, "version")
	if res.code != ExitOK || !strings.HasPrefix(res.stdout, "tokenaudit ") {
		t.Errorf("exit %d, stdout %q", res.code, res.stdout)
	}
}

// TestHelp checks that every command explains itself with examples, and
// that a mistyped command exits 2.
func TestHelp(t *testing.T) {
	for _, cmd := range []string{"audit", "demo", "rules", "sim"} {
		res := run(t, cmd, "--help")
		if res.code != ExitOK || !strings.Contains(res.stdout, "Examples:") || !strings.Contains(res.stdout, "tokenaudit "+cmd) {
			t.Errorf("%s --help: exit %d, no examples:\n%s", cmd, res.code, res.stdout)
		}
	}
	audit := run(t, "audit", "--help").stdout
	for _, want := range []string{"GITLAB_TOKEN", "CI_SERVER_URL", "read_api", "Exit codes", "--fail-on", "--output"} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit --help does not mention %s", want)
		}
	}
	if res := run(t, "audti"); res.code != ExitCannotRun || !strings.Contains(res.stderr, "unknown command") {
		t.Errorf("unknown command: exit %d, stderr %q", res.code, res.stderr)
	}
}

// TestSim starts the simulator command, uses the administrator token it
// prints, and stops it the way Ctrl-C does.
func TestSim(t *testing.T) {
	cleanEnv(t)
	sim := startSim(t, "sim", "--preset", "small", "--rate-limit", "1000/1m")
	out, errOut := &sim.out, &sim.errOut
	urlRe := regexp.MustCompile(`serving on (http://127\.0\.0\.1:\d+)`)
	tokenRe := regexp.MustCompile(`administrator:\s+(\S+)`)
	var url, token string
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := tokenRe.FindStringSubmatch(out.String()); m != nil {
			url, token = urlRe.FindStringSubmatch(out.String())[1], m[1]
			break
		}
	}
	if token == "" {
		t.Fatalf("sim printed no URL and token:\n%s\n%s", out.String(), errOut.String())
	}
	req, _ := http.NewRequest(http.MethodGet, url+"/api/v4/user", nil)
	req.Header.Set("PRIVATE-TOKEN", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("RateLimit-Limit") != "1000" {
		t.Errorf("GET /user with the printed token: %d, RateLimit-Limit %q; want 200 and 1000", resp.StatusCode, resp.Header.Get("RateLimit-Limit"))
	}
	sim.stop(t)
}

// TestSimScenario serves a scenario file instead of a preset.
func TestSimScenario(t *testing.T) {
	scenario := basicScenario()
	cleanEnv(t)
	sim := startSim(t, "sim", "--scenario", scenario)
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline) && !strings.Contains(sim.out.String(), "Ctrl-C"); {
		time.Sleep(20 * time.Millisecond)
	}
	sim.cancel()
	if code := <-sim.done; code != ExitOK || !strings.Contains(sim.out.String(), "(scenario "+scenario+") serving on http://127.0.0.1:") {
		t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s", code, sim.out.String(), sim.errOut.String())
	}
}

func TestSimBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"sim", "--rate-limit", "lots"},
		{"sim", "--rate-limit", "10/soon"},
		{"sim", "--error-rate", "2"},
		{"sim", "--preset", "huge"},
		{"sim", "--scenario", "does-not-exist.yaml"},
	} {
		if res := run(t, args...); res.code != ExitCannotRun {
			t.Errorf("%v: exit %d, want 2; stderr %q", args, res.code, res.stderr)
		}
	}
}

// validateReport checks a JSON report against docs/report.schema.json.
func validateReport(doc string) error {
	// Tests move into temporary directories; find the schema from this file.
	_, self, _, _ := runtime.Caller(0)
	f, err := os.Open(filepath.Join(filepath.Dir(self), "../../../../docs/report.schema.json"))
	if err != nil {
		return err
	}
	defer f.Close()
	schemaDoc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return err
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	const url = "https://tokenaudit.example/report.schema.json"
	if err := c.AddResource(url, schemaDoc); err != nil {
		return err
	}
	sch, err := c.Compile(url)
	if err != nil {
		return err
	}
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(doc))
	if err != nil {
		return err
	}
	return sch.Validate(v)
}

// TestDemoSameReportYearsAhead runs the demo pipeline with the wall clock
// two years ahead: the simulated instance has its own today, the audit
// judges at it, and the collector judges nothing, so the report is the same
// (from about 2027 five of the demo's triggers used to turn inactive).
func TestDemoSameReportYearsAhead(t *testing.T) {
	cleanEnv(t)
	// The simulator's port and the time the collection took differ between
	// any two runs; everything else must not.
	// A token's web_url starts with the simulator's URL too.
	varying := regexp.MustCompile(`http://127\.0\.0\.1:\d+|"duration_seconds": [0-9.e-]+`)
	report := func() string {
		res := run(t, "demo", "--format", "json")
		if res.code != ExitOK {
			t.Fatalf("demo: exit %d; stderr:\n%s", res.code, res.stderr)
		}
		return varying.ReplaceAllString(res.stdout, "")
	}
	today := report()
	defer func(c func() time.Time) { wallClock = c }(wallClock)
	wallClock = func() time.Time { return time.Now().AddDate(2, 0, 0) }
	if ahead := report(); ahead != today {
		t.Errorf("the demo's report changes with the wall clock two years ahead:\n%s", firstDiff(today, ahead))
	}
}

// firstDiff shows the first line where a and b differ.
func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d:\n  today: %s\n  ahead: %s", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("%d lines today, %d ahead", len(al), len(bl))
}
