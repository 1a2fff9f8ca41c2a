package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/report"
)

// mergeFlags maps configuration keys to the flags of `tokenaudit merge`:
// the report and gate settings of audit, nothing of GitLab.
var mergeFlags = map[string]string{
	"format":      "format",
	"output":      "output",
	"fail_on":     "fail-on",
	"baseline":    "baseline",
	"fail_on_new": "fail-on-new",
}

func newMergeCmd(s *Streams) *cobra.Command {
	var configPath string
	def := DefaultConfig()
	cmd := &cobra.Command{
		Use:   "merge REPORT.json...",
		Short: "Combine JSON reports of several groups or instances into one report",
		Long: `Merge reads JSON reports of 'tokenaudit audit' (or of an earlier merge) and
writes one report of them all, in any format, as if one audit had read every
group and instance. It talks to no GitLab and needs no token.

Each token keeps its instance: a token is its GitLab URL, kind and id, and a
token that two reports of the same instance hold (group audits that overlap)
is kept once, as the report with the later generated_at has it (on a tie, the
report named later). Findings of no token are kept once by instance, resource
and rule, gaps once each. The summary is counted again from what is kept;
requests and durations are summed. A report of another schema_version, or a
file that is no tokenaudit report, stops the merge with exit code 2.

--baseline compares the merged report with an earlier merged report, and
--fail-on and --fail-on-new gate on it as audit does; settings come from
flags, TOKENAUDIT_* variables and the config file as for audit.

Exit codes are audit's: 0 none at or above --fail-on, 1 findings at or above
it, 2 the merge could not run, 3 a report holds gaps of kind error.`,
		Example: `  # One report of two group audits, as a table, and keep the JSON
  tokenaudit merge acme.json widgets.json --output json=all.json

  # In CI: yesterday's merged report as the baseline, fail only on what is new
  tokenaudit merge reports/*.json --baseline previous.json --fail-on-new`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return exitCode(ExitCannotRun, fmt.Errorf("merge needs at least one JSON report (see '%s --help')", cmd.CommandPath()))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMerge(cmd, s, configPath, args)
		},
	}
	f := cmd.Flags()
	f.SortFlags = false
	f.StringVar(&configPath, "config", "", "config `FILE` (env TOKENAUDIT_CONFIG; default ./tokenaudit.yaml or .yml, else ~/.config/tokenaudit/config.yaml, if present)")
	f.StringP("format", "f", def.Format, "report `FORMAT` on stdout: "+strings.Join(report.Formats(), ", "))
	f.StringArrayP("output", "o", nil, "also write a report in FORMAT to the file PATH, as `FORMAT=PATH` (repeatable), such as json=all.json")
	f.String("fail-on", def.FailOn, "exit 1 on a finding at or above `SEVERITY`: critical, high, medium, low; none never fails")
	addBaselineFlags(f)
	addTableFlags(cmd, s)
	return cmd
}

func runMerge(cmd *cobra.Command, s *Streams, configPath string, paths []string) error {
	dir, err := os.Getwd()
	if err != nil {
		return exitCode(ExitCannotRun, fmt.Errorf("working directory: %w", err))
	}
	if configPath == "" {
		configPath = os.Getenv(envName("config"))
	}
	cfg, used, err := loadConfig(configPath, dir, cmd.Flags(), mergeFlags)
	if err != nil {
		return exitCode(ExitCannotRun, err)
	}
	if err := cfg.validate(); err != nil {
		return exitCode(ExitCannotRun, configError(used, err))
	}
	outputs, err := prepareOutputs(cfg.Output, dir)
	if err != nil {
		return exitCode(ExitCannotRun, err)
	}
	results := make([]*audit.Result, 0, len(paths))
	for _, p := range paths {
		r, err := readReport(p, dir)
		if err != nil {
			return exitCode(ExitCannotRun, fmt.Errorf("merge: %w", err))
		}
		results = append(results, r)
	}
	merged, err := audit.Merge(results)
	if err != nil {
		return exitCode(ExitCannotRun, err)
	}
	base, err := loadBaseline(cfg.Baseline, dir, merged.Instances())
	if err != nil {
		return exitCode(ExitCannotRun, err)
	}
	if base != nil {
		audit.CompareBaseline(merged, base)
	}
	if err := writeReports(cmd.Context(), s, cfg.Format, cfg.FailOn, outputs, merged); err != nil {
		return err
	}
	return verdict(merged, cfg)
}
