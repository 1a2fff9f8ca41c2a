package audit

import (
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenaudit/tokenaudit/inventory"
)

const testURL = "https://gitlab.example.com"

// tok is a token result of the given kind and id with findings of the
// rules given, each at severity high, owned by user owner.
func tok(kind inventory.Kind, id, owner int64, name string, rules ...string) TokenResult {
	t := healthy(kind, id)
	t.Name = name
	if t.Owner != nil {
		t.Owner.ID = owner
	}
	tr := TokenResult{Token: t, Active: true, Severity: SeverityNone}
	for _, r := range rules {
		tr.Findings = append(tr.Findings, Finding{Rule: r, Severity: SeverityHigh, Title: r})
		tr.Severity = SeverityHigh
	}
	return tr
}

func result(at time.Time, url string, tokens ...TokenResult) *Result {
	return &Result{Inventory: &inventory.Inventory{GitLab: inventory.Instance{URL: url, Mode: inventory.ModeInstance}}, Now: at, Tokens: tokens}
}

// marks lists each token's mark and baseline id, and its findings' marks.
func marks(r *Result) map[int64]string {
	m := map[int64]string{}
	for _, t := range r.Tokens {
		s := t.Baseline.String()
		if t.Baseline == ChangeUnchanged {
			s += "@" + itoa(t.BaselineID)
		}
		for _, f := range t.Findings {
			s += " " + f.Rule + "=" + f.Baseline.String()
		}
		m[t.Token.ID] = s
	}
	return m
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func resolvedOf(d *BaselineDiff) []string {
	var out []string
	for _, f := range d.Resolved {
		who := f.Resource
		if f.Token != nil {
			who = string(f.Token.Kind) + ":" + itoa(f.Token.ID)
		}
		out = append(out, who+" "+f.Rule)
	}
	return out
}

func disappearedOf(d *BaselineDiff) []int64 {
	var ids []int64
	for _, t := range d.Disappeared {
		ids = append(ids, t.ID)
	}
	return ids
}

// TestCompareBaselineSameIDs: tokens match by (instance, kind, id), findings
// by rule; what only the baseline had is resolved or gone, and the counts
// say the same as the marks.
func TestCompareBaselineSameIDs(t *testing.T) {
	base := result(now.Add(-day), testURL,
		tok(inventory.KindPersonal, 1, 100, "a", "TA-011", "TA-030"),
		tok(inventory.KindPersonal, 2, 101, "b", "TA-001"),
		tok(inventory.KindDeploy, 1, 0, "d", "TA-060"), // same id, other kind
	)
	base.Findings = []ResourceFinding{
		{Resource: "instance", Finding: Finding{Rule: "TA-070", Severity: SeverityHigh}},
		{Resource: "project acme/api", Finding: Finding{Rule: "TA-072", Severity: SeverityMedium}},
	}
	cur := result(now, testURL+"/", // another spelling of the same URL
		tok(inventory.KindPersonal, 1, 100, "a", "TA-011", "TA-002"),
		tok(inventory.KindPersonal, 3, 102, "c", "TA-001"),
	)
	cur.Tokens[1].Findings[0].Severity = SeverityCritical
	cur.Findings = []ResourceFinding{
		{Resource: "instance", Finding: Finding{Rule: "TA-070", Severity: SeverityHigh}},
		{Resource: "project acme/web", Finding: Finding{Rule: "TA-072", Severity: SeverityMedium}},
	}
	CompareBaseline(cur, base)

	want := map[int64]string{
		1: "unchanged@1 TA-011=unchanged TA-002=new",
		3: "new TA-001=new",
	}
	if diff := cmp.Diff(want, marks(cur)); diff != "" {
		t.Errorf("marks (-want +got):\n%s", diff)
	}
	if got := []string{cur.Findings[0].Baseline.String(), cur.Findings[1].Baseline.String()}; !cmp.Equal(got, []string{"unchanged", "new"}) {
		t.Errorf("resource findings marked %v, want unchanged (instance TA-070), new (acme/web TA-072)", got)
	}
	d := cur.Baseline
	if d == nil || !d.GeneratedAt.Equal(now.Add(-day)) || d.GitLabURL != testURL {
		t.Fatalf("baseline diff %+v, want the baseline's time and URL", d)
	}
	// Worst first, then by rule.
	wantResolved := []string{"personal:2 TA-001", "personal:1 TA-030", "deploy:1 TA-060", "project acme/api TA-072"}
	if diff := cmp.Diff(wantResolved, resolvedOf(d)); diff != "" {
		t.Errorf("resolved (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int64{2, 1}, disappearedOf(d)); diff != "" {
		t.Errorf("disappeared (-want +got):\n%s", diff)
	}
	c := d.Counts
	if c.NewTokens != 1 || c.UnchangedTokens != 1 || c.DisappearedTokens != 2 {
		t.Errorf("token counts new %d unchanged %d disappeared %d, want 1 1 2", c.NewTokens, c.UnchangedTokens, c.DisappearedTokens)
	}
	wantNew := map[Severity]int{SeverityCritical: 1, SeverityHigh: 1, SeverityMedium: 1, SeverityLow: 0, SeverityInfo: 0}
	if diff := cmp.Diff(wantNew, c.NewFindings); diff != "" {
		t.Errorf("new findings by severity (-want +got):\n%s", diff)
	}
	if n := c.UnchangedFindings[SeverityHigh]; n != 2 {
		t.Errorf("%d unchanged high findings, want 2 (TA-011 and instance TA-070)", n)
	}
	if n := c.ResolvedFindings[SeverityHigh] + c.ResolvedFindings[SeverityMedium]; n != 4 {
		t.Errorf("%d resolved findings, want 4", n)
	}
	if n, worst := cur.NewFindingsAtOrAbove(SeverityHigh); n != 2 || worst != SeverityCritical {
		t.Errorf("NewFindingsAtOrAbove(high) = %d, %s; want 2, critical", n, worst)
	}
	if n, _ := cur.NewFindingsAtOrAbove(SeverityCritical); n != 1 {
		t.Errorf("NewFindingsAtOrAbove(critical) = %d, want 1", n)
	}
}

// TestCompareBaselineSuppressed: a suppressed new finding is marked but
// neither counted nor gated on.
func TestCompareBaselineSuppressed(t *testing.T) {
	base := result(now.Add(-day), testURL, tok(inventory.KindPersonal, 1, 100, "a"))
	cur := result(now, testURL, tok(inventory.KindPersonal, 1, 100, "a", "TA-011"))
	cur.Tokens[0].Findings[0].Suppressed = true
	CompareBaseline(cur, base)
	if f := cur.Tokens[0].Findings[0]; f.Baseline != ChangeNew {
		t.Errorf("suppressed finding marked %q, want new", f.Baseline)
	}
	if n, _ := cur.NewFindingsAtOrAbove(SeverityInfo); n != 0 || cur.Baseline.Counts.NewFindings[SeverityHigh] != 0 {
		t.Errorf("a suppressed new finding is counted (%d, %v)", n, cur.Baseline.Counts.NewFindings)
	}
}

// TestCompareBaselineRotation: GitLab's rotation gives a token a new id
// and revokes the old one; the new token matches the old by instance,
// kind, owner, resource and name, whether or not the old one is still
// listed, and its findings the old one had stay unchanged.
func TestCompareBaselineRotation(t *testing.T) {
	base := func() *Result {
		return result(now.Add(-day), testURL,
			tok(inventory.KindPersonal, 10, 100, "ci", "TA-011", "TA-050"),
			tok(inventory.KindProjectAccess, 20, 200, "release", "TA-023"),
			tok(inventory.KindDeploy, 30, 0, "deployer", "TA-060"),
			tok(inventory.KindPersonal, 40, 101, "laptop", "TA-011"),
		)
	}
	t.Run("old token gone", func(t *testing.T) {
		cur := result(now, testURL,
			tok(inventory.KindPersonal, 11, 100, "ci", "TA-011"),
			tok(inventory.KindProjectAccess, 21, 200, "release", "TA-023"),
			tok(inventory.KindDeploy, 31, 0, "deployer", "TA-060"),   // deploy tokens do not rotate
			tok(inventory.KindPersonal, 41, 999, "laptop", "TA-011"), // another owner's
		)
		CompareBaseline(cur, base())
		want := map[int64]string{
			11: "unchanged@10 TA-011=unchanged",
			21: "unchanged@20 TA-023=unchanged",
			31: "new TA-060=new",
			41: "new TA-011=new",
		}
		if diff := cmp.Diff(want, marks(cur)); diff != "" {
			t.Errorf("marks (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]int64{30, 40}, disappearedOf(cur.Baseline)); diff != "" {
			t.Errorf("disappeared (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"personal:40 TA-011", "personal:10 TA-050", "deploy:30 TA-060"}, resolvedOf(cur.Baseline)); diff != "" {
			t.Errorf("resolved (-want +got):\n%s", diff)
		}
	})
	t.Run("old token still listed, revoked", func(t *testing.T) {
		old := tok(inventory.KindPersonal, 10, 100, "ci", "TA-005")
		old.Active, old.Token.Revoked = false, true
		cur := result(now, testURL, old, tok(inventory.KindPersonal, 11, 100, "ci", "TA-011"))
		CompareBaseline(cur, base())
		want := map[int64]string{
			10: "unchanged@10 TA-005=new",
			11: "unchanged@10 TA-011=unchanged",
		}
		if diff := cmp.Diff(want, marks(cur)); diff != "" {
			t.Errorf("marks (-want +got):\n%s", diff)
		}
		// TA-011 lives on in the successor; TA-050 is gone from both.
		if diff := cmp.Diff([]string{"personal:40 TA-011", "project_access:20 TA-023", "personal:10 TA-050", "deploy:30 TA-060"}, resolvedOf(cur.Baseline)); diff != "" {
			t.Errorf("resolved (-want +got):\n%s", diff)
		}
	})
	t.Run("old token still listed and working", func(t *testing.T) {
		// Two working tokens of one name: a second token, not a rotation.
		cur := result(now, testURL, tok(inventory.KindPersonal, 10, 100, "ci", "TA-011"), tok(inventory.KindPersonal, 11, 100, "ci", "TA-011"))
		CompareBaseline(cur, base())
		if got := marks(cur)[11]; got != "new TA-011=new" {
			t.Errorf("token 11 marked %q, want new", got)
		}
	})
	t.Run("successor has the lower id", func(t *testing.T) {
		cur := result(now, testURL, tok(inventory.KindPersonal, 9, 100, "ci", "TA-011"))
		CompareBaseline(cur, base())
		if got := marks(cur)[9]; got != "new TA-011=new" {
			t.Errorf("token 9 marked %q, want new: GitLab's ids grow, a rotation's is higher", got)
		}
	})
	t.Run("rotated twice", func(t *testing.T) {
		// 10 -> 11 (revoked by the second rotation) -> 12: the working
		// token is the successor; 11 is new, its TA-005 too.
		mid := tok(inventory.KindPersonal, 11, 100, "ci", "TA-005")
		mid.Active, mid.Token.Revoked = false, true
		cur := result(now, testURL, mid, tok(inventory.KindPersonal, 12, 100, "ci", "TA-011"))
		CompareBaseline(cur, base())
		want := map[int64]string{11: "new TA-005=new", 12: "unchanged@10 TA-011=unchanged"}
		if diff := cmp.Diff(want, marks(cur)); diff != "" {
			t.Errorf("marks (-want +got):\n%s", diff)
		}
	})
}

// TestCompareBaselineInstances: in merged results a token is its
// instance, kind and id: the same kind and id on two instances are two
// tokens.
func TestCompareBaselineInstances(t *testing.T) {
	a := result(now.Add(-day), "https://a.example.com", tok(inventory.KindPersonal, 1, 100, "x", "TA-011"))
	b := result(now.Add(-day), "https://b.example.com", tok(inventory.KindPersonal, 1, 100, "x", "TA-001"))
	base, err := Merge([]*Result{a, b})
	if err != nil {
		t.Fatal(err)
	}
	a2 := result(now, "https://A.example.com:443/", tok(inventory.KindPersonal, 1, 100, "x", "TA-011"))
	c := result(now, "https://c.example.com", tok(inventory.KindPersonal, 1, 100, "x", "TA-011"))
	cur, err := Merge([]*Result{a2, c})
	if err != nil {
		t.Fatal(err)
	}
	CompareBaseline(cur, base)
	got := map[string]string{}
	for _, tr := range cur.Tokens {
		got[tr.GitLabURL] = tr.Baseline.String() + " " + tr.Findings[0].Baseline.String()
	}
	want := map[string]string{"https://a.example.com": "unchanged unchanged", "https://c.example.com": "new new"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("marks by instance (-want +got):\n%s", diff)
	}
	if d := cur.Baseline.Disappeared; len(d) != 1 || d[0].GitLabURL != "https://b.example.com" {
		t.Errorf("disappeared %+v, want b's token with its instance", d)
	}
}

func TestNormalizeURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://gitlab.example.com":           "https://gitlab.example.com",
		"https://GitLab.Example.com/":          "https://gitlab.example.com",
		"https://gitlab.example.com:443":       "https://gitlab.example.com",
		"http://127.0.0.1:80/api/v4/":          "http://127.0.0.1",
		"http://127.0.0.1:8080":                "http://127.0.0.1:8080",
		"https://example.com/gitlab/":          "https://example.com/gitlab",
		"HTTPS://example.com/GitLab":           "https://example.com/GitLab",
		"https://u:p@example.com/?private=x#f": "https://example.com",
		"https://[::1]:8443/":                  "https://[::1]:8443",
		"":                                     "",
	} {
		if got := NormalizeURL(in); got != want {
			t.Errorf("NormalizeURL(%q) = %q, want %q", in, got, want)
		}
	}
}
