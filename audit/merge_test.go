package audit

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenaudit/tokenaudit/inventory"
)

// TestMergeOverlapLaterWins: a token two reports of one instance hold is
// kept once, as the later report has it, whatever the order of the
// inputs; on equal times the later input wins. Findings of no token go
// the same way; the summary is counted again from what is kept.
func TestMergeOverlapLaterWins(t *testing.T) {
	older := result(now.Add(-time.Hour), testURL,
		tok(inventory.KindPersonal, 1, 100, "old name", "TA-011"),
		tok(inventory.KindPersonal, 2, 101, "only in older", "TA-001"),
	)
	older.Findings = []ResourceFinding{{Resource: "project acme/api", Finding: Finding{Rule: "TA-072", Severity: SeverityMedium, Detail: "older"}}}
	older.Inventory.Stats = inventory.Stats{Requests: 10, Duration: time.Second}
	newer := result(now, testURL+"/",
		tok(inventory.KindPersonal, 1, 100, "new name"),
		tok(inventory.KindPersonal, 3, 102, "only in newer", "TA-002"),
	)
	newer.Findings = []ResourceFinding{{Resource: "project acme/api", Finding: Finding{Rule: "TA-072", Severity: SeverityMedium, Detail: "newer"}}}
	newer.Inventory.Stats = inventory.Stats{Requests: 5, Duration: 2 * time.Second}

	names := func(r *Result) map[int64]string {
		m := map[int64]string{}
		for _, tr := range r.Tokens {
			m[tr.Token.ID] = tr.Token.Name
		}
		return m
	}
	want := map[int64]string{1: "new name", 2: "only in older", 3: "only in newer"}
	for _, order := range [][]*Result{{older, newer}, {newer, older}} {
		m, err := Merge(order)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, names(m)); diff != "" {
			t.Errorf("tokens (-want +got):\n%s", diff)
		}
		if len(m.Findings) != 1 || m.Findings[0].Detail != "newer" {
			t.Errorf("findings of no token %+v, want the newer report's one", m.Findings)
		}
		if m.Summary.Tokens != 3 || m.Summary.Findings[SeverityHigh] != 2 || m.Summary.BySeverity[SeverityNone] != 1 {
			t.Errorf("summary %+v, want 3 tokens, 2 high findings (TA-001, TA-002), 1 token without", m.Summary)
		}
		if !m.Now.Equal(now) || m.Inventory.Stats.Requests != 15 || m.Inventory.Stats.Duration != 3*time.Second {
			t.Errorf("now %s, stats %+v; want the latest time and the sums", m.Now, m.Inventory.Stats)
		}
		if m.Inventory.GitLab.URL != testURL || len(m.Sources) != 2 {
			t.Errorf("instance %q, %d sources; want %q, 2", m.Inventory.GitLab.URL, len(m.Sources), testURL)
		}
		for _, tr := range m.Tokens {
			if tr.GitLabURL != testURL {
				t.Errorf("token %d has instance %q, want %q", tr.Token.ID, tr.GitLabURL, testURL)
			}
		}
	}

	tie := result(now, testURL, tok(inventory.KindPersonal, 1, 100, "tie"))
	for _, tc := range []struct {
		in   []*Result
		want string
	}{{[]*Result{newer, tie}, "tie"}, {[]*Result{tie, newer}, "new name"}} {
		m, err := Merge(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := names(m)[1]; got != tc.want {
			t.Errorf("equal times: token 1 is %q, want %q (the later input's)", got, tc.want)
		}
	}
}

// TestMergeInstances: reports of two instances keep tokens of the same
// kind and id apart, each gap with its instance, and say what the sources
// share.
func TestMergeInstances(t *testing.T) {
	a := result(now, "https://a.example.com", tok(inventory.KindPersonal, 1, 100, "x", "TA-011"))
	a.Inventory.GitLab.Version = "18.5.0"
	a.Inventory.Gaps = []inventory.Gap{{Resource: "instance", What: "settings", Kind: inventory.GapError, Reason: "500"}}
	b := result(now.Add(-time.Minute), "https://b.example.com", tok(inventory.KindPersonal, 1, 100, "x"))
	b.Inventory.GitLab.Version = "18.5.0"
	b.Inventory.GitLab.Mode = inventory.ModeGroups
	b.Inventory.Gaps = []inventory.Gap{
		{Resource: "instance", What: "settings", Kind: inventory.GapError, Reason: "500"},
		{Resource: "instance", What: "settings", Kind: inventory.GapError, Reason: "500"}, // a duplicate
	}
	m, err := Merge([]*Result{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Tokens) != 2 || m.Tokens[0].GitLabURL == m.Tokens[1].GitLabURL {
		t.Fatalf("tokens %+v, want personal 1 of each instance", m.Tokens)
	}
	var gapURLs []string
	for _, g := range m.Inventory.Gaps {
		gapURLs = append(gapURLs, g.GitLabURL)
	}
	if diff := cmp.Diff([]string{"https://a.example.com", "https://b.example.com"}, gapURLs); diff != "" {
		t.Errorf("gaps by instance (-want +got):\n%s", diff)
	}
	gl := m.Inventory.GitLab
	if gl.URL != "" || gl.Version != "18.5.0" || gl.Mode != ModeMixed {
		t.Errorf("merged instance %+v, want no URL, the shared version, mode mixed", gl)
	}
	if m.Summary.Complete || m.Summary.GapErrors != 2 || m.Summary.Gaps != 2 {
		t.Errorf("summary %+v, want incomplete with 2 error gaps", m.Summary)
	}
	if got := m.Instances(); !cmp.Equal(got, []string{"https://a.example.com", "https://b.example.com"}) {
		t.Errorf("Instances() = %v", got)
	}

	// A merged result merges again: its sources and instances carry over.
	again, err := Merge([]*Result{m, result(now, "https://c.example.com")})
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Sources) != 3 || len(again.Tokens) != 2 || again.Tokens[0].GitLabURL == "" {
		t.Errorf("merge of a merge: %d sources, %d tokens; want 3, 2 with their instances", len(again.Sources), len(again.Tokens))
	}
}

func TestMergeNothing(t *testing.T) {
	if _, err := Merge(nil); err == nil {
		t.Error("Merge(nil) succeeded")
	}
}
