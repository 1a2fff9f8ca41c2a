package cli

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
	"github.com/tokenaudit/tokenaudit/inventory"
	"github.com/tokenaudit/tokenaudit/report"
)

// baselineDoc is a JSON report as the baseline tests read it.
type baselineDoc struct {
	GeneratedAt string `json:"generated_at"`
	Summary     struct {
		Baseline *struct {
			NewTokens         int            `json:"new_tokens"`
			UnchangedTokens   int            `json:"unchanged_tokens"`
			DisappearedTokens int            `json:"disappeared_tokens"`
			NewFindings       map[string]int `json:"new_findings"`
			UnchangedFindings map[string]int `json:"unchanged_findings"`
			ResolvedFindings  map[string]int `json:"resolved_findings"`
		} `json:"baseline"`
	} `json:"summary"`
	Tokens   []docToken `json:"tokens"`
	Findings []struct {
		Rule     string  `json:"rule"`
		Severity string  `json:"severity"`
		Resource string  `json:"resource"`
		Baseline *string `json:"baseline"`
	} `json:"findings"`
	Baseline *struct {
		GeneratedAt      string `json:"generated_at"`
		ResolvedFindings []struct {
			Rule       string `json:"rule"`
			Severity   string `json:"severity"`
			Suppressed bool   `json:"suppressed"`
			Token      *struct {
				Kind string `json:"kind"`
				ID   int64  `json:"id"`
			} `json:"token"`
			Resource *string `json:"resource"`
		} `json:"resolved_findings"`
		DisappearedTokens []struct {
			Kind string `json:"kind"`
			ID   int64  `json:"id"`
		} `json:"disappeared_tokens"`
	} `json:"baseline"`
}

type docToken struct {
	Kind       string  `json:"kind"`
	ID         int64   `json:"id"`
	Name       string  `json:"name"`
	Active     bool    `json:"active"`
	Baseline   *string `json:"baseline"`
	BaselineID *int64  `json:"baseline_id"`
	Owner      *struct {
		Username string `json:"username"`
		Admin    bool   `json:"admin"`
		Type     string `json:"type"`
	} `json:"owner"`
	Findings []struct {
		Rule       string  `json:"rule"`
		Severity   string  `json:"severity"`
		Suppressed bool    `json:"suppressed"`
		Baseline   *string `json:"baseline"`
	} `json:"findings"`
}

func (t docToken) rules() []string {
	var ids []string
	for _, f := range t.Findings {
		ids = append(ids, f.Rule)
	}
	return ids
}

func readDoc(t *testing.T, path string) baselineDoc {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc baselineDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return doc
}

func str(p *string) string {
	if p == nil {
		return "null"
	}
	return *p
}

// validateFile checks a JSON report file against docs/report.schema.json.
func validateFile(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := validateReport(string(data)); err != nil {
		t.Errorf("%s does not validate against docs/report.schema.json: %v", filepath.Base(path), err)
	}
}

// repoRoot is the repository's root, found from this file: tests move
// into temporary directories.
func repoRoot() string { return filepath.Join(filepath.Dir(basicScenario()), "../../../..") }

// standStill judges every audit of the test at w.Now (plus the seconds the
// test takes), the simulator's today, so that between two runs only what
// the test changes changes; the real clock would move token ages too.
func standStill(t *testing.T, w *gitlabsim.World) {
	t.Helper()
	prev, start := wallClock, time.Now()
	wallClock = func() time.Time { return w.Now.Add(time.Since(start)) }
	t.Cleanup(func() { wallClock = prev })
}

// TestBaselineTwoRuns audits a simulated instance, changes it as a day
// would (a risky token created, one deleted, one revoked, a personal and a
// project access token rotated) and audits it again with the first report
// as the baseline: the report marks exactly what changed, lists what was
// resolved and which token is gone, and --fail-on-new fails for the new
// finding at or above fail_on only.
func TestBaselineTwoRuns(t *testing.T) {
	dir := cleanEnv(t)
	w, err := gitlabsim.Generate("small", 1)
	if err != nil {
		t.Fatal(err)
	}
	standStill(t, w)
	srv := serve(t, w, gitlabsim.Options{})
	t.Setenv("GITLAB_TOKEN", w.AdminToken())

	res := run(t, "audit", "--gitlab-url", srv.URL(), "--fail-on", "none", "--format", "json", "--output", "json=day1.json")
	if res.code != ExitOK {
		t.Fatalf("day 1: exit %d; stderr:\n%s", res.code, res.stderr)
	}
	day1 := readDoc(t, filepath.Join(dir, "day1.json"))
	if day1.Summary.Baseline != nil || day1.Baseline != nil || day1.Tokens[0].Baseline != nil {
		t.Errorf("a report without a baseline has a comparison")
	}

	// Nothing changed: --fail-on-new passes where --fail-on alone fails.
	known := 0
	for _, tok := range day1.Tokens {
		for _, f := range tok.Findings {
			if !f.Suppressed && (f.Severity == "high" || f.Severity == "critical") {
				known++
			}
		}
	}
	if known == 0 {
		t.Fatal("the simulated instance has no finding at or above high: nothing to show")
	}
	if res := run(t, "audit", "--gitlab-url", srv.URL(), "--fail-on", "high", "--format", "json"); res.code != ExitFindings {
		t.Fatalf("without a baseline: exit %d, want 1 for %d known findings; stderr:\n%s", res.code, known, res.stderr)
	}
	res = run(t, "audit", "--gitlab-url", srv.URL(), "--baseline", "day1.json", "--fail-on-new", "--fail-on", "high", "--format", "json", "--output", "json=same.json")
	if res.code != ExitOK {
		t.Fatalf("unchanged instance with --fail-on-new: exit %d, want 0; stderr:\n%s", res.code, res.stderr)
	}
	same := readDoc(t, filepath.Join(dir, "same.json"))
	if b := same.Summary.Baseline; b == nil || b.NewTokens != 0 || b.DisappearedTokens != 0 || sum(b.NewFindings) != 0 || sum(b.ResolvedFindings) != 0 || b.UnchangedTokens != len(day1.Tokens) {
		t.Errorf("unchanged instance: summary.baseline %+v, want every token and finding unchanged", b)
	}

	// A day's changes.
	pick := func(kind, rule string, skip ...int64) docToken {
		for _, tok := range day1.Tokens {
			if tok.Kind == kind && tok.Active && tok.Owner != nil && !tok.Owner.Admin && slices.Contains(tok.rules(), rule) && !slices.Contains(skip, tok.ID) {
				return tok
			}
		}
		t.Fatalf("no active %s token with %s in the simulated instance", kind, rule)
		return docToken{}
	}
	deleted := pick("personal", "TA-011")
	revoked := pick("personal", "TA-011", deleted.ID)
	rotated := pick("personal", "TA-011", deleted.ID, revoked.ID)
	var rotatedBot docToken
	for _, tok := range day1.Tokens {
		if tok.Kind == "project_access" && tok.Active && len(tok.Findings) > 0 {
			rotatedBot = tok
			break
		}
	}
	if rotatedBot.ID == 0 {
		t.Fatal("no active project access token with findings in the simulated instance")
	}
	var risky, successor, botSuccessor int64
	srv.Mutate(func(w *gitlabsim.World) {
		next := int64(0)
		for _, pt := range w.Tokens {
			next = max(next, pt.ID)
		}
		byID := map[int64]*gitlabsim.PersonalAccessToken{}
		for _, pt := range w.Tokens {
			byID[pt.ID] = pt
		}
		// GitLab's rotation: the old token revoked, a new one with a new
		// id, the same user, name and scopes, expiring in a week
		// (https://docs.gitlab.com/api/personal_access_tokens/#rotate-a-personal-access-token).
		week := w.Now.Truncate(24*time.Hour).AddDate(0, 0, 7)
		rotate := func(id int64) int64 {
			old := byID[id]
			old.Revoked = true
			next++
			nt := *old
			nt.ID, nt.Revoked, nt.CreatedAt, nt.ExpiresAt, nt.LastUsedAt = next, false, w.Now.Add(-time.Minute), &week, nil
			nt.Value = fmt.Sprintf("glpat-rotated%015d", next)
			w.Tokens = append(w.Tokens, &nt)
			return next
		}
		successor, botSuccessor = rotate(rotated.ID), rotate(rotatedBot.ID)
		byID[revoked.ID].Revoked = true
		w.Tokens = slices.DeleteFunc(w.Tokens, func(pt *gitlabsim.PersonalAccessToken) bool { return pt.ID == deleted.ID })
		// A new token that lives longer than the policy allows (TA-002, high).
		next++
		risky = next
		long := w.Now.Truncate(24*time.Hour).AddDate(0, 0, 400)
		used := w.Now.Add(-10 * time.Minute)
		w.Tokens = append(w.Tokens, &gitlabsim.PersonalAccessToken{
			ID: risky, UserID: byID[revoked.ID].UserID, Name: "release-script", Scopes: []string{"read_api"},
			CreatedAt: w.Now.Add(-time.Hour), ExpiresAt: &long, LastUsedAt: &used,
			Value: fmt.Sprintf("glpat-newrisky%015d", next), Plant: "long-lifetime",
		})
	})

	res = run(t, "audit", "--gitlab-url", srv.URL(), "--baseline", "day1.json", "--fail-on-new", "--fail-on", "high",
		"--output", "json=day2.json", "--output", "csv=day2.csv")
	if res.code != ExitFindings {
		t.Fatalf("day 2 with a new high finding: exit %d, want 1; stderr:\n%s", res.code, res.stderr)
	}
	if want := "1 new finding at or above high since the baseline of " + day1.GeneratedAt; !strings.Contains(res.stderr, want) {
		t.Errorf("stderr does not say %q:\n%s", want, res.stderr)
	}
	for _, want := range []string{"CHANGE", "new token", "Baseline     " + day1.GeneratedAt, "Resolved since the baseline", "Tokens gone since the baseline"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("the table lacks %q:\n%s", want, res.stdout)
		}
	}
	validateFile(t, filepath.Join(dir, "day2.json"))
	day2 := readDoc(t, filepath.Join(dir, "day2.json"))

	byID := map[int64]docToken{}
	for _, tok := range day2.Tokens {
		if tok.Kind != "deploy" && tok.Kind != "pipeline_trigger" { // ids of their own
			byID[tok.ID] = tok
		}
	}
	mark := func(tok docToken) string {
		m := str(tok.Baseline)
		if tok.BaselineID != nil {
			m += "@" + strconv.FormatInt(*tok.BaselineID, 10)
		}
		return m
	}
	findingMarks := func(tok docToken) map[string]string {
		m := map[string]string{}
		for _, f := range tok.Findings {
			m[f.Rule] = str(f.Baseline)
		}
		return m
	}
	// The new token and its finding are new.
	if tok := byID[risky]; mark(tok) != "new" || findingMarks(tok)["TA-002"] != "new" {
		t.Errorf("new token %d: %s, findings %v; want new with TA-002 new", risky, mark(tok), findingMarks(tok))
	}
	// Rotated tokens match their predecessors; what they carry over is unchanged.
	for _, rot := range []struct {
		old       docToken
		successor int64
	}{{rotated, successor}, {rotatedBot, botSuccessor}} {
		tok := byID[rot.successor]
		if want := "unchanged@" + strconv.FormatInt(rot.old.ID, 10); mark(tok) != want {
			t.Errorf("%s token %d, the rotation of %d: %s, want %s", tok.Kind, rot.successor, rot.old.ID, mark(tok), want)
		}
		for rule, m := range findingMarks(tok) {
			if had := slices.Contains(rot.old.rules(), rule); (m == "unchanged") != had {
				t.Errorf("rotated token %d: %s is %s, but the predecessor had it: %v", rot.successor, rule, m, had)
			}
		}
		if old := byID[rot.old.ID]; mark(old) != "unchanged@"+strconv.FormatInt(rot.old.ID, 10) || findingMarks(old)["TA-005"] != "new" {
			t.Errorf("the revoked predecessor %d: %s, findings %v; want unchanged with TA-005 (revoked, still listed) new", rot.old.ID, mark(old), findingMarks(old))
		}
	}
	if tok := byID[revoked.ID]; mark(tok) != "unchanged@"+strconv.FormatInt(revoked.ID, 10) || findingMarks(tok)["TA-005"] != "new" {
		t.Errorf("revoked token %d: %s, %v; want unchanged with TA-005 new", revoked.ID, mark(tok), findingMarks(tok))
	}
	if _, ok := byID[deleted.ID]; ok {
		t.Errorf("deleted token %d is still in the report", deleted.ID)
	}
	// Every other token is as it was, every finding of it unchanged.
	planted := []int64{risky, successor, botSuccessor, rotated.ID, rotatedBot.ID, revoked.ID}
	for _, tok := range day2.Tokens {
		if slices.Contains(planted, tok.ID) && tok.Kind != "deploy" && tok.Kind != "pipeline_trigger" {
			continue
		}
		if mark(tok) != "unchanged@"+strconv.FormatInt(tok.ID, 10) {
			t.Errorf("untouched %s token %d: %s", tok.Kind, tok.ID, mark(tok))
		}
		for rule, m := range findingMarks(tok) {
			if m != "unchanged" {
				t.Errorf("untouched %s token %d: %s is %s", tok.Kind, tok.ID, rule, m)
			}
		}
	}
	for _, f := range day2.Findings {
		if str(f.Baseline) != "unchanged" {
			t.Errorf("finding %s of %s is %s; nothing changed there", f.Rule, f.Resource, str(f.Baseline))
		}
	}

	// Resolved: every finding of the deleted token, the revoked token's
	// findings of working tokens, and the rotated tokens' findings that no
	// longer apply; the deleted token is the one gone.
	b := day2.Baseline
	if b == nil || b.GeneratedAt != day1.GeneratedAt {
		t.Fatalf("baseline %+v, want day 1's generated_at %s", b, day1.GeneratedAt)
	}
	resolved := map[int64][]string{}
	for _, f := range b.ResolvedFindings {
		if f.Token == nil {
			t.Errorf("resolved finding %s of %s: nothing changed there", f.Rule, str(f.Resource))
			continue
		}
		resolved[f.Token.ID] = append(resolved[f.Token.ID], f.Rule)
	}
	if got, want := sorted(resolved[deleted.ID]), sorted(deleted.rules()); !slices.Equal(got, want) {
		t.Errorf("resolved findings of the deleted token: %v, want all of them, %v", got, want)
	}
	if !slices.Contains(resolved[revoked.ID], "TA-011") {
		t.Errorf("resolved findings of the revoked token: %v, want TA-011 among them", resolved[revoked.ID])
	}
	if slices.Contains(resolved[rotated.ID], "TA-011") {
		t.Errorf("TA-011 of the rotated token is resolved, but its successor has it")
	}
	for id := range resolved {
		if !slices.Contains([]int64{deleted.ID, revoked.ID, rotated.ID, rotatedBot.ID}, id) {
			t.Errorf("findings of untouched token %d resolved: %v", id, resolved[id])
		}
	}
	if len(b.DisappearedTokens) != 1 || b.DisappearedTokens[0].ID != deleted.ID {
		t.Errorf("disappeared tokens %+v, want only the deleted token %d", b.DisappearedTokens, deleted.ID)
	}

	// The summary counts what the lists hold.
	c := day2.Summary.Baseline
	newHigh := 0
	newAll := 0
	for _, tok := range day2.Tokens {
		for _, f := range tok.Findings {
			if !f.Suppressed && str(f.Baseline) == "new" {
				newAll++
				if f.Severity == "high" || f.Severity == "critical" {
					newHigh++
				}
			}
		}
	}
	resolvedOpen := 0
	for _, f := range b.ResolvedFindings {
		if !f.Suppressed {
			resolvedOpen++
		}
	}
	if c.NewTokens != 1 || c.DisappearedTokens != 1 || c.UnchangedTokens != len(day2.Tokens)-1 || sum(c.NewFindings) != newAll || sum(c.ResolvedFindings) != resolvedOpen || newHigh != 1 {
		t.Errorf("summary.baseline %+v; want 1 new token, 1 gone, %d unchanged, %d new findings (1 at or above high), %d resolved",
			c, len(day2.Tokens)-1, newAll, resolvedOpen)
	}

	// CSV: the mark, the new findings and the resolved ones per row.
	f, err := os.Open(filepath.Join(dir, "day2.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	cells := map[string][]string{}
	for _, row := range rows[1:] {
		cells[row[col["kind"]]+":"+row[col["id"]]] = row
	}
	if row := cells["personal:"+strconv.FormatInt(risky, 10)]; row == nil || row[col["baseline"]] != "new" || row[col["new_findings"]] != "TA-002" || row[col["gitlab_url"]] != srv.URL() {
		t.Errorf("CSV row of the new token: %q", row)
	}
	if row := cells["personal:"+strconv.FormatInt(revoked.ID, 10)]; row == nil || row[col["baseline"]] != "unchanged" || !slices.Contains(strings.Split(row[col["resolved_findings"]], ";"), "TA-011") {
		t.Errorf("CSV row of the revoked token: %q", row)
	}

	// The same changes, gated at critical: the new finding is only high.
	res = run(t, "audit", "--gitlab-url", srv.URL(), "--baseline", "day1.json", "--fail-on-new", "--fail-on", "critical", "--format", "json")
	if res.code != ExitOK {
		t.Errorf("day 2 with --fail-on critical --fail-on-new: exit %d, want 0 (the new finding is high); stderr:\n%s", res.code, res.stderr)
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestBaselineIncomplete: with --fail-on-new and nothing new, an audit
// with failed reads still exits 3.
func TestBaselineIncomplete(t *testing.T) {
	cleanEnv(t)
	w, err := gitlabsim.Generate("small", 1)
	if err != nil {
		t.Fatal(err)
	}
	standStill(t, w)
	srv := serve(t, w, gitlabsim.Options{Faults: gitlabsim.Faults{ErrorRate: 1, ErrorStatuses: []int{500}, Routes: []string{"GET /projects/:id/triggers"}}})
	t.Setenv("GITLAB_TOKEN", w.AdminToken())
	if res := run(t, "audit", "--gitlab-url", srv.URL(), "--retries", "0", "--fail-on", "none", "--format", "json", "--output", "json=day1.json"); res.code != ExitIncomplete {
		t.Fatalf("day 1: exit %d, want 3; stderr:\n%s", res.code, res.stderr)
	}
	res := run(t, "audit", "--gitlab-url", srv.URL(), "--retries", "0", "--baseline", "day1.json", "--fail-on-new", "--format", "json")
	if res.code != ExitIncomplete || !strings.Contains(res.stderr, "incomplete") {
		t.Errorf("exit %d, want 3 for the error gaps; stderr:\n%s", res.code, res.stderr)
	}
}

// TestBaselineRefused: a baseline that cannot be compared with stops the
// run with one line and exit 2 before GitLab is asked anything.
func TestBaselineRefused(t *testing.T) {
	dir := cleanEnv(t)
	srv := serve(t, cleanWorld(), gitlabsim.Options{})
	t.Setenv("GITLAB_TOKEN", adminValue)
	writeReport := func(name, url string) {
		var b strings.Builder
		r := &audit.Result{Inventory: &inventory.Inventory{GitLab: inventory.Instance{URL: url, Mode: inventory.ModeInstance}}, Now: time.Now()}
		if err := report.Write(&b, "json", r, report.Options{}); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, name), b.String(), 0o600)
	}
	writeReport("other.json", "https://gitlab.other.example")
	writeReport("same.json", srv.URL()+"/")
	v1, err := os.ReadFile(filepath.Join(dir, "same.json"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "v2.json"), strings.Replace(string(v1), `"schema_version": 1`, `"schema_version": 2`, 1), 0o600)
	writeFile(t, filepath.Join(dir, "report.csv"), strings.Join(report.CSVHeader, ",")+"\n", 0o600)
	writeFile(t, filepath.Join(dir, "other-tool.json"), `{"vulnerabilities": []}`, 0o600)

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"another schema_version", []string{"--baseline", "v2.json"}, "baseline v2.json: a report of schema_version 2; this tokenaudit reads schema_version 1 only"},
		{"a CSV report", []string{"--baseline", "report.csv"}, "baseline report.csv: not a tokenaudit JSON report: not JSON"},
		{"another tool's JSON", []string{"--baseline", "other-tool.json"}, "baseline other-tool.json: not a tokenaudit JSON report: it has no schema_version"},
		{"another GitLab", []string{"--baseline", "other.json"}, "baseline other.json is a report of https://gitlab.other.example, not of " + srv.URL()},
		{"missing", []string{"--baseline", "nowhere.json"}, "baseline nowhere.json does not exist"},
		{"fail-on-new without a baseline", []string{"--fail-on-new"}, "fail_on_new: needs a baseline"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.ResetCounts()
			res := run(t, append([]string{"audit", "--gitlab-url", srv.URL()}, tc.args...)...)
			if res.code != ExitCannotRun {
				t.Errorf("exit %d, want 2; stderr:\n%s", res.code, res.stderr)
			}
			if !strings.Contains(res.stderr, tc.want) || strings.Count(res.stderr, "\n") != 1 {
				t.Errorf("stderr %q, want one line with %q", res.stderr, tc.want)
			}
			if n := srv.TotalRequests(); n != 0 {
				t.Errorf("%d requests to GitLab before the refusal, want 0", n)
			}
		})
	}
	// The same GitLab, spelt with a trailing slash, is accepted.
	if res := run(t, "audit", "--gitlab-url", srv.URL(), "--baseline", "same.json", "--fail-on-new", "--format", "json"); res.code != ExitOK {
		t.Errorf("baseline of the same GitLab: exit %d; stderr:\n%s", res.code, res.stderr)
	}
}

// TestBaselineSettings: baseline and fail_on_new come from flags, then
// TOKENAUDIT_* variables, then the config file.
func TestBaselineSettings(t *testing.T) {
	for _, tc := range []struct {
		name      string
		file      string
		env       map[string]string
		args      []string
		baseline  string
		failOnNew bool
	}{
		{"defaults", "", nil, nil, "", false},
		{"file", "baseline: file.json\nfail_on_new: true\n", nil, nil, "file.json", true},
		{"environment beats file", "baseline: file.json\nfail_on_new: true\n", map[string]string{"TOKENAUDIT_BASELINE": "env.json", "TOKENAUDIT_FAIL_ON_NEW": "false"}, nil, "env.json", false},
		{"flag beats environment", "", map[string]string{"TOKENAUDIT_BASELINE": "env.json"}, []string{"--baseline", "flag.json", "--fail-on-new"}, "flag.json", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			configEnv(t, tc.env, tc.file)
			got, res := parse(t, tc.args...)
			if got == nil {
				t.Fatalf("exit %d; stderr:\n%s", res.code, res.stderr)
			}
			if got.cfg.Baseline != tc.baseline || got.cfg.FailOnNew != tc.failOnNew {
				t.Errorf("baseline %q, fail_on_new %v; want %q, %v", got.cfg.Baseline, got.cfg.FailOnNew, tc.baseline, tc.failOnNew)
			}
		})
	}
}

// ciJob is what the tests read of a GitLab CI job.
type ciJob struct {
	Stage        string              `yaml:"stage"`
	Extends      string              `yaml:"extends"`
	Rules        []map[string]string `yaml:"rules"`
	Variables    map[string]string   `yaml:"variables"`
	BeforeScript []string            `yaml:"before_script"`
	Script       []string            `yaml:"script"`
	Parallel     struct {
		Matrix []map[string]string `yaml:"matrix"`
	} `yaml:"parallel"`
	Needs []struct {
		Job       string `yaml:"job"`
		Artifacts bool   `yaml:"artifacts"`
	} `yaml:"needs"`
	AllowFailure struct {
		ExitCodes []int `yaml:"exit_codes"`
	} `yaml:"allow_failure"`
	Artifacts struct {
		When    string            `yaml:"when"`
		Paths   []string          `yaml:"paths"`
		Reports map[string]string `yaml:"reports"`
	} `yaml:"artifacts"`
}

// loadCI reads an example pipeline: its stages and its jobs by name.
func loadCI(t *testing.T, name string) (stages []string, jobs map[string]ciJob) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(), "examples", name))
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]yaml.Node
	if err := yaml.Unmarshal(data, &top); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	jobs = map[string]ciJob{}
	for key, node := range top {
		if key == "stages" {
			if err := node.Decode(&stages); err != nil {
				t.Fatalf("%s: stages: %v", name, err)
			}
			continue
		}
		var j ciJob
		if err := node.Decode(&j); err != nil {
			t.Fatalf("%s: job %s: %v", name, key, err)
		}
		jobs[key] = j
	}
	return stages, jobs
}

// scriptWith is the job's script entry that contains s.
func scriptWith(t *testing.T, j ciJob, s string) string {
	t.Helper()
	for _, line := range j.Script {
		if strings.Contains(line, s) {
			return line
		}
	}
	t.Fatalf("no script entry contains %q: %q", s, j.Script)
	return ""
}

// artifactPath is the file a fetch of an earlier run's artifact asks for:
// the path after /raw/ in the job artifacts API's URL.
func artifactPath(t *testing.T, script string) string {
	t.Helper()
	_, rest, ok := strings.Cut(script, "/jobs/artifacts/$CI_COMMIT_REF_NAME/raw/")
	if !ok {
		t.Fatalf("the script reads no artifact by ref through the job artifacts API:\n%s", script)
	}
	path, _, _ := strings.Cut(rest, `"`)
	return path
}

// fakeTool is a directory with a tokenaudit that records its arguments,
// one a line, and whether GITLAB_TOKEN was the expected value, in calls.
func fakeTool(t *testing.T) (bin, calls string) {
	t.Helper()
	bin = t.TempDir()
	calls = filepath.Join(bin, "calls")
	writeFile(t, filepath.Join(bin, "tokenaudit"), "#!/bin/sh\nprintf '%s\\n' \"$@\" > \""+calls+"\"\nprintf 'token=%s\\n' \"${GITLAB_TOKEN:+set}\" >> \""+calls+"\"\n", 0o755)
	return bin, calls
}

// runScript runs a script entry as GitLab Runner's bash does (set -eo
// pipefail) in dir with env, and returns its exit code and output.
func runScript(t *testing.T, dir, script string, env []string) (int, string) {
	t.Helper()
	cmd := exec.Command("bash", "-eo", "pipefail", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &ee):
		return ee.ExitCode(), string(out)
	default:
		t.Fatal(err)
		return -1, ""
	}
}

// artifactServer answers GET /api/v4/projects/42/jobs/artifacts/main/raw/<path>?job=<job>
// with JOB-TOKEN job-token as GitLab's job artifacts API does: status and
// body; anything else is 401.
func artifactServer(t *testing.T, path, job string, status int, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v4/projects/42/jobs/artifacts/main/raw/"+path || r.URL.Query().Get("job") != job || r.Header.Get("JOB-TOKEN") != "job-token" {
			t.Errorf("unexpected request %s %s JOB-TOKEN %q", r.Method, r.URL, r.Header.Get("JOB-TOKEN"))
			http.Error(w, `{"message":"401 Unauthorized"}`, http.StatusUnauthorized)
			return
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// checkFlags fails for a flag of args that the command does not have.
func checkFlags(t *testing.T, cmd *cobra.Command, args []string) {
	t.Helper()
	for _, a := range args {
		if name, ok := strings.CutPrefix(a, "--"); ok {
			name, _, _ = strings.Cut(name, "=")
			if cmd.Flags().Lookup(name) == nil {
				t.Errorf("tokenaudit %s has no flag --%s", cmd.Name(), name)
			}
		}
	}
}

// TestBaselineCIExample: examples/gitlab-ci.yml parses, keeps the report it
// reads back as the next run's baseline, and its script passes the
// baseline when GitLab has one (200), runs without it on the first run
// (404) and fails on any other answer.
func TestBaselineCIExample(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is needed to run the example's script")
	}
	_, jobs := loadCI(t, "gitlab-ci.yml")
	j, ok := jobs["tokenaudit"]
	if !ok || len(jobs) != 1 {
		t.Fatalf("jobs %v, want one job, tokenaudit", slices.Collect(maps.Keys(jobs)))
	}
	if len(j.Rules) == 0 || !strings.Contains(j.Rules[0]["if"], `$CI_PIPELINE_SOURCE == "schedule"`) {
		t.Errorf("rules %v, want scheduled pipelines only", j.Rules)
	}
	script := scriptWith(t, j, "tokenaudit audit")
	path := artifactPath(t, script)
	if j.Artifacts.When != "always" || !slices.Contains(j.Artifacts.Paths, path) || !slices.Contains(j.Artifacts.Paths, "tokenaudit.csv") {
		t.Errorf("artifacts %+v, want %s and tokenaudit.csv kept always", j.Artifacts, path)
	}
	if !strings.Contains(script, "--output json="+path) {
		t.Errorf("the audit does not write %s, the report the next run reads back:\n%s", path, script)
	}
	// The Tests tab reads the JUnit report the audit writes.
	if junit := j.Artifacts.Reports["junit"]; junit == "" || !strings.Contains(script, "--output junit="+junit) || !slices.Contains(j.Artifacts.Paths, junit) {
		t.Errorf("artifacts:reports:junit %q: want the JUnit report the audit writes, kept with the others", junit)
	}
	for _, tc := range []struct {
		status   int
		wantCode int
		wantArgs []string // nil: tokenaudit does not run
	}{
		{200, 0, []string{"audit", "--baseline", "previous.json", "--fail-on-new", "--output", "json=tokenaudit.json", "--output", "csv=tokenaudit.csv", "--output", "junit=tokenaudit-junit.xml"}},
		{404, 0, []string{"audit", "--fail-on", "none", "--output", "json=tokenaudit.json", "--output", "csv=tokenaudit.csv", "--output", "junit=tokenaudit-junit.xml"}},
		{403, 2, nil},
		{502, 2, nil},
	} {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			dir := t.TempDir()
			bin, calls := fakeTool(t)
			srv := artifactServer(t, path, "tokenaudit", tc.status, `{"schema_version": 1}`)
			code, out := runScript(t, dir, script, []string{
				"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"), "CI_JOB_TOKEN=job-token", "CI_JOB_NAME=tokenaudit",
				"CI_API_V4_URL=" + srv.URL + "/api/v4", "CI_PROJECT_ID=42", "CI_COMMIT_REF_NAME=main", "GITLAB_TOKEN=glpat-unused",
			})
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d; output:\n%s", code, tc.wantCode, out)
			}
			recorded, err := os.ReadFile(calls)
			if tc.wantArgs == nil {
				if err == nil {
					t.Errorf("tokenaudit ran after HTTP %d: %s", tc.status, recorded)
				}
				return
			}
			if err != nil {
				t.Fatalf("tokenaudit did not run: %v; output:\n%s", err, out)
			}
			lines := strings.Split(strings.TrimSuffix(string(recorded), "\n"), "\n")
			if got := lines[:len(lines)-1]; !slices.Equal(got, tc.wantArgs) {
				t.Errorf("tokenaudit %q, want %q", got, tc.wantArgs)
			}
			checkFlags(t, newAuditCmd(&Streams{}, nil), tc.wantArgs)
			_, statErr := os.Stat(filepath.Join(dir, "previous.json"))
			if (tc.status == 200) != (statErr == nil) {
				t.Errorf("previous.json exists: %v after HTTP %d", statErr == nil, tc.status)
			}
		})
	}
}
