package cli

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/collect"
	"github.com/tokenaudit/tokenaudit/internal/redact"
	"github.com/tokenaudit/tokenaudit/inventory"
	"github.com/tokenaudit/tokenaudit/report"
)

// auditRun is what `tokenaudit audit` has decided to do once its settings
// are read and checked; tests of flag handling capture it through runF.
type auditRun struct {
	cfg        Config
	configFile string // "" when no file was read
	token      string // never printed, logged or written
	dir        string // working directory, for relative paths
	// progressOff is --progress=false given on the command line, which
	// turns progress off on a terminal as well (progress alone cannot say
	// false from unset).
	progressOff bool
}

// auditFlags maps configuration keys to the flags of `tokenaudit audit`.
var auditFlags = map[string]string{
	"gitlab_url":              "gitlab-url",
	"mode":                    "mode",
	"groups":                  "group",
	"format":                  "format",
	"output":                  "output",
	"fail_on":                 "fail-on",
	"baseline":                "baseline",
	"fail_on_new":             "fail-on-new",
	"filter.min_severity":     "min-severity",
	"filter.kinds":            "kind",
	"filter.owners":           "owner",
	"filter.resources":        "resource",
	"filter.rules":            "rule",
	"concurrency":             "concurrency",
	"retries":                 "retries",
	"timeout":                 "timeout",
	"max_duration":            "max-duration",
	"max_response_mib":        "max-response-mib",
	"max_wait":                "max-wait",
	"progress":                "progress",
	"quiet":                   "quiet",
	"log_level":               "log-level",
	"ca_file":                 "ca-file",
	"insecure_skip_verify":    "insecure-skip-verify",
	"allow_insecure_http":     "allow-insecure-http",
	"skip_triggers":           "skip-triggers",
	"skip_job_token_scope":    "skip-job-token-scope",
	"person_reach":            "person-reach",
	"graphql":                 "graphql",
	"skip_trigger_created_at": "skip-trigger-created-at",
	"skip_impersonation":      "skip-impersonation",
}

// newAuditCmd builds `tokenaudit audit`. runF, when set, replaces the audit
// itself (gh's pattern): tests check what the flags, variables and file
// amount to without a GitLab.
func newAuditCmd(s *Streams, runF func(context.Context, *auditRun) error) *cobra.Command {
	var configPath string
	def := DefaultConfig()
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Audit the tokens of a GitLab instance or group",
		Long: `Audit lists every access token the caller can see in GitLab, checks each one
against the rules (see 'tokenaudit rules') and prints a report.

Where the settings come from, strongest first: flags, TOKENAUDIT_* environment
variables (TOKENAUDIT_FAIL_ON for --fail-on), the config file (--config or
TOKENAUDIT_CONFIG, else tokenaudit.yaml or tokenaudit.yml in the working
directory, else $XDG_CONFIG_HOME/tokenaudit/config.yaml, by default
~/.config/tokenaudit/config.yaml; see config.example.yaml), defaults.

GitLab URL: --gitlab-url, GITLAB_URL, GITLAB_HOST (a bare host means https),
or CI_SERVER_URL (set by GitLab CI).
Token: GITLAB_TOKEN, or token_file in the config file. Never a flag: it would
show in the process list and the shell history. It needs the read_api scope;
an administrator's token audits the whole instance (only the groups named with
--group, if any), a group Owner's token the groups named with --group, any
other token only its owner's own tokens (in CI, CI=true, exit 2 unless --mode
self).

Filters (--min-severity, --kind, --owner, --resource, --rule) narrow every
report and the exit code alike; gaps are never filtered.

Exit codes:
  0  no finding at or above --fail-on
  1  findings at or above --fail-on (suppressed findings do not count); with
     --fail-on-new only those the --baseline report does not have
  2  the audit could not run: bad flags or config, unreachable GitLab, rejected token
  3  the audit ran but some reads failed (gaps of kind error), so the result is
     incomplete; permission gaps (what your role may not see) never fail a run`,
		Example: `  # An administrator audits the whole instance
  export GITLAB_TOKEN=$(cat ~/.config/tokenaudit/token)
  tokenaudit audit --gitlab-url https://gitlab.example.com

  # A group Owner on GitLab.com audits two top-level groups
  tokenaudit audit --gitlab-url https://gitlab.com --group my-org --group my-other-org

  # Keep JSON and CSV reports, fail only on critical findings
  tokenaudit audit --output json=audit.json --output csv=audit.csv --fail-on critical

  # Machine-readable output on stdout
  tokenaudit audit --format json | jq '.summary'

  # Compare with yesterday's report; fail only for what is new since
  tokenaudit audit --baseline yesterday.json --fail-on-new --output json=today.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			run, err := loadRun(cmd, s, configPath, auditFlags)
			if err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), run)
			}
			return runAudit(cmd.Context(), s, run)
		},
	}
	f := cmd.Flags()
	f.SortFlags = false
	f.StringVar(&configPath, "config", "", "config `FILE` (env TOKENAUDIT_CONFIG; default ./tokenaudit.yaml or .yml, else ~/.config/tokenaudit/config.yaml, if present)")
	addTargetFlags(f, def)
	f.StringP("format", "f", def.Format, "report `FORMAT` on stdout: "+strings.Join(report.Formats(), ", "))
	f.StringArrayP("output", "o", nil, "also write a report in FORMAT to the file PATH, as `FORMAT=PATH` (repeatable), such as json=audit.json")
	f.String("fail-on", def.FailOn, "exit 1 on a finding at or above `SEVERITY`: critical, high, medium, low; none never fails")
	addBaselineFlags(f)
	addFilterFlags(f)
	addTableFlags(cmd, s)
	addRequestFlags(f, def)
	f.Bool("progress", false, "show progress on stderr even when it is not a terminal; --progress=false hides it on a terminal too")
	f.BoolP("quiet", "q", false, "no progress, notes or warnings on stderr, only errors (logs at error level); the report is written as usual")
	addCollectionFlags(f, def)
	return cmd
}

// addTargetFlags adds the flags that say which GitLab and what of it to
// audit; audit and serve share them.
func addTargetFlags(f *pflag.FlagSet, def Config) {
	f.String("gitlab-url", "", "GitLab `URL`, such as https://gitlab.example.com (env GITLAB_URL, GITLAB_HOST, CI_SERVER_URL)")
	f.StringArray("group", nil, "top-level group to audit in groups mode, by full `PATH` (repeatable)")
	f.String("mode", def.Mode, "`MODE` of audit: auto, instance (administrator), groups (Owner of --group) or self")
}

// addFilterFlags adds the flags that narrow the result. They apply to every
// report and to the exit code alike; gaps are never filtered out.
func addFilterFlags(f *pflag.FlagSet) {
	f.String("min-severity", "none", "show and gate on tokens and findings at or above `SEVERITY` only")
	f.StringArray("kind", nil, "show and gate on tokens of `KIND` only (repeatable): "+kindNames())
	f.StringArray("owner", nil, "show and gate on tokens whose owner's username matches `GLOB` only (repeatable), such as 'svc-*'")
	f.StringArray("resource", nil, "show and gate on tokens and findings under the group or project `PREFIX` only (repeatable), such as acme/infra")
	f.StringArray("rule", nil, "show and gate on tokens and findings with a finding of rule `TA-NNN` only (repeatable)")
}

func kindNames() string {
	names := make([]string, len(inventory.Kinds))
	for i, k := range inventory.Kinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

// addRequestFlags adds the flags of the requests to GitLab.
func addRequestFlags(f *pflag.FlagSet, def Config) {
	f.Int("concurrency", def.Concurrency, "`N` requests to GitLab in flight at once (1-64)")
	f.Int("retries", def.Retries, "`N` retries of a request that failed with 5xx, 429 or a dropped connection (0-20)")
	f.Duration("timeout", def.Timeout, "time limit of one HTTP request")
	f.Duration("max-duration", def.MaxDuration, "time limit of the whole collection: past it the audit holds what was read and is incomplete, exit 3 (0: no limit)")
	f.Int("max-response-mib", def.MaxResponseMiB, "largest answer GitLab may send, decompressed, in MiB: a larger one is an error gap")
	f.Duration("max-wait", def.MaxWait, "longest wait for GitLab's rate limit (Retry-After, RateLimit-Reset): a read asked to wait longer is an error gap")
}

// addCollectionFlags adds the flags of logging, TLS and what to read.
func addCollectionFlags(f *pflag.FlagSet, def Config) {
	f.String("log-level", def.LogLevel, "log `LEVEL` on stderr: debug, info, warn, error")
	f.String("ca-file", "", "PEM `FILE` of CA certificates to trust for GitLab, in addition to the system's")
	f.Bool("insecure-skip-verify", false, "do not verify GitLab's TLS certificate (dangerous; prints a warning)")
	f.Bool("allow-insecure-http", false, "allow plain http:// to a host other than localhost (sends the token unencrypted)")
	f.Bool("skip-triggers", false, "do not list pipeline trigger tokens (saves a request per project)")
	f.Bool("skip-job-token-scope", false, "do not read CI/CD job token scopes (saves requests per project)")
	f.Bool("graphql", true, "batch per-project facts and resource token access levels through GitLab's GraphQL API, 100 a request (--graphql=false: REST only)")
	f.Bool("skip-trigger-created-at", false, "read pipeline triggers from GraphQL alone: no request per project with triggers, but no creation times (TA-050, TA-063 not judged for triggers)")
	f.Bool("skip-impersonation", false, "instance mode, and groups mode as an administrator: do not tell impersonation tokens apart (saves a request per person holding tokens); they are reported as personal tokens")
	f.Bool("person-reach", false, "instance mode: count the projects each token owner reaches, for TA-024 (a GraphQL request per 100 owners; over REST two per owner)")
}

// loadRun reads and checks the settings of cmd (flags named by flagKeys,
// TOKENAUDIT_* variables, the config file at configPath or the default
// one) and the token: what audit and serve do before they talk to GitLab.
// Its errors carry exit code 2.
func loadRun(cmd *cobra.Command, s *Streams, configPath string, flagKeys map[string]string) (*auditRun, error) {
	dir, err := os.Getwd()
	if err != nil {
		return nil, exitCode(ExitCannotRun, fmt.Errorf("working directory: %w", err))
	}
	if configPath == "" {
		configPath = os.Getenv(envName("config"))
	}
	cfg, used, err := loadConfig(configPath, dir, cmd.Flags(), flagKeys)
	if err != nil {
		return nil, exitCode(ExitCannotRun, err)
	}
	if err := cfg.validate(); err != nil {
		return nil, exitCode(ExitCannotRun, configError(used, err))
	}
	if w := configFileWarning(used); w != "" && !cfg.Quiet {
		fmt.Fprintf(s.ErrOut, "tokenaudit: %s\n", w)
	}
	token, err := readToken(cfg.TokenFile, dir)
	if err != nil {
		return nil, exitCode(ExitCannotRun, err)
	}
	// From here on, nothing printed, logged or kept shows it.
	s.redactor.Add(token)
	progressOff := cmd.Flags().Changed("progress") && !cfg.Progress
	return &auditRun{cfg: cfg, configFile: used, token: token, dir: dir, progressOff: progressOff}, nil
}

// configError makes a validation error name the file it came from, when
// there is one, and keeps one problem per line.
func configError(file string, err error) error {
	if file == "" {
		return fmt.Errorf("invalid settings: %w", err)
	}
	return fmt.Errorf("invalid settings (config file %s, environment or flags): %w", file, err)
}

// runAudit audits a real GitLab.
func runAudit(ctx context.Context, s *Streams, run *auditRun) error {
	cfg := run.cfg
	job, u, err := newGitLabJob(s, run)
	if err != nil {
		return exitCode(ExitCannotRun, err)
	}
	// Before GitLab is asked anything: a wrong baseline must not cost an audit.
	if job.baseline, err = loadBaseline(cfg.Baseline, run.dir, []string{u.String()}); err != nil {
		return exitCode(ExitCannotRun, err)
	}
	if err := checkReachable(ctx, u, min(cfg.Timeout, 15*time.Second)); err != nil {
		return exitCode(ExitCannotRun, err)
	}
	job.opts.Logger.Debug("audit starting", "url", u.String(), "mode", cfg.Mode, "groups", cfg.Groups, "config_file", run.configFile)
	job.format, job.outputs, job.progress, job.quiet = cfg.Format, cfg.Output, cfg.Progress, cfg.Quiet
	job.progressOff = run.progressOff
	job.filter = cfg.filter()
	// In CI nobody reads the note: a scheduled job that falls back to the
	// caller's own tokens would pass green every day. --mode self says it
	// is meant.
	job.refuseSelf = cfg.Mode == string(inventory.ModeAuto) && os.Getenv("CI") == "true"
	result, err := job.execute(ctx, s)
	if err != nil {
		return err
	}
	if gl := result.Inventory.GitLab; gl.Mode == inventory.ModeSelf && cfg.Mode == string(inventory.ModeAuto) && !cfg.Quiet {
		// A green run over one's own tokens must not pass for an audit of
		// the instance.
		fmt.Fprintf(s.ErrOut, "tokenaudit: note: %s\n", redact.Escape(s.redactor.String(collect.SelfNote(orUnknown(gl.Caller)))))
	}
	return verdict(result, cfg)
}

// newGitLabJob builds the client and the collection of run's settings, for
// audit and serve alike: the URL checked, the TLS settings, the logger on
// s.ErrOut, the policy, the wall clock. It sends nothing to GitLab; u is
// the URL it will talk to. Reports (format, outputs) are the caller's.
func newGitLabJob(s *Streams, run *auditRun) (job, *url.URL, error) {
	cfg := run.cfg
	level := cfg.LogLevel
	if cfg.Quiet {
		level = "error"
	}
	logger := newLogger(s.ErrOut, level, s.redactor)
	u, err := checkURL(cfg.GitLabURL, cfg.AllowInsecureHTTP)
	if err != nil {
		return job{}, nil, err
	}
	if cfg.InsecureSkipVerify && u.Scheme == "https" && !cfg.Quiet {
		fmt.Fprintf(s.ErrOut, "tokenaudit: warning: TLS certificate verification is off (insecure_skip_verify): anyone between you and %s can read the token\n", u.Host)
	}
	hc, err := newHTTPClient(cfg, run.dir)
	if err != nil {
		return job{}, nil, err
	}
	client, counter, err := collect.NewClient(u.String(), run.token, collect.ClientOptions{
		HTTPClient: hc,
		RetryMax:   retryMax(cfg.Retries),
		Timeout:    cfg.Timeout,
		Clock:      wallClock,
		// Bounded in Validate to 4096 MiB.
		MaxBodyBytes:  int64(cfg.MaxResponseMiB) << 20,
		RetryAfterMax: cfg.MaxWait,
	})
	if err != nil {
		return job{}, nil, err
	}
	return job{
		client:  client,
		counter: counter,
		opts: collect.Options{
			Mode:                 inventory.Mode(cfg.Mode),
			Groups:               cfg.Groups,
			Concurrency:          cfg.Concurrency,
			SkipTriggers:         cfg.SkipTriggers,
			SkipJobTokenScope:    cfg.SkipJobTokenScope,
			RESTOnly:             !cfg.GraphQL,
			SkipTriggerCreatedAt: cfg.SkipTriggerCreatedAt,
			SkipImpersonation:    cfg.SkipImpersonation,
			PersonReach:          cfg.PersonReach,
			MaxDuration:          cfg.MaxDuration,
			BaseURL:              u.String(),
			Logger:               logger,
			Redact:               s.redactor.String,
			Clock:                wallClock,
		},
		policy: cfg.Policy,
		failOn: cfg.FailOn,
		now:    wallClock,
		dir:    run.dir,
	}, u, nil
}

func orUnknown(s string) string {
	if s == "" {
		return "the caller"
	}
	return s
}

// retryMax turns the retries setting into ClientOptions.RetryMax, where 0
// means the default and a negative number none.
func retryMax(retries int) int {
	if retries == 0 {
		return -1
	}
	return retries
}

// verdict is the exit code of a finished audit, the README's contract: 1 for
// findings at or above fail_on (with fail_on_new, new ones only), else 3
// when a read failed, else 0.
func verdict(r *audit.Result, cfg Config) error {
	if floor, ok := cfg.failOn(); ok && !cfg.FailOnNew {
		if worst := r.Worst(); worst >= floor {
			n := 0
			for _, t := range r.Tokens {
				for _, f := range t.Findings {
					if !f.Suppressed && f.Severity >= floor {
						n++
					}
				}
			}
			for _, f := range r.Findings {
				if !f.Suppressed && f.Severity >= floor {
					n++
				}
			}
			return exitCode(ExitFindings, fmt.Errorf("%d %s at or above %s (worst: %s); exit 1 (fail_on %s)",
				n, plural(n, "finding", "findings"), floor, worst, cfg.FailOn))
		}
	}
	if err := failOnNew(r, cfg); err != nil {
		return err
	}
	if !r.Inventory.Complete() {
		n := 0
		for _, g := range r.Inventory.Gaps {
			if g.Kind == inventory.GapError {
				n++
			}
		}
		return exitCode(ExitIncomplete, fmt.Errorf("the audit is incomplete: %d %s could not be read because of errors (see gaps in the report); exit 3",
			n, plural(n, "resource", "resources")))
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
