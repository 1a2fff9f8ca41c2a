package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
	"github.com/tokenaudit/tokenaudit/report"
)

// filteredReport is what the filter tests read of a JSON report.
type filteredReport struct {
	GitLab struct {
		Mode       string `json:"mode"`
		ModeReason string `json:"mode_reason"`
	} `json:"gitlab"`
	Summary struct {
		Tokens int             `json:"tokens"`
		Filter json.RawMessage `json:"filter"`
	} `json:"summary"`
	Tokens []struct {
		Kind     string `json:"kind"`
		Resource struct {
			Path string `json:"path"`
		} `json:"resource"`
	} `json:"tokens"`
}

func readFiltered(t *testing.T, res result) filteredReport {
	t.Helper()
	var rep filteredReport
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
		t.Fatalf("stdout is no JSON report: %v\nstderr:\n%s", err, res.stderr)
	}
	return rep
}

// worst is the gate's view of a report, read back as a result.
func worst(t *testing.T, res result) audit.Severity {
	t.Helper()
	r, err := report.ReadJSON(strings.NewReader(res.stdout))
	if err != nil {
		t.Fatalf("read the report back: %v", err)
	}
	return r.Worst()
}

// smallSim is the simulator of the filter and mode tests, with the
// environment cleaned: its world and its URL.
func smallSim(t *testing.T) (*gitlabsim.World, string) {
	t.Helper()
	cleanEnv(t)
	w, err := gitlabsim.Generate("small", 1)
	if err != nil {
		t.Fatal(err)
	}
	return w, serve(t, w, gitlabsim.Options{}).URL()
}

// TestAuditFilterKind audits the simulator with --kind deploy: the JSON
// report holds deploy tokens only and says it was filtered, and the exit
// code follows what it shows, not the tokens left out.
func TestAuditFilterKind(t *testing.T) {
	w, url := smallSim(t)
	t.Setenv("GITLAB_TOKEN", w.AdminToken())
	allRes := run(t, "audit", "--gitlab-url", url, "--format", "json", "--fail-on", "none")
	all := readFiltered(t, allRes)
	if string(all.Summary.Filter) != "null" {
		t.Errorf("unfiltered report: summary.filter = %s, want null", all.Summary.Filter)
	}

	res := run(t, "audit", "--gitlab-url", url, "--format", "json", "--kind", "deploy", "--fail-on", "none")
	rep := readFiltered(t, res)
	if len(rep.Tokens) == 0 || len(rep.Tokens) >= len(all.Tokens) || rep.Summary.Tokens != len(rep.Tokens) {
		t.Fatalf("filtered to %d tokens (summary %d) of %d", len(rep.Tokens), rep.Summary.Tokens, len(all.Tokens))
	}
	for _, tok := range rep.Tokens {
		if tok.Kind != "deploy" {
			t.Errorf("a %s token passed --kind deploy", tok.Kind)
		}
	}
	if !strings.Contains(string(rep.Summary.Filter), `"kinds": [`) || !strings.Contains(string(rep.Summary.Filter), `"deploy"`) {
		t.Errorf("summary.filter = %s, want the kinds", rep.Summary.Filter)
	}

	// A floor just above what the filtered report shows: the tokens left
	// out may trip it, the gate must not see them.
	shown, whole := worst(t, res), worst(t, allRes)
	if shown >= audit.SeverityCritical || whole <= shown {
		t.Skipf("the world gives no floor between the filtered (%s) and the whole (%s) worst", shown, whole)
	}
	floor := (shown + 1).String()
	if res := run(t, "audit", "--gitlab-url", url, "--format", "json", "--fail-on", floor); res.code != ExitFindings {
		t.Errorf("unfiltered, --fail-on %s: exit %d, want %d", floor, res.code, ExitFindings)
	}
	if res := run(t, "audit", "--gitlab-url", url, "--format", "json", "--kind", "deploy", "--fail-on", floor); res.code != ExitOK {
		t.Errorf("--kind deploy --fail-on %s: exit %d, want 0; stderr:\n%s", floor, res.code, res.stderr)
	}
	if res := run(t, "audit", "--gitlab-url", url, "--format", "json", "--kind", "deploy", "--fail-on", shown.String()); shown > audit.SeverityNone && res.code != ExitFindings {
		t.Errorf("--kind deploy --fail-on %s: exit %d, want %d", shown, res.code, ExitFindings)
	}
}

// TestAuditFilterSettings: the filter comes from flags and from the
// environment like any setting, and a typo in it stops the run rather than
// showing an empty, green report.
func TestAuditFilterSettings(t *testing.T) {
	configEnv(t, map[string]string{"TOKENAUDIT_FILTER_KINDS": "deploy,personal"}, "")
	got, res := parse(t, "--gitlab-url", "https://gitlab.example.com", "--rule", "ta-001", "--owner", "svc-*", "--min-severity", "HIGH")
	if res.code != ExitOK {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	f := got.cfg.filter()
	if f.MinSeverity != audit.SeverityHigh || len(f.Kinds) != 2 || f.Kinds[0] != "deploy" || len(f.Rules) != 1 || f.Rules[0] != "TA-001" || len(f.Owners) != 1 {
		t.Errorf("filter = %+v", f)
	}
	for _, bad := range [][]string{{"--kind", "deploys"}, {"--rule", "TA-999"}, {"--min-severity", "severe"}, {"--owner", "["}} {
		_, res := parse(t, append([]string{"--gitlab-url", "https://gitlab.example.com"}, bad...)...)
		if res.code != ExitCannotRun || !strings.Contains(res.stderr, "filter") {
			t.Errorf("%v: exit %d, stderr %q; want 2 naming the filter", bad, res.code, res.stderr)
		}
	}
}
