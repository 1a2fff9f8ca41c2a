package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/inventory"
)

// baselineOf is the baseline of baselineResult: richResult a day earlier,
// with the changes the comparison must find.
func baselineOf() *audit.Result {
	b := richResult()
	b.Now = fixedNow.Add(-24 * time.Hour)
	var kept []audit.TokenResult
	for _, tr := range b.Tokens {
		switch tr.Token.ID {
		case 101: // the admin token had TA-004 but not yet TA-001
			tr.Findings = []audit.Finding{tr.Findings[1]}
		case 2201: // the release bot's token before its rotation, with a finding now gone
			tr.Token.ID = 2100
			tr.Findings = append(tr.Findings, audit.Finding{Rule: "TA-050", Severity: audit.SeverityLow, Title: "Token not rotated for a long time"})
		case 102: // the laptop token is new
			continue
		}
		kept = append(kept, tr)
	}
	b.Tokens = append(kept, audit.TokenResult{
		Token: inventory.Token{
			Kind: inventory.KindPersonal, ID: 77, Name: "old-ci",
			Owner:    &inventory.Owner{ID: 5, Username: "dave", Type: inventory.OwnerHuman, State: "active"},
			Resource: inventory.Resource{Type: inventory.ResourceInstance}, Scopes: []string{"api"},
		},
		Active: true, RiskScore: 60, Severity: audit.SeverityHigh,
		Findings: []audit.Finding{{Rule: "TA-011", Severity: audit.SeverityHigh, Title: "Token has api scope"}},
	})
	b.Findings = append(b.Findings[:1:1], // instance TA-030 unchanged; acme/api-gateway's TA-031 is new
		audit.ResourceFinding{Resource: "project acme/web", Finding: b.Findings[2].Finding},
		audit.ResourceFinding{Resource: "project acme/old", Finding: audit.Finding{Rule: "TA-031", Severity: audit.SeverityMedium, Title: "CI job token scope allows every project"}},
	)
	return b
}

// baselineResult is richResult compared with baselineOf.
func baselineResult() *audit.Result {
	r := richResult()
	audit.CompareBaseline(r, baselineOf())
	return r
}

// mergedResult merges richResult with an audit of another instance
// whose personal token 101 is another token than richResult's.
func mergedResult() *audit.Result {
	other := &audit.Result{
		Inventory: &inventory.Inventory{
			GitLab: inventory.Instance{URL: "https://gitlab.other.example", Version: "18.6.0-ee", Mode: inventory.ModeGroups},
			Gaps:   []inventory.Gap{{Resource: "group widgets", What: "credentials inventory", Kind: inventory.GapUnavailable, Reason: "not on this instance"}},
			Stats:  inventory.Stats{Requests: 50, Duration: 1500 * time.Millisecond},
		},
		Now: fixedNow.Add(-time.Hour),
		Tokens: []audit.TokenResult{{
			Token: inventory.Token{
				Kind: inventory.KindPersonal, ID: 101, Name: "widgets-ci",
				Owner:    &inventory.Owner{ID: 3, Username: "erin", Type: inventory.OwnerHuman, State: "active"},
				Resource: inventory.Resource{Type: inventory.ResourceInstance}, Scopes: []string{"read_api"},
				Expires: inventory.Expiry{At: day(2027, 3, 1), DateOnly: true},
			},
			Active: true, RiskScore: 0, Severity: audit.SeverityNone, Findings: []audit.Finding{},
		}},
		Findings: []audit.ResourceFinding{{Resource: "project acme/web", Finding: audit.Finding{Rule: "TA-031", Severity: audit.SeverityMedium, Title: "CI job token scope allows every project"}}},
	}
	m, err := audit.Merge([]*audit.Result{richResult(), other})
	if err != nil {
		panic(err)
	}
	return m
}

// TestBaselineGolden: the three formats of a compared and of a merged
// result, as goldens (go test ./report -update rewrites them).
func TestBaselineGolden(t *testing.T) {
	for name, res := range map[string]func() *audit.Result{"baseline": baselineResult, "merged": mergedResult} {
		for _, format := range Formats() {
			t.Run(name+"/"+format, func(t *testing.T) {
				checkGolden(t, name+"."+format+".golden", render(t, format, res(), Options{}))
			})
		}
	}
}

// TestBaselineJSON: what the comparison found is in the JSON report, which
// validates against the schema.
func TestBaselineJSON(t *testing.T) {
	got := render(t, "json", baselineResult(), Options{})
	if err := validate(compileSchema(t), got); err != nil {
		t.Fatalf("report does not validate: %v", err)
	}
	var doc struct {
		Summary struct {
			Baseline struct {
				NewTokens         int            `json:"new_tokens"`
				UnchangedTokens   int            `json:"unchanged_tokens"`
				DisappearedTokens int            `json:"disappeared_tokens"`
				NewFindings       map[string]int `json:"new_findings"`
				ResolvedFindings  map[string]int `json:"resolved_findings"`
			} `json:"baseline"`
		} `json:"summary"`
		Tokens []struct {
			Kind       string `json:"kind"`
			ID         int64  `json:"id"`
			Baseline   string `json:"baseline"`
			BaselineID *int64 `json:"baseline_id"`
			Findings   []struct {
				Rule, Baseline string
			} `json:"findings"`
		} `json:"tokens"`
		Findings []struct{ Rule, Resource, Baseline string } `json:"findings"`
		Baseline struct {
			GeneratedAt      string `json:"generated_at"`
			GitLabURL        string `json:"gitlab_url"`
			ResolvedFindings []struct {
				Rule  string
				Token *struct {
					Kind string
					ID   int64
				}
				Resource *string
			} `json:"resolved_findings"`
			DisappearedTokens []struct {
				Kind          string  `json:"kind"`
				ID            int64   `json:"id"`
				OwnerUsername *string `json:"owner_username"`
				Severity      string  `json:"severity"`
			} `json:"disappeared_tokens"`
		} `json:"baseline"`
	}
	if err := json.Unmarshal(got, &doc); err != nil {
		t.Fatal(err)
	}
	marks := map[int64]string{}
	for _, tok := range doc.Tokens {
		m := tok.Baseline
		if tok.BaselineID != nil {
			m += "@" + itoa(*tok.BaselineID)
		}
		for _, f := range tok.Findings {
			m += " " + f.Rule + "=" + f.Baseline
		}
		marks[tok.ID] = m
	}
	want := map[int64]string{
		101:  "unchanged@101 TA-001=new TA-004=unchanged",
		2201: "unchanged@2100 TA-007=unchanged TA-010=unchanged", // matched as the rotation of 2100
		31:   "unchanged@31 TA-012=unchanged",
		400:  "unchanged@400 TA-014=unchanged",
		5:    "unchanged@5 TA-015=unchanged",
		900:  "unchanged@900 TA-020=unchanged",
		102:  "new",
		300:  "unchanged@300 TA-010=unchanged",
	}
	if diff := cmp.Diff(want, marks); diff != "" {
		t.Errorf("token marks (-want +got):\n%s", diff)
	}
	var resource []string
	for _, f := range doc.Findings {
		resource = append(resource, f.Resource+" "+f.Baseline)
	}
	if diff := cmp.Diff([]string{"instance unchanged", "project acme/platform/backend/services/api-gateway new", "project acme/web unchanged"}, resource); diff != "" {
		t.Errorf("findings of no token (-want +got):\n%s", diff)
	}
	var resolved []string
	for _, f := range doc.Baseline.ResolvedFindings {
		switch {
		case f.Token != nil && f.Resource == nil:
			resolved = append(resolved, f.Token.Kind+":"+itoa(f.Token.ID)+" "+f.Rule)
		case f.Token == nil && f.Resource != nil:
			resolved = append(resolved, *f.Resource+" "+f.Rule)
		default:
			t.Errorf("resolved finding %s names token %v and resource %v; want exactly one", f.Rule, f.Token, f.Resource)
		}
	}
	if diff := cmp.Diff([]string{"personal:77 TA-011", "project acme/old TA-031", "project_access:2100 TA-050"}, resolved); diff != "" {
		t.Errorf("resolved findings (-want +got):\n%s", diff)
	}
	if d := doc.Baseline.DisappearedTokens; len(d) != 1 || d[0].ID != 77 || d[0].OwnerUsername == nil || *d[0].OwnerUsername != "dave" || d[0].Severity != "high" {
		t.Errorf("disappeared tokens %+v, want dave's personal 77, high", d)
	}
	if doc.Baseline.GeneratedAt != "2026-11-26T12:00:00Z" || doc.Baseline.GitLabURL != "https://gitlab.example.com" {
		t.Errorf("baseline %s of %s", doc.Baseline.GeneratedAt, doc.Baseline.GitLabURL)
	}
	c := doc.Summary.Baseline
	if c.NewTokens != 1 || c.UnchangedTokens != 7 || c.DisappearedTokens != 1 {
		t.Errorf("summary counts tokens %d new, %d unchanged, %d gone; want 1, 7, 1", c.NewTokens, c.UnchangedTokens, c.DisappearedTokens)
	}
	// TA-001 (critical) and api-gateway's TA-031 (medium) are new; the
	// laptop token has none. Resolved: TA-011 high, TA-031 medium, TA-050 low.
	if diff := cmp.Diff(map[string]int{"critical": 1, "high": 0, "medium": 1, "low": 0, "info": 0}, c.NewFindings); diff != "" {
		t.Errorf("new findings (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"critical": 0, "high": 1, "medium": 1, "low": 1, "info": 0}, c.ResolvedFindings); diff != "" {
		t.Errorf("resolved findings (-want +got):\n%s", diff)
	}
}

// TestBaselineCSV: each row says its token's mark, its new findings and
// the resolved findings of the baseline token it matches; the columns
// come after the released ones.
func TestBaselineCSV(t *testing.T) {
	rows := readCSV(t, render(t, "csv", baselineResult(), Options{}))
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	got := map[string]string{}
	for _, row := range rows[1:] {
		got[row[col["id"]]] = strings.Join([]string{row[col["baseline"]], row[col["new_findings"]], row[col["resolved_findings"]], row[col["gitlab_url"]]}, "|")
	}
	for id, want := range map[string]string{
		"101":  "unchanged|TA-001||https://gitlab.example.com",
		"2201": "unchanged||TA-050|https://gitlab.example.com",
		"102":  "new|||https://gitlab.example.com",
		"31":   "unchanged|||https://gitlab.example.com",
	} {
		if got[id] != want {
			t.Errorf("token %s: baseline|new_findings|resolved_findings|gitlab_url = %q, want %q", id, got[id], want)
		}
	}
	// Without a baseline the three columns are empty; the instance is not.
	for _, row := range readCSV(t, render(t, "csv", richResult(), Options{}))[1:] {
		if row[col["baseline"]]+row[col["new_findings"]]+row[col["resolved_findings"]] != "" || row[col["gitlab_url"]] != "https://gitlab.example.com" {
			t.Errorf("row without a baseline: %q", row[col["baseline"]:])
		}
	}
}

// TestBaselineTable: a change mark per row, a summary line, the resolved
// findings and the tokens gone.
func TestBaselineTable(t *testing.T) {
	got := string(render(t, "table", baselineResult(), Options{Width: 120}))
	for _, want := range []string{
		"change",
		"Baseline     2026-11-26T12:00:00Z: 2 new findings (1 critical, 1 medium), 7 unchanged, 3 resolved, 1 new token, 1 gone",
		"Resolved since the baseline of 2026-11-26",
		"Tokens gone since the baseline",
		"old-ci",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q:\n%s", want, got)
		}
	}
	// The change is the third line of the severity cell.
	ls := strings.Split(got, "\n")
	if i := slices.IndexFunc(ls, func(l string) bool { return strings.Contains(l, "admin-automation") }); i < 0 || i+2 >= len(ls) || !strings.HasPrefix(ls[i+2], "1 new ") {
		t.Errorf("the admin token's row does not say 1 new (one new finding):\n%s", got)
	}
	if !strings.Contains(got, "new token") {
		t.Errorf("the new token's row does not say new token:\n%s", got)
	}

	// Without a baseline there is no such column.
	if plain := string(render(t, "table", richResult(), Options{Width: 120})); strings.Contains(plain, "change") || strings.Contains(plain, "Baseline") {
		t.Errorf("table without a baseline shows one:\n%s", plain)
	}
}

// TestMergedTable: where paths repeat across instances, each row names
// its instance by its number in the summary.
func TestMergedTable(t *testing.T) {
	got := string(render(t, "table", mergedResult(), Options{Width: 120}))
	for _, want := range []string{"merged from 2 reports of [1] https://gitlab.example.com, [2] https://gitlab.other.example", "project acme/web [2]", "instance [1]"} {
		if !strings.Contains(got, want) {
			t.Errorf("merged table lacks %q:\n%s", want, got)
		}
	}
}

// TestMergedJSON: a merged report names each token's, finding's and gap's
// instance and its sources, and validates against the schema.
func TestMergedJSON(t *testing.T) {
	got := render(t, "json", mergedResult(), Options{})
	if err := validate(compileSchema(t), got); err != nil {
		t.Fatalf("merged report does not validate: %v", err)
	}
	var doc struct {
		GitLab  struct{ URL, Mode string } `json:"gitlab"`
		Summary struct{ Tokens, Requests int }
		Tokens  []struct {
			ID        int64  `json:"id"`
			GitLabURL string `json:"gitlab_url"`
		} `json:"tokens"`
		Gaps []struct {
			GitLabURL string `json:"gitlab_url"`
		} `json:"gaps"`
		Sources []struct {
			GitLab struct{ URL string } `json:"gitlab"`
			Tokens int
		} `json:"sources"`
	}
	if err := json.Unmarshal(got, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.GitLab.URL != "" || doc.GitLab.Mode != "mixed" || len(doc.Sources) != 2 || doc.Summary.Tokens != 9 || doc.Summary.Requests != 1284 {
		t.Errorf("merged report: gitlab %+v, %d sources, summary %+v; want no URL, mixed, 2 sources, 9 tokens, 1284 requests", doc.GitLab, len(doc.Sources), doc.Summary)
	}
	n101 := 0
	for _, tok := range doc.Tokens {
		if tok.GitLabURL == "" {
			t.Errorf("token %d has no gitlab_url", tok.ID)
		}
		if tok.ID == 101 {
			n101++
		}
	}
	if n101 != 2 {
		t.Errorf("%d tokens with id 101, want 2: one per instance", n101)
	}
	for _, g := range doc.Gaps {
		if g.GitLabURL == "" {
			t.Errorf("a gap without gitlab_url")
		}
	}
	// A single audit's report has no such keys.
	if plain := render(t, "json", richResult(), Options{}); bytes.Contains(plain, []byte(`"gitlab_url"`)) || bytes.Contains(plain, []byte(`"sources"`)) {
		t.Error("a single audit's report has gitlab_url or sources")
	}
}

// TestReadJSONRoundTrip: what ReadJSON reads back writes the same report
// again, byte for byte, in every format: the reader reads everything the
// writer writes but the comparison with a baseline.
func TestReadJSONRoundTrip(t *testing.T) {
	odd := richResult()
	odd.Tokens[0].Token.Name = oddMixed + "\x1b\u202e"
	for name, res := range map[string]func() *audit.Result{
		"rich": richResult, "empty": emptyResult, "unavailable": unavailableResult, "merged": mergedResult,
		"odd": func() *audit.Result { return odd },
	} {
		orig := render(t, "json", res(), Options{})
		back, err := ReadJSON(bytes.NewReader(orig))
		if err != nil {
			t.Fatalf("%s: ReadJSON: %v", name, err)
		}
		for _, format := range Formats() {
			if diff := cmp.Diff(string(render(t, format, res(), Options{})), string(render(t, format, back, Options{}))); diff != "" {
				t.Errorf("%s: %s report of what ReadJSON read differs (-written +read back):\n%s", name, format, diff)
			}
		}
	}
	// The comparison is not read back.
	back, err := ReadJSON(bytes.NewReader(render(t, "json", baselineResult(), Options{})))
	if err != nil {
		t.Fatal(err)
	}
	if back.Baseline != nil || back.Tokens[0].Baseline != audit.ChangeNone {
		t.Error("ReadJSON read a baseline comparison back")
	}
}

// TestReadJSONRefuses: a report of another schema_version and anything
// that is no tokenaudit report are refused, each with one line.
func TestReadJSONRefuses(t *testing.T) {
	rich := string(render(t, "json", richResult(), Options{}))
	for _, tc := range []struct {
		name, doc string
		version   bool // a *SchemaVersionError rather than ErrNotReport
		want      string
	}{
		{"schema_version 2", strings.Replace(rich, `"schema_version": 1`, `"schema_version": 2`, 1), true, "schema_version 2; this tokenaudit reads schema_version 1"},
		{"schema_version 1.5", strings.Replace(rich, `"schema_version": 1`, `"schema_version": 1.5`, 1), true, "schema_version 1.5"},
		{"schema_version text", strings.Replace(rich, `"schema_version": 1`, `"schema_version": "1"`, 1), false, "schema_version is not a number"},
		{"no schema_version", `{"tokens": []}`, false, "no schema_version"},
		{"no tokens", `{"schema_version": 1, "generated_at": "2026-11-27T12:00:00Z", "gitlab": {}, "summary": {}}`, false, "no tokens"},
		{"CSV", "kind,id,name\npersonal,1,x\n", false, "not JSON"},
		{"array", `[1, 2]`, false, "not a JSON object"},
		{"empty", ``, false, "not JSON"},
		{"wrong type", strings.Replace(rich, `"id": 101`, `"id": "101"`, 1), false, "tokens.id is a JSON string"},
		{"bad time", strings.Replace(rich, `"generated_at": "2026-11-27T12:00:00Z"`, `"generated_at": "yesterday"`, 1), false, `generated_at "yesterday" is not an RFC 3339 time`},
		{"bad severity", strings.Replace(rich, `"severity": "critical"`, `"severity": "dire"`, 1), false, `unknown severity "dire"`},
	} {
		_, err := ReadJSON(strings.NewReader(tc.doc))
		if err == nil {
			t.Errorf("%s: read without error", tc.name)
			continue
		}
		var sv *SchemaVersionError
		if tc.version != errors.As(err, &sv) || !tc.version && !errors.Is(err, ErrNotReport) {
			t.Errorf("%s: error %T %v, want a schema version error: %v", tc.name, err, err, tc.version)
		}
		if msg := err.Error(); !strings.Contains(msg, tc.want) || strings.ContainsAny(msg, "\n\r") {
			t.Errorf("%s: error %q, want one line with %q", tc.name, msg, tc.want)
		}
	}
	// Keys it does not know are a newer schema_version 1 writer's: read.
	if _, err := ReadJSON(strings.NewReader(strings.Replace(rich, `"schema_version": 1,`, `"schema_version": 1, "future_key": {"x": [1]},`, 1))); err != nil {
		t.Errorf("a report with an unknown key: %v", err)
	}
}

// TestAppendTokenBaselineMatchesEncoder: the hand-written encoder writes
// the comparison's and the merge's keys as encoding/json does.
func TestAppendTokenBaselineMatchesEncoder(t *testing.T) {
	for _, r := range []*audit.Result{baselineResult(), mergedResult()} {
		for i := range r.Tokens {
			tr := &r.Tokens[i]
			u := TokenWebURL(r, tr)
			want := encodeReference(t, referenceToken(tr, u))
			if diff := cmp.Diff(want, string(appendToken(nil, tr, u))); diff != "" {
				t.Errorf("token %s %d (-encoding/json +appendToken):\n%s", tr.Token.Kind, tr.Token.ID, diff)
			}
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
