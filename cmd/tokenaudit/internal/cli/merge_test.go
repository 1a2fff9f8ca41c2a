package cli

import (
	"encoding/csv"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
	"github.com/tokenaudit/tokenaudit/inventory"
	"github.com/tokenaudit/tokenaudit/report"
)

// twoGroups serves a generated instance whose well-known group owner owns
// a second top-level group too, with the owner's token in GITLAB_TOKEN and
// the clock at the instance's today; it returns the test's directory, the
// server and both groups' paths.
func twoGroups(t *testing.T) (dir string, srv *gitlabsim.Server, groupA, groupB string) {
	t.Helper()
	dir = cleanEnv(t)
	w, err := gitlabsim.Generate("small", 1)
	if err != nil {
		t.Fatal(err)
	}
	token, groupA := w.GroupOwnerToken()
	var owner int64
	for _, pt := range w.Tokens {
		if pt.Value == token {
			owner = pt.UserID
		}
	}
	for _, g := range w.Groups {
		if g.ParentID == 0 && g.Path != groupA && w.GroupProjectCount(g.ID) > 0 {
			g.Members = append(g.Members, gitlabsim.Membership{UserID: owner, AccessLevel: 50})
			groupB = g.Path
			break
		}
	}
	if groupB == "" {
		t.Fatal("no second top-level group with projects")
	}
	standStill(t, w)
	t.Setenv("GITLAB_TOKEN", token)
	return dir, serve(t, w, gitlabsim.Options{}), groupA, groupB
}

// auditGroups audits groups of srv in groups mode into the JSON report out.
func auditGroups(t *testing.T, srv *gitlabsim.Server, out string, groups ...string) {
	t.Helper()
	args := []string{"audit", "--gitlab-url", srv.URL(), "--mode", "groups", "--fail-on", "none", "--format", "json", "--output", "json=" + out}
	for _, g := range groups {
		args = append(args, "--group", g)
	}
	if res := run(t, args...); res.code != ExitOK {
		t.Fatalf("audit %v: exit %d; stderr:\n%s", groups, res.code, res.stderr)
	}
}

// loadJSON reads a report as generic JSON.
func loadJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return doc
}

// comparable drops what differs between one audit and a merge of audits
// that read the same: the times, the requests, the sources and each
// item's instance; gaps are compared as a set.
func comparable(doc map[string]any) map[string]any {
	delete(doc, "generated_at")
	delete(doc, "sources")
	sum := doc["summary"].(map[string]any)
	delete(sum, "requests")
	delete(sum, "duration_seconds")
	// Why one audit chose its mode is its own; a merge has no one reason.
	delete(doc["gitlab"].(map[string]any), "mode_reason")
	var strip func(v any)
	strip = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			delete(v, "gitlab_url")
			for _, x := range v {
				strip(x)
			}
		case []any:
			for _, x := range v {
				strip(x)
			}
		}
	}
	strip(doc)
	gaps := doc["gaps"].([]any)
	slices.SortFunc(gaps, func(a, b any) int {
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		return strings.Compare(string(ja), string(jb))
	})
	return doc
}

// TestMergeEqualsOneAudit: the merge of two group audits is the audit of
// both groups at once: the same tokens, findings, gaps and counts.
func TestMergeEqualsOneAudit(t *testing.T) {
	dir, srv, groupA, groupB := twoGroups(t)
	auditGroups(t, srv, "a.json", groupA)
	auditGroups(t, srv, "b.json", groupB)
	auditGroups(t, srv, "ab.json", groupA, groupB)

	res := run(t, "merge", "a.json", "b.json", "--fail-on", "none", "--format", "json", "--output", "json=m.json")
	if res.code != ExitOK {
		t.Fatalf("merge: exit %d; stderr:\n%s", res.code, res.stderr)
	}
	validateFile(t, filepath.Join(dir, "m.json"))
	merged, both := loadJSON(t, filepath.Join(dir, "m.json")), loadJSON(t, filepath.Join(dir, "ab.json"))
	if n := len(merged["sources"].([]any)); n != 2 {
		t.Errorf("%d sources, want 2", n)
	}
	for _, tok := range merged["tokens"].([]any) {
		if tok.(map[string]any)["gitlab_url"] != srv.URL() {
			t.Errorf("merged token without its instance: %v", tok.(map[string]any)["gitlab_url"])
			break
		}
	}
	a := loadJSON(t, filepath.Join(dir, "a.json"))
	b := loadJSON(t, filepath.Join(dir, "b.json"))
	if len(a["tokens"].([]any)) == 0 || len(b["tokens"].([]any)) == 0 {
		t.Fatal("a group audit found no tokens: nothing to merge")
	}
	if diff := cmp.Diff(comparable(both), comparable(merged)); diff != "" {
		t.Errorf("merge of the two group audits differs from the audit of both (-both +merged):\n%s", diff)
	}
}

// TestMergeOverlapNewerWins: a token that two overlapping audits of one
// instance hold is kept once, as the audit with the later generated_at
// has it, in either order; on equal times the report named later wins.
func TestMergeOverlapNewerWins(t *testing.T) {
	dir, srv, groupA, groupB := twoGroups(t)
	auditGroups(t, srv, "a.json", groupA)
	a := readDoc(t, filepath.Join(dir, "a.json"))
	var renamed docToken
	for _, tok := range a.Tokens {
		if tok.Kind == "project_access" {
			renamed = tok
			break
		}
	}
	if renamed.ID == 0 {
		t.Fatal("no project access token in group a")
	}
	srv.Mutate(func(w *gitlabsim.World) {
		for _, pt := range w.Tokens {
			if pt.ID == renamed.ID {
				pt.Name = "renamed later"
			}
		}
	})
	auditGroups(t, srv, "ab.json", groupA, groupB)
	ab := readDoc(t, filepath.Join(dir, "ab.json"))
	setTime := func(name, at string) {
		doc := loadJSON(t, filepath.Join(dir, name))
		doc["generated_at"] = at
		data, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, name), string(data), 0o600)
	}
	later, _ := time.Parse(time.RFC3339, ab.GeneratedAt)
	setTime("a.json", later.Add(-time.Hour).Format(time.RFC3339)) // a was audited an hour earlier

	nameIn := func(args ...string) string {
		t.Helper()
		res := run(t, append([]string{"merge", "--fail-on", "none", "--format", "json", "--output", "json=m.json"}, args...)...)
		if res.code != ExitOK {
			t.Fatalf("merge %v: exit %d; stderr:\n%s", args, res.code, res.stderr)
		}
		m := readDoc(t, filepath.Join(dir, "m.json"))
		if len(m.Tokens) != len(ab.Tokens) {
			t.Errorf("merge %v: %d tokens, want %d: a's tokens are all in ab, once", args, len(m.Tokens), len(ab.Tokens))
		}
		for _, tok := range m.Tokens {
			if tok.Kind == renamed.Kind && tok.ID == renamed.ID {
				return tok.Name
			}
		}
		t.Fatalf("merge %v lost token %d", args, renamed.ID)
		return ""
	}
	for _, order := range [][]string{{"a.json", "ab.json"}, {"ab.json", "a.json"}} {
		if got := nameIn(order...); got != "renamed later" {
			t.Errorf("merge %v: token %d is %q, want the newer report's %q", order, renamed.ID, got, "renamed later")
		}
	}
	setTime("a.json", ab.GeneratedAt)
	if got := nameIn("ab.json", "a.json"); got != renamed.Name {
		t.Errorf("equal times, a named last: token %d is %q, want a's %q", renamed.ID, got, renamed.Name)
	}
	if got := nameIn("a.json", "ab.json"); got != "renamed later" {
		t.Errorf("equal times, ab named last: token %d is %q, want ab's", renamed.ID, got)
	}
}

// twoInstances audits two simulated instances, both of which have a
// personal token 10, into one.json and two.json in the test's directory,
// which it returns with the two servers.
func twoInstances(t *testing.T) (dir string, one, two *gitlabsim.Server) {
	t.Helper()
	dir = cleanEnv(t)
	one = serve(t, cleanWorld(), gitlabsim.Options{})
	two = serve(t, riskyWorld(), gitlabsim.Options{})
	t.Setenv("GITLAB_TOKEN", adminValue)
	for name, srv := range map[string]*gitlabsim.Server{"one.json": one, "two.json": two} {
		if res := run(t, "audit", "--gitlab-url", srv.URL(), "--fail-on", "none", "--format", "json", "--output", "json="+name); res.code != ExitOK {
			t.Fatalf("audit %s: exit %d; stderr:\n%s", name, res.code, res.stderr)
		}
	}
	return dir, one, two
}

// TestMergeInstances: reports of two instances keep each token with its
// instance, in every format, and merge's exit codes are audit's.
func TestMergeInstances(t *testing.T) {
	dir, one, two := twoInstances(t)
	n1, n2 := len(readDoc(t, filepath.Join(dir, "one.json")).Tokens), len(readDoc(t, filepath.Join(dir, "two.json")).Tokens)

	res := run(t, "merge", "one.json", "two.json", "--fail-on", "none", "--format", "csv", "--output", "json=m.json", "--output", "table=m.txt")
	if res.code != ExitOK {
		t.Fatalf("merge: exit %d; stderr:\n%s", res.code, res.stderr)
	}
	rows, err := csv.NewReader(strings.NewReader(res.stdout)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := slices.Index(rows[0], "gitlab_url")
	perInstance := map[string]int{}
	for _, row := range rows[1:] {
		perInstance[row[col]]++
	}
	if want := map[string]int{one.URL(): n1, two.URL(): n2}; !cmp.Equal(want, perInstance) {
		t.Errorf("CSV rows per instance %v, want %v (personal 10 is on both: two tokens)", perInstance, want)
	}
	validateFile(t, filepath.Join(dir, "m.json"))
	m := loadJSON(t, filepath.Join(dir, "m.json"))
	if gl := m["gitlab"].(map[string]any); gl["url"] != "" || len(m["sources"].([]any)) != 2 {
		t.Errorf("merged gitlab %v with %d sources, want no single URL and 2 sources", gl, len(m["sources"].([]any)))
	}
	table, err := os.ReadFile(filepath.Join(dir, "m.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(table), "[2] "+two.URL()) && !strings.Contains(string(table), "[2] "+one.URL()) {
		t.Errorf("the table does not number the instances:\n%s", table)
	}

	// Exit codes: 1 for findings at or above fail_on (riskyWorld has
	// some), 3 for a report with error gaps.
	if res := run(t, "merge", "one.json", "two.json", "--format", "json"); res.code != ExitFindings {
		t.Errorf("merge with the default fail_on high: exit %d, want 1; stderr:\n%s", res.code, res.stderr)
	}
	var b strings.Builder
	broken := &audit.Result{
		Inventory: &inventory.Inventory{
			GitLab: inventory.Instance{URL: one.URL(), Mode: inventory.ModeInstance},
			Gaps:   []inventory.Gap{{Resource: "instance", What: "deploy tokens", Kind: inventory.GapError, Reason: "500 after 5 retries"}},
		},
		Now: time.Now(),
	}
	if err := report.Write(&b, "json", broken, report.Options{}); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "broken.json"), b.String(), 0o600)
	if res := run(t, "merge", "one.json", "broken.json", "--fail-on", "none", "--format", "json"); res.code != ExitIncomplete {
		t.Errorf("merge with an error gap: exit %d, want 3; stderr:\n%s", res.code, res.stderr)
	}
}

// TestMergeBaseline: a merge compares with an earlier merged report and
// gates on what is new, like audit.
func TestMergeBaseline(t *testing.T) {
	dir, one, _ := twoInstances(t)
	if res := run(t, "merge", "one.json", "two.json", "--fail-on", "none", "--format", "json", "--output", "json=yesterday.json"); res.code != ExitOK {
		t.Fatalf("merge: exit %d; stderr:\n%s", res.code, res.stderr)
	}
	res := run(t, "merge", "one.json", "two.json", "--baseline", "yesterday.json", "--fail-on-new", "--format", "json", "--output", "json=today.json")
	if res.code != ExitOK {
		t.Fatalf("merge with the same reports as baseline and --fail-on-new: exit %d, want 0; stderr:\n%s", res.code, res.stderr)
	}
	today := readDoc(t, filepath.Join(dir, "today.json"))
	if c := today.Summary.Baseline; c == nil || c.NewTokens != 0 || sum(c.NewFindings) != 0 || c.UnchangedTokens != len(today.Tokens) {
		t.Errorf("summary.baseline %+v, want everything unchanged", c)
	}
	// Without the riskier instance in the baseline, its tokens are new.
	if res := run(t, "merge", "one.json", "--fail-on", "none", "--format", "json", "--output", "json=one-only.json"); res.code != ExitOK {
		t.Fatalf("merge one: exit %d; stderr:\n%s", res.code, res.stderr)
	}
	if res := run(t, "merge", "one.json", "two.json", "--baseline", "one-only.json", "--fail-on-new", "--format", "json"); res.code != ExitFindings {
		t.Errorf("merge with a baseline lacking an instance: exit %d, want 1 for its new findings; stderr:\n%s", res.code, res.stderr)
	}
	// A baseline of none of the instances is refused.
	if res := run(t, "merge", "two.json", "--baseline", "one-only.json"); res.code != ExitCannotRun || !strings.Contains(res.stderr, "is a report of "+one.URL()) {
		t.Errorf("baseline of another instance: exit %d; stderr:\n%s", res.code, res.stderr)
	}
}

// TestMergeRefuses: what merge cannot read stops it with one line naming
// the file and exit 2.
func TestMergeRefuses(t *testing.T) {
	dir := cleanEnv(t)
	var b strings.Builder
	r := &audit.Result{Inventory: &inventory.Inventory{GitLab: inventory.Instance{URL: "https://gitlab.example.com", Mode: inventory.ModeInstance}}, Now: time.Now()}
	if err := report.Write(&b, "json", r, report.Options{}); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "ok.json"), b.String(), 0o600)
	writeFile(t, filepath.Join(dir, "v2.json"), strings.Replace(b.String(), `"schema_version": 1`, `"schema_version": 2`, 1), 0o600)
	writeFile(t, filepath.Join(dir, "report.csv"), strings.Join(report.CSVHeader, ",")+"\n", 0o600)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"ok.json", "v2.json"}, "merge: v2.json: a report of schema_version 2; this tokenaudit reads schema_version 1 only"},
		{[]string{"report.csv"}, "merge: report.csv: not a tokenaudit JSON report"},
		{[]string{"ok.json", "missing.json"}, "merge: missing.json does not exist"},
		{nil, "merge needs at least one JSON report"},
		{[]string{"ok.json", "--output", "yaml=x"}, `output: format "yaml"`},
	} {
		res := run(t, append([]string{"merge"}, tc.args...)...)
		if res.code != ExitCannotRun || !strings.Contains(res.stderr, tc.want) || strings.Count(res.stderr, "\n") != 1 {
			t.Errorf("merge %v: exit %d, stderr %q; want 2 and one line with %q", tc.args, res.code, res.stderr, tc.want)
		}
		if res.stdout != "" {
			t.Errorf("merge %v wrote a report: %q", tc.args, res.stdout)
		}
	}
}

// TestMergeCIMatrixExample: examples/gitlab-ci-matrix.yml parses; every
// matrix entry audits with a token of its own into the artifacts the merge
// job needs; the merge reads all of them, keeps the report the next run
// reads back, and gates on it.
func TestMergeCIMatrixExample(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is needed to run the example's script")
	}
	stages, jobs := loadCI(t, "gitlab-ci-matrix.yml")
	auditJob, ok1 := jobs["tokenaudit-audit"]
	mergeJob, ok2 := jobs["tokenaudit-merge"]
	if !ok1 || !ok2 {
		t.Fatalf("jobs %v, want tokenaudit-audit and tokenaudit-merge", slices.Collect(maps.Keys(jobs)))
	}
	if i, j := slices.Index(stages, auditJob.Stage), slices.Index(stages, mergeJob.Stage); i < 0 || j <= i {
		t.Errorf("stages %v: audit in %q, merge in %q; want the merge's stage after the audits'", stages, auditJob.Stage, mergeJob.Stage)
	}
	template := jobs[auditJob.Extends]
	if auditJob.Extends == "" || auditJob.Extends != mergeJob.Extends || len(template.Rules) == 0 || !strings.Contains(template.Rules[0]["if"], `"schedule"`) {
		t.Errorf("the jobs do not share a template that runs them in scheduled pipelines: %q, %q", auditJob.Extends, mergeJob.Extends)
	}

	// The matrix: two entries at least, each with a token of its own.
	tokens := map[string]bool{}
	for _, e := range auditJob.Parallel.Matrix {
		if v := e["TOKEN_VARIABLE"]; v == "" || tokens[v] {
			t.Errorf("matrix entry %v: want a TOKEN_VARIABLE of its own", e)
		}
		tokens[e["TOKEN_VARIABLE"]] = true
		if e["TOKENAUDIT_GROUPS"] == "" && e["TOKENAUDIT_GITLAB_URL"] == "" {
			t.Errorf("matrix entry %v names neither groups nor an instance", e)
		}
	}
	if len(tokens) < 2 {
		t.Errorf("%d matrix entries, want several", len(tokens))
	}
	if !slices.Equal(auditJob.AllowFailure.ExitCodes, []int{3}) || auditJob.Artifacts.When != "always" || !slices.Equal(auditJob.Artifacts.Paths, []string{"reports/"}) {
		t.Errorf("audit job: allow_failure %v, artifacts %+v; want exit code 3 allowed and reports/ kept always", auditJob.AllowFailure.ExitCodes, auditJob.Artifacts)
	}
	if len(mergeJob.Needs) != 1 || mergeJob.Needs[0].Job != "tokenaudit-audit" || !mergeJob.Needs[0].Artifacts {
		t.Errorf("merge needs %+v, want tokenaudit-audit with its artifacts", mergeJob.Needs)
	}

	// An audit job: the entry's token, its report under reports/.
	dir := t.TempDir()
	bin, calls := fakeTool(t)
	path := "PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH")
	code, out := runScript(t, dir, strings.Join(auditJob.Script, "\n"), []string{path, "TOKEN_VARIABLE=MY_ORG_AUDIT_TOKEN", "MY_ORG_AUDIT_TOKEN=glpat-matrixentry000000001", "CI_NODE_INDEX=2", "GITLAB_TOKEN="})
	if code != 0 || strings.Contains(out, "glpat-matrixentry") {
		t.Fatalf("audit script: exit %d, output (which must not show the token):\n%s", code, out)
	}
	recorded, err := os.ReadFile(calls)
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Split(strings.TrimSuffix(string(recorded), "\n"), "\n")
	if args[len(args)-1] != "token=set" {
		t.Errorf("the audit ran without the entry's token as GITLAB_TOKEN")
	}
	args = args[:len(args)-1]
	if want := []string{"audit", "--fail-on", "none", "--output", "json=reports/tokenaudit-2.json"}; !slices.Equal(args, want) {
		t.Errorf("audit job runs tokenaudit %q, want %q", args, want)
	}
	checkFlags(t, newAuditCmd(&Streams{}, nil), args)
	auditOut := strings.TrimPrefix(args[len(args)-1], "json=")

	// The merge job: every audit's report, yesterday's merged report as the
	// baseline.
	mergeScript := scriptWith(t, mergeJob, "tokenaudit merge")
	reportPath := artifactPath(t, mergeScript)
	if !slices.Contains(mergeJob.Artifacts.Paths, reportPath) || !strings.Contains(mergeScript, "--output json="+reportPath) {
		t.Errorf("the merge writes and keeps %v, but the next run reads back %s", mergeJob.Artifacts.Paths, reportPath)
	}
	if err := os.MkdirAll(filepath.Join(dir, "reports"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{auditOut, "reports/tokenaudit-1.json"} {
		writeFile(t, filepath.Join(dir, name), "{}", 0o600)
	}
	srv := artifactServer(t, reportPath, "tokenaudit-merge", 200, `{"schema_version": 1}`)
	os.Remove(calls)
	code, out = runScript(t, dir, mergeScript, []string{
		path, "CI_JOB_TOKEN=job-token", "CI_JOB_NAME=tokenaudit-merge", "CI_API_V4_URL=" + srv.URL + "/api/v4",
		"CI_PROJECT_ID=42", "CI_COMMIT_REF_NAME=main",
	})
	if code != 0 {
		t.Fatalf("merge script: exit %d; output:\n%s", code, out)
	}
	recorded, err = os.ReadFile(calls)
	if err != nil {
		t.Fatal(err)
	}
	args = strings.Split(strings.TrimSuffix(string(recorded), "\n"), "\n")
	args = args[:len(args)-1]
	want := []string{"merge", "--baseline", "previous.json", "--fail-on-new", "--output", "json=tokenaudit.json", "--output", "csv=tokenaudit.csv", "reports/tokenaudit-1.json", "reports/tokenaudit-2.json"}
	if !slices.Equal(args, want) {
		t.Errorf("merge job runs tokenaudit %q, want %q", args, want)
	}
	checkFlags(t, newMergeCmd(&Streams{}), args)
}
