package report

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/inventory"
)

// reportDoc is the JSON report as a consumer reads it.
type reportDoc struct {
	SchemaVersion int    `json:"schema_version"`
	GeneratedAt   string `json:"generated_at"`
	GitLab        struct {
		URL, Version, Mode string
		Admin              bool
	} `json:"gitlab"`
	Summary struct {
		Tokens          int            `json:"tokens"`
		BySeverity      map[string]int `json:"by_severity"`
		ByKind          map[string]int `json:"by_kind"`
		Findings        map[string]int `json:"findings"`
		Suppressed      int            `json:"suppressed"`
		Gaps            int            `json:"gaps"`
		GapErrors       int            `json:"gap_errors"`
		GapUnavailable  int            `json:"gap_unavailable"`
		Complete        bool           `json:"complete"`
		Requests        int            `json:"requests"`
		DurationSeconds float64        `json:"duration_seconds"`
	} `json:"summary"`
	Tokens []struct {
		Kind        string          `json:"kind"`
		ID          int64           `json:"id"`
		Name        string          `json:"name"`
		Owner       json.RawMessage `json:"owner"`
		Scopes      []string        `json:"scopes"`
		AccessLevel *int            `json:"access_level"`
		CreatedAt   *string         `json:"created_at"`
		ExpiresAt   *string         `json:"expires_at"`
		LastUsedAt  *string         `json:"last_used_at"`
		Findings    []struct {
			Rule              string  `json:"rule"`
			Suppressed        bool    `json:"suppressed"`
			SuppressionReason *string `json:"suppression_reason"`
		} `json:"findings"`
	} `json:"tokens"`
	Findings          []json.RawMessage `json:"findings"`
	Gaps              []json.RawMessage `json:"gaps"`
	ExpiredExceptions []json.RawMessage `json:"expired_exceptions"`
}

func decodeJSON(t testing.TB, b []byte) reportDoc {
	t.Helper()
	var doc reportDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("report is not JSON: %v", err)
	}
	return doc
}

// TestJSONLayout: the streamed document is byte for byte what
// json.MarshalIndent of the whole would give (two spaces, keys in order,
// no HTML escaping), so it is one valid document however it was built.
func TestJSONLayout(t *testing.T) {
	for _, tc := range goldenCases {
		got := render(t, "json", tc.result(), Options{})
		var compact, want bytes.Buffer
		if err := json.Compact(&compact, got); err != nil {
			t.Fatalf("%s: not JSON: %v", tc.name, err)
		}
		if err := json.Indent(&want, compact.Bytes(), "", "  "); err != nil {
			t.Fatal(err)
		}
		want.WriteByte('\n')
		if diff := cmp.Diff(want.String(), string(got)); diff != "" {
			t.Errorf("%s: layout differs from json.Indent (-want +got):\n%s", tc.name, diff)
		}
	}
	r := richResult()
	r.Tokens[0].Token.Name = "<b>&amp;</b>"
	r.Findings[0].Detail = "a < b && c > d"
	got := render(t, "json", r, Options{})
	for _, want := range []string{`"<b>&amp;</b>"`, `"a < b && c > d"`} {
		if !bytes.Contains(got, []byte(want)) {
			t.Errorf("JSON escapes HTML: %s not found", want)
		}
	}
}

func TestJSONContent(t *testing.T) {
	r := richResult()
	doc := decodeJSON(t, render(t, "json", r, Options{}))
	if doc.SchemaVersion != 1 || doc.GeneratedAt != "2026-11-27T12:00:00Z" {
		t.Errorf("schema_version, generated_at = %d, %q", doc.SchemaVersion, doc.GeneratedAt)
	}
	if len(doc.Tokens) != len(r.Tokens) || len(doc.Findings) != 3 || len(doc.Gaps) != 2 || len(doc.ExpiredExceptions) != 1 {
		t.Fatalf("lists: %d tokens, %d findings, %d gaps, %d expired exceptions",
			len(doc.Tokens), len(doc.Findings), len(doc.Gaps), len(doc.ExpiredExceptions))
	}
	// Every token keeps the result's order.
	for i, tok := range doc.Tokens {
		if tok.Kind != string(r.Tokens[i].Token.Kind) || tok.ID != r.Tokens[i].Token.ID {
			t.Errorf("token %d is %s %d, want %s %d", i, tok.Kind, tok.ID, r.Tokens[i].Token.Kind, r.Tokens[i].Token.ID)
		}
	}
	root, deploy, trigger := doc.Tokens[0], doc.Tokens[2], doc.Tokens[4]
	if string(deploy.Owner) != "null" || deploy.CreatedAt != nil || deploy.AccessLevel != nil {
		t.Errorf("deploy token: owner %s, created_at %v, access_level %v; want null for all", deploy.Owner, deploy.CreatedAt, deploy.AccessLevel)
	}
	if deploy.ExpiresAt == nil || *deploy.ExpiresAt != "2026-12-01T00:00:00Z" {
		t.Errorf("deploy expires_at = %v, want GitLab's RFC 3339 form", deploy.ExpiresAt)
	}
	if pat := doc.Tokens[1]; pat.ExpiresAt == nil || *pat.ExpiresAt != "2027-11-01" || pat.AccessLevel == nil || *pat.AccessLevel != 40 {
		t.Errorf("project token: expires_at %v, access_level %v; want 2027-11-01 and 40", pat.ExpiresAt, pat.AccessLevel)
	}
	if root.ExpiresAt != nil || root.LastUsedAt == nil || *root.LastUsedAt != "2026-11-26T08:15:00Z" {
		t.Errorf("root token: expires_at %v (want null: never), last_used_at %v (want UTC)", root.ExpiresAt, root.LastUsedAt)
	}
	if trigger.Scopes == nil || len(trigger.Scopes) != 0 {
		t.Errorf("trigger scopes = %#v, want []", trigger.Scopes)
	}
	for _, tok := range doc.Tokens {
		for _, f := range tok.Findings {
			if !f.Suppressed && f.SuppressionReason != nil {
				t.Errorf("unsuppressed %s carries suppression_reason", f.Rule)
			}
			if f.Suppressed && f.SuppressionReason == nil {
				t.Errorf("suppressed %s lacks suppression_reason", f.Rule)
			}
		}
	}
	if doc.Summary.Requests != 1234 || doc.Summary.DurationSeconds != 2.346 || doc.Summary.Complete || doc.Summary.GapErrors != 1 {
		t.Errorf("summary = %+v", doc.Summary)
	}
	if doc.Summary.BySeverity["medium"] != 2 || doc.Summary.ByKind["personal"] != 2 || doc.Summary.Findings["high"] != 3 {
		t.Errorf("summary counts = %+v", doc.Summary)
	}
}

// TestJSONUnknown: every token carries "unknown", the rules that could not
// judge it in the result's order, and [] (never null or absent) when there
// are none.
func TestJSONUnknown(t *testing.T) {
	r := richResult()
	var doc struct {
		Tokens []map[string]json.RawMessage `json:"tokens"`
	}
	if err := json.Unmarshal(render(t, "json", r, Options{}), &doc); err != nil {
		t.Fatal(err)
	}
	empty := 0
	for i, tok := range doc.Tokens {
		raw, ok := tok["unknown"]
		if !ok {
			t.Errorf("token %d has no unknown field", r.Tokens[i].Token.ID)
			continue
		}
		var got []string
		if err := json.Unmarshal(raw, &got); err != nil || got == nil {
			t.Errorf("token %d: unknown = %s, want a list", r.Tokens[i].Token.ID, raw)
		}
		want := r.Tokens[i].Unknown
		if len(want) == 0 {
			empty++
			want = []string{}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("token %d: unknown (-result +report):\n%s", r.Tokens[i].Token.ID, diff)
		}
	}
	// The fixture's known lists, so the loop above cannot pass on an
	// empty fixture.
	if got := string(doc.Tokens[2]["unknown"]); strings.Join(strings.Fields(got), "") != `["TA-002","TA-050"]` {
		t.Errorf("deploy token: unknown = %s, want [TA-002, TA-050]", got)
	}
	if empty == 0 || empty == len(doc.Tokens) {
		t.Errorf("%d of %d tokens without unknown rules: the fixture should have both", empty, len(doc.Tokens))
	}
}

// TestJSONEmpty: lists are [] and every count key is there, 0, even when
// the result's maps are nil.
func TestJSONEmpty(t *testing.T) {
	got := render(t, "json", emptyResult(), Options{})
	// Without a baseline the comparison is absent, and without a filter
	// the filter; absent values are null, and nothing else is.
	rest := bytes.ReplaceAll(got, []byte(`"baseline": null`), nil)
	if rest = bytes.ReplaceAll(rest, []byte(`"filter": null`), nil); bytes.Contains(rest, []byte("null")) {
		t.Errorf("empty report has a null besides the baseline's and the filter's:\n%s", got)
	}
	if n := bytes.Count(got, []byte(`"baseline": null`)); n != 2 {
		t.Errorf("empty report has %d baseline keys, want 2 (summary and top level), null:\n%s", n, got)
	}
	for _, list := range []string{"tokens", "findings", "gaps", "expired_exceptions"} {
		if !bytes.Contains(got, []byte(`"`+list+`": []`)) {
			t.Errorf("empty report lacks %q: []", list)
		}
	}
	doc := decodeJSON(t, got)
	for _, k := range inventory.Kinds {
		if n, ok := doc.Summary.ByKind[string(k)]; !ok || n != 0 {
			t.Errorf("by_kind[%s] = %d, %v; want 0, present", k, n, ok)
		}
	}
	for _, s := range reportSeverities {
		if n, ok := doc.Summary.BySeverity[s.String()]; !ok || n != 0 {
			t.Errorf("by_severity[%s] = %d, %v; want 0, present", s, n, ok)
		}
	}
	if len(doc.Summary.Findings) != 5 {
		t.Errorf("summary.findings = %v, want the five finding severities", doc.Summary.Findings)
	}
}

func compileSchema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	return compileSchemaFile(t, "../docs/report.schema.json", "https://tokenaudit.example/report.schema.json")
}

// compileSchemaFile compiles the JSON schema in path under url, with
// formats (date-time, date, uri) checked, not just annotations.
func compileSchemaFile(t testing.TB, path, url string) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		t.Fatalf("compile %s: %v", path, err)
	}
	return sch
}

func validate(sch *jsonschema.Schema, b []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return err
	}
	return sch.Validate(v)
}

// TestJSONSchema validates real writer output against the schema in docs/.
func TestJSONSchema(t *testing.T) {
	sch := compileSchema(t)
	odd := richResult()
	odd.Tokens[0].Token.Name = oddMixed + "\x1b\u2028"
	for _, tc := range []struct {
		name string
		r    *audit.Result
	}{{"rich", richResult()}, {"empty", emptyResult()}, {"odd", odd}} {
		if err := validate(sch, render(t, "json", tc.r, Options{})); err != nil {
			t.Errorf("%s report does not validate: %v", tc.name, err)
		}
	}
}

// TestJSONSchemaRejects: the schema is strict; each broken document fails.
func TestJSONSchemaRejects(t *testing.T) {
	sch := compileSchema(t)
	good := string(render(t, "json", richResult(), Options{}))
	broken := []struct{ name, old, new string }{
		{"schema version 2", `"schema_version": 1`, `"schema_version": 2`},
		{"unknown kind", `"kind": "deploy"`, `"kind": "ssh_key"`},
		{"unknown severity", `"severity": "critical"`, `"severity": "urgent"`},
		{"null scopes", `"scopes": []`, `"scopes": null`},
		{"null findings", `"findings": [`, `"findings": null, "x": [`},
		{"extra field", `"revoked": false`, `"revoked": false, "token": "glpat-x"`},
		{"missing field", `"risk_score": 96,`, ``},
		{"bad time", `"generated_at": "2026-11-27T12:00:00Z"`, `"generated_at": "yesterday"`},
		{"bad gap kind", `"kind": "permission"`, `"kind": "forbidden"`},
		{"bad mode", `"mode": "instance"`, `"mode": "auto"`},
		{"owner without username", `"username": "root",`, ``},
		{"missing summary count", `"info": 1,`, ``},
		{"null unknown", `"unknown": []`, `"unknown": null`},
		{"missing unknown", `],` + "\n" + `      "unknown": []`, `]`},
		{"empty rule in unknown", `"TA-062"`, `""`},
		{"missing gap_unavailable", `"gap_unavailable": 0,`, ``},
	}
	for _, b := range broken {
		doc := strings.Replace(good, b.old, b.new, 1)
		if doc == good {
			t.Fatalf("%s: %q not in the report", b.name, b.old)
		}
		if err := validate(sch, []byte(doc)); err == nil {
			t.Errorf("%s: broken document validates", b.name)
		}
	}
}

// TestJSONEscapesControls: a C1 control (U+009B, CSI) and a bidi override
// (U+202E) are written as \uXXXX wherever GitLab's text goes (a token's
// name, written by appendToken; a finding's title and a gap's reason,
// written through encoding/json), the document validates and every string
// reads back as it was.
func TestJSONEscapesControls(t *testing.T) {
	const hostile = "evil\u202egpj.exe\u009b31m"
	r := richResult()
	r.Tokens[0].Token.Name = hostile
	r.Findings[0].Title = hostile
	r.Inventory.Gaps[0].Reason = hostile
	got := render(t, "json", r, Options{})
	if bytes.ContainsAny(got, "\u202e\u009b") {
		t.Errorf("JSON holds a raw U+202E or U+009B:\n%s", got)
	}
	if n := bytes.Count(got, []byte(`"evil\u202egpj.exe\u009b31m"`)); n != 3 {
		t.Errorf("%d escaped strings, want 3 (name, title, reason)", n)
	}
	if err := validate(compileSchema(t), got); err != nil {
		t.Errorf("report does not validate: %v", err)
	}
	var doc struct {
		Tokens   []struct{ Name string }   `json:"tokens"`
		Findings []struct{ Title string }  `json:"findings"`
		Gaps     []struct{ Reason string } `json:"gaps"`
	}
	if err := json.Unmarshal(got, &doc); err != nil {
		t.Fatal(err)
	}
	for field, s := range map[string]string{"name": doc.Tokens[0].Name, "title": doc.Findings[0].Title, "reason": doc.Gaps[0].Reason} {
		if s != hostile {
			t.Errorf("%s reads back as %q, want %q", field, s, hostile)
		}
	}
}

// TestUnavailableGaps: the audit of a GitLab that lacks features counts
// its unavailable gaps and stays complete; the JSON summary carries the
// count (gap_unavailable, schema-valid) and the table's summary says how
// many were unavailable in this GitLab. An error gap still makes it
// incomplete, with both counts.
func TestUnavailableGaps(t *testing.T) {
	sch := compileSchema(t)
	for _, tc := range []struct {
		name     string
		errGap   bool
		complete bool
		line     string
	}{
		{"unavailable", false, true, "Gaps 3 (1 permission limit, 2 unavailable in GitLab 16.0.5): complete for this caller"},
		{"and an error", true, false, "Gaps 4 (1 error, 2 unavailable in GitLab 16.0.5): INCOMPLETE, some data could not be read"},
	} {
		inv := unavailableInventory()
		if tc.errGap {
			inv.Gaps = append(inv.Gaps, inventory.Gap{Resource: "project acme/api", What: "pipeline triggers", Kind: inventory.GapError, Reason: "502 Bad Gateway"})
		}
		r, err := audit.Evaluate(inv, audit.DefaultPolicy(), fixedNow)
		if err != nil {
			t.Fatal(err)
		}
		if s := r.Summary; s.GapUnavailable != 2 || s.Complete != tc.complete {
			t.Errorf("%s: summary GapUnavailable %d, Complete %v; want 2, %v", tc.name, s.GapUnavailable, s.Complete, tc.complete)
		}
		js := render(t, "json", r, Options{})
		if err := validate(sch, js); err != nil {
			t.Errorf("%s: report does not validate: %v", tc.name, err)
		}
		doc := decodeJSON(t, js)
		if s := doc.Summary; s.Gaps != len(inv.Gaps) || s.GapUnavailable != 2 || s.Complete != tc.complete {
			t.Errorf("%s: JSON summary gaps %d, gap_unavailable %d, complete %v; want %d, 2, %v",
				tc.name, s.Gaps, s.GapUnavailable, s.Complete, len(inv.Gaps), tc.complete)
		}
		if n := bytes.Count(js, []byte(`"kind": "unavailable"`)); n != 2 {
			t.Errorf("%s: %d gaps of kind unavailable in the JSON, want 2", tc.name, n)
		}
		table := strings.Join(strings.Fields(string(render(t, "table", r, Options{}))), " ")
		if !strings.Contains(table, tc.line) {
			t.Errorf("%s: table lacks %q:\n%s", tc.name, tc.line, table)
		}
		if !strings.Contains(table, "unavailable: this GitLab's version or edition does not have it") {
			t.Errorf("%s: the gaps section does not say what unavailable means:\n%s", tc.name, table)
		}
	}
}
