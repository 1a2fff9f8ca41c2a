package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/collect"
	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
	"github.com/tokenaudit/tokenaudit/inventory"
	"github.com/tokenaudit/tokenaudit/report"
)

// Demo defaults: a realistic instance that audits in seconds.
const (
	demoPreset = "medium"
	demoSeed   = 1
)

func newDemoCmd(s *Streams) *cobra.Command {
	var (
		preset, format, logLevel string
		seed                     int64
		outputs                  []string
		progress                 bool
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Audit a simulated GitLab instance: no network, no setup",
		Long: `Demo starts tokenaudit's built-in GitLab simulator on 127.0.0.1 with a
realistic instance (preset "medium": a few thousand users and tokens, seeded,
so every run gives the same report), audits it as the administrator, and
prints the report. Nothing leaves the machine and no token is shown.

The demo never gates: it exits 0 whatever it finds (2 only if it could not
run). 'tokenaudit audit' is the command whose exit code fails a CI job.`,
		Example: `  go run ./cmd/tokenaudit demo
  tokenaudit demo --format json | jq '.summary'
  tokenaudit demo --output csv=demo.csv --output json=demo.json
  tokenaudit demo --preset small`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !slices.Contains(report.Formats(), format) {
				return exitCode(ExitCannotRun, fmt.Errorf("format: %q is not allowed (want one of %s)", format, strings.Join(report.Formats(), ", ")))
			}
			if !slices.Contains(logLevelChoices, logLevel) {
				return exitCode(ExitCannotRun, fmt.Errorf("log_level: %q is not allowed (want one of %s)", logLevel, strings.Join(logLevelChoices, ", ")))
			}
			if _, err := parseOutputs(outputs); err != nil {
				return exitCode(ExitCannotRun, err)
			}
			dir, err := workDir()
			if err != nil {
				return exitCode(ExitCannotRun, err)
			}
			return runDemo(cmd.Context(), s, demoSettings{preset, seed, format, outputs, logLevel, progress, dir})
		},
	}
	f := cmd.Flags()
	f.StringVar(&preset, "preset", demoPreset, "simulated instance size: "+strings.Join(gitlabsim.Presets(), ", "))
	f.Int64Var(&seed, "seed", demoSeed, "seed of the simulated instance")
	f.StringVarP(&format, "format", "f", "table", "report format on stdout: "+strings.Join(report.Formats(), ", "))
	f.StringArrayVarP(&outputs, "output", "o", nil, "also write a report to a file, FORMAT=PATH (repeatable)")
	f.BoolVar(&progress, "progress", false, "show progress on stderr even when it is not a terminal")
	f.StringVar(&logLevel, "log-level", "warn", "log level on stderr: debug, info, warn, error")
	addTableFlags(cmd, s)
	return cmd
}

type demoSettings struct {
	preset   string
	seed     int64
	format   string
	outputs  []string
	logLevel string
	progress bool
	dir      string
}

func runDemo(ctx context.Context, s *Streams, d demoSettings) error {
	world, err := gitlabsim.Generate(d.preset, d.seed)
	if err != nil {
		return exitCode(ExitCannotRun, fmt.Errorf("preset: %w", err))
	}
	srv := gitlabsim.NewServer(world, gitlabsim.Options{})
	defer srv.Close()
	client, counter, err := collect.NewClient(srv.URL(), world.AdminToken(), collect.ClientOptions{Clock: wallClock})
	if err != nil {
		return exitCode(ExitCannotRun, err)
	}
	j := job{
		client:  client,
		counter: counter,
		opts: collect.Options{
			Mode:    inventory.ModeAuto,
			BaseURL: srv.URL(),
			Logger:  newLogger(s.ErrOut, d.logLevel, s.redactor),
			// Locally the memberships reads are cheap, and TA-024 has
			// something to judge.
			PersonReach: true,
			Clock:       wallClock,
		},
		policy: audit.DefaultPolicy(),
		// The simulated instance has its own "today"; judging its tokens by
		// it keeps the demo's report the same on every run.
		now:      func() time.Time { return world.Now },
		format:   d.format,
		outputs:  d.outputs,
		progress: d.progress,
		dir:      d.dir,
	}
	result, err := j.execute(ctx, s)
	if err != nil {
		return err
	}
	fmt.Fprintf(s.ErrOut, "\ndemo: audited %d tokens of a simulated GitLab (preset %s, seed %d) as its administrator; worst finding: %s.\n"+
		"demo: 'tokenaudit audit' would exit %d here (fail_on high); the demo never gates. Next: tokenaudit audit --help\n",
		result.Summary.Tokens, d.preset, d.seed, result.Worst(), demoExit(result))
	return nil
}

// demoExit is what `tokenaudit audit` with default settings would return.
func demoExit(r *audit.Result) int {
	err := verdict(r, DefaultConfig())
	if err == nil {
		return ExitOK
	}
	return err.(*exitError).code
}
