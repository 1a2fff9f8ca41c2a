package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/report"
)

// addBaselineFlags adds the flags of the comparison with an earlier
// report; audit and merge share them.
func addBaselineFlags(f *pflag.FlagSet) {
	f.String("baseline", "", "compare with an earlier JSON report at `PATH`: mark tokens and findings new or unchanged, list resolved findings and tokens gone")
	f.Bool("fail-on-new", false, "exit 1 only for findings at or above --fail-on that the baseline does not have (needs --baseline)")
}

// loadBaseline reads the baseline report at path (relative paths start in
// dir); nil for "". It refuses, in one line, a file that is no tokenaudit
// JSON report, one of another schema_version, and one of none of the
// instances in urls (what the run audits or merges).
//
// Another GitLab's report is refused rather than warned about: compared
// with it, every token would be new and every one of its findings
// resolved, so a fail_on_new job would fail on everything and the report
// would claim fixes nobody made. It is a wrong artifact or variable, and
// better said before an audit that may take an hour.
func loadBaseline(path, dir string, urls []string) (*audit.Result, error) {
	if path == "" {
		return nil, nil
	}
	base, err := readReport(path, dir)
	if err != nil {
		return nil, fmt.Errorf("baseline %w", err)
	}
	have := base.Instances()
	for _, u := range urls {
		if slices.Contains(have, audit.NormalizeURL(u)) {
			return base, nil
		}
	}
	want := make([]string, len(urls))
	for i, u := range urls {
		want[i] = audit.NormalizeURL(u)
	}
	return nil, fmt.Errorf("baseline %s is a report of %s, not of %s; give a report of the same GitLab (gitlab_url), or no baseline",
		path, strings.Join(have, ", "), strings.Join(want, ", "))
}

// readReport reads one JSON report for --baseline or merge (a relative
// path starts in dir); its error names the file as given and says in one
// line what is wrong with it.
func readReport(path, dir string) (*audit.Result, error) {
	full := path
	if !filepath.IsAbs(full) {
		full = filepath.Join(dir, full)
	}
	f, err := os.Open(full)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s does not exist", path)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := report.ReadJSON(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// failOnNew is the verdict of fail_on_new: exit 1 for unsuppressed
// findings at or above fail_on that the baseline does not have; nil
// otherwise, which leaves the incomplete check to verdict.
func failOnNew(r *audit.Result, cfg Config) error {
	floor, ok := cfg.failOn()
	if !ok || !cfg.FailOnNew || r.Baseline == nil {
		return nil
	}
	n, worst := r.NewFindingsAtOrAbove(floor)
	if n == 0 {
		return nil
	}
	return exitCode(ExitFindings, fmt.Errorf("%d new %s at or above %s since the baseline of %s (worst: %s); exit 1 (fail_on %s, fail_on_new)",
		n, plural(n, "finding", "findings"), floor, r.Baseline.GeneratedAt.UTC().Format(time.RFC3339), worst, cfg.FailOn))
}
