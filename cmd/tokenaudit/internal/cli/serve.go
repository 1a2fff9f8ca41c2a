package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/collect"
	"github.com/tokenaudit/tokenaudit/internal/exporter"
)

// ServeConfig is the serve section of the configuration: how `tokenaudit
// serve` schedules its audits and what it exports.
type ServeConfig struct {
	// Listen is the HOST:PORT of /metrics, /healthz and /readyz.
	Listen string `mapstructure:"listen"`
	// Interval is the wait between the end of one audit and the start of
	// the next; Jitter adds a random part of up to itself to each wait, so
	// that exporters started together do not audit GitLab in step.
	Interval time.Duration `mapstructure:"interval"`
	Jitter   time.Duration `mapstructure:"jitter"`
	// TokenSeries says which tokens get series of their own: all,
	// findings or none (exporter.TokenSeries).
	TokenSeries string `mapstructure:"token_series"`
}

// defaultServeConfig: loopback only, since the metrics name every token of
// the instance; 9917 in Prometheus's exporter port range, which the
// Prometheus project has allocated in full since 2023, so no number there is
// free for certain (https://utcc.utoronto.ca/~cks/space/blog/sysadmin/PrometheusExportersFixedPorts);
// an hour between audits, as tokens change on the scale of days; per-token
// series for the tokens with findings, which keeps 100,000 tokens at about
// 127,000 series (README, "tokenaudit serve").
func defaultServeConfig() ServeConfig {
	return ServeConfig{
		Listen:      "127.0.0.1:9917",
		Interval:    time.Hour,
		Jitter:      5 * time.Minute,
		TokenSeries: string(exporter.TokenSeriesFindings),
	}
}

// validate reports every impossible serve setting.
func (c ServeConfig) validate() []error {
	var errs []error
	bad := func(key string, format string, a ...any) {
		errs = append(errs, fmt.Errorf("serve.%s: %s", key, fmt.Sprintf(format, a...)))
	}
	if _, port, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen", "%q is not HOST:PORT (for example 127.0.0.1:9917, or :9917 for every interface)", c.Listen)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		bad("listen", "port %q in %q is not a number from 0 to 65535", port, c.Listen)
	}
	if c.Interval < time.Second {
		bad("interval", "%s is not allowed (want a duration of 1s or more, such as 1h)", c.Interval)
	}
	if c.Jitter < 0 {
		bad("jitter", "%s is not allowed (want 0 or a positive duration, such as 5m)", c.Jitter)
	}
	if !slices.Contains(exporter.TokenSeriesChoices, exporter.TokenSeries(c.TokenSeries)) {
		bad("token_series", "%q is not allowed (want one of %s)", c.TokenSeries, tokenSeriesList())
	}
	return errs
}

func tokenSeriesList() string {
	names := make([]string, len(exporter.TokenSeriesChoices))
	for i, c := range exporter.TokenSeriesChoices {
		names[i] = string(c)
	}
	return strings.Join(names, ", ")
}

// serveFlags maps configuration keys to the flags of `tokenaudit serve`:
// audit's, less the reports and the exit code, plus serve's own.
var serveFlags = func() map[string]string {
	m := map[string]string{
		"serve.listen":       "listen",
		"serve.interval":     "interval",
		"serve.jitter":       "jitter",
		"serve.token_series": "token-series",
	}
	for key, flag := range auditFlags {
		if !slices.Contains([]string{"format", "output", "fail_on", "progress", "quiet"}, key) {
			m[key] = flag
		}
	}
	return m
}()

// serveHooks let tests see into serve: run replaces the server once the
// settings are read (like audit's runF); audited sees each good audit.
type serveHooks struct {
	run     func(context.Context, *auditRun) error
	audited func(*audit.Result)
}

// newServeCmd builds `tokenaudit serve`.
func newServeCmd(s *Streams, hooks serveHooks) *cobra.Command {
	var configPath string
	def := DefaultConfig()
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Audit on an interval and serve the results as Prometheus metrics",
		Long: `Serve audits GitLab now and then every interval (1h, plus up to 5m of jitter),
one audit at a time, and serves the last good audit as Prometheus metrics on
/metrics, with /healthz (the process is up) and /readyz (a good audit exists).
It runs until SIGTERM or Ctrl-C.

The settings are audit's (GitLab URL, token, mode, groups, TLS, policy) from
the same places: flags, TOKENAUDIT_* variables, the config file. Reports and
fail_on do not apply. A failed audit keeps the last good audit's metrics,
counts the failure by reason in tokenaudit_audit_failures_total and logs why.

The metrics name tokens, their owners and projects, never a token value. They
are served on 127.0.0.1 unless serve.listen says otherwise.`,
		Example: `  export GITLAB_TOKEN=...   # an administrator's read_api token
  tokenaudit serve --gitlab-url https://gitlab.example.com
  curl -s http://127.0.0.1:9917/metrics | grep ^tokenaudit_

  # Every token with series of its own, an audit every 6 hours
  tokenaudit serve --gitlab-url https://gitlab.example.com --token-series all --interval 6h`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			run, err := loadRun(cmd, s, configPath, serveFlags)
			if err != nil {
				return err
			}
			if hooks.run != nil {
				return hooks.run(cmd.Context(), run)
			}
			return runServe(cmd.Context(), s, run, hooks.audited)
		},
	}
	f := cmd.Flags()
	f.SortFlags = false
	f.StringVar(&configPath, "config", "", "config `FILE` (env TOKENAUDIT_CONFIG; default ./tokenaudit.yaml or .yml, else ~/.config/tokenaudit/config.yaml, if present)")
	addTargetFlags(f, def)
	f.String("listen", def.Serve.Listen, "serve the metrics on `HOST:PORT`")
	f.Duration("interval", def.Serve.Interval, "wait between the end of an audit and the start of the next")
	f.Duration("jitter", def.Serve.Jitter, "add a random part of up to this to each wait")
	f.String("token-series", def.Serve.TokenSeries, "tokens with series of their own: "+tokenSeriesList())
	addRequestFlags(f, def)
	addCollectionFlags(f, def)
	return cmd
}

// server is one `tokenaudit serve`: the audit loop and what it publishes.
type server struct {
	s       *Streams
	job     job
	cfg     ServeConfig
	exp     *exporter.Exporter
	logger  *slog.Logger
	audited func(*audit.Result)
	audits  int // ended, good or failed; written by the loop only
}

// runServe serves until ctx is cancelled. A setting that cannot work (the
// URL, ca_file, the address to listen on) stops it with exit 2 at once;
// GitLab's answers never do: they are the metrics' business.
func runServe(ctx context.Context, s *Streams, run *auditRun, audited func(*audit.Result)) error {
	cfg := run.cfg
	j, u, err := newGitLabJob(s, run)
	if err != nil {
		return exitCode(ExitCannotRun, err)
	}
	// The filter narrows the metrics as it narrows audit's reports.
	j.filter = cfg.filter()
	exp := exporter.New(exporter.Options{
		TokenSeries: exporter.TokenSeries(cfg.Serve.TokenSeries),
		Redact:      s.redactor.String,
		Requests:    j.counter.Count,
	})
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		exp,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
	)
	ln, err := net.Listen("tcp", cfg.Serve.Listen)
	if err != nil {
		return exitCode(ExitCannotRun, fmt.Errorf("serve.listen %s: %w (set --listen or serve.listen to a free address)", cfg.Serve.Listen, err))
	}
	logger := j.opts.Logger
	hs := &http.Server{
		Handler:           serveMux(reg, exp, logger),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	if host, _, _ := net.SplitHostPort(cfg.Serve.Listen); !isLoopback(host) {
		fmt.Fprintf(s.ErrOut, "tokenaudit: note: the metrics name the tokens of %s and their owners; anyone who reaches %s sees them\n", u.Host, ln.Addr())
	}
	fmt.Fprintf(s.ErrOut, "tokenaudit: serving metrics of %s on http://%s/metrics\n", u.Host, ln.Addr())
	logger.Info("serve starting", "url", u.String(), "listen", ln.Addr().String(), "interval", cfg.Serve.Interval, "token_series", cfg.Serve.TokenSeries)

	sv := &server{s: s, job: j, cfg: cfg.Serve, exp: exp, logger: logger, audited: audited}
	loopDone := make(chan struct{})
	go func() {
		defer close(loopDone)
		sv.loop(ctx)
	}()

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
	}
	<-loopDone // ctx is cancelled, or the server failed: wait for the audit to stop
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		logger.Warn("serve: shutdown", "error", err)
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return exitCode(ExitCannotRun, fmt.Errorf("serve: %w", serveErr))
	}
	fmt.Fprintf(s.ErrOut, "tokenaudit: serve stopped after %d %s\n", sv.audits, plural(sv.audits, "audit", "audits"))
	return nil
}

// serveMux routes the server's paths.
func serveMux(reg *prometheus.Registry, exp *exporter.Exporter, logger *slog.Logger) *http.ServeMux {
	mux := http.NewServeMux()
	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      promLog{logger},
		ErrorHandling: promhttp.ContinueOnError,
		// A scrape of 100,000 tokens with every token's series holds some
		// 280 MiB while it is built (README); two at once serve a pair of
		// Prometheus servers, a third waits for its next turn.
		MaxRequestsInFlight: 2,
	})
	mux.Handle("GET /metrics", promhttp.InstrumentMetricHandler(reg, metrics))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !exp.Ready() {
			http.Error(w, "not ready: no audit has succeeded yet", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "tokenaudit serve: /metrics (Prometheus), /healthz, /readyz")
	})
	return mux
}

// promLog hands promhttp's errors to the logger.
type promLog struct{ logger *slog.Logger }

func (l promLog) Println(v ...any) { l.logger.Error("metrics: " + fmt.Sprint(v...)) }

// loop audits until ctx is cancelled: one audit at a time, the first at
// once, then each Interval (plus jitter) after the previous one ended, so
// an audit longer than the interval never overlaps the next one nor runs
// back to back with it.
func (sv *server) loop(ctx context.Context) {
	for {
		sv.auditOnce(ctx)
		wait := sv.cfg.Interval
		if sv.cfg.Jitter > 0 {
			wait += rand.N(sv.cfg.Jitter)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// auditOnce runs one audit and publishes its outcome. The result is handed
// to the exporter, which keeps only its metrics, and then dropped.
func (sv *server) auditOnce(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	sv.exp.Started()
	start := wallClock()
	result, err := sv.job.collectAndEvaluate(ctx, sv.s)
	end := wallClock()
	if errors.Is(err, errInterrupted) {
		return // shutting down: not a failure of the audit
	}
	sv.audits++
	if err != nil {
		reason := failureReason(err)
		sv.exp.Failed(reason, end)
		sv.logger.Error("audit failed; the metrics keep the last good audit", "reason", reason, "error", errorText(err, sv.s.redactor), "duration", end.Sub(start).Round(time.Millisecond))
		return
	}
	result = result.Filter(sv.job.filter)
	sv.exp.Succeeded(result, end, end.Sub(start))
	sv.logger.Info("audit finished", "tokens", result.Summary.Tokens, "worst", result.Worst().String(),
		"gaps", result.Summary.Gaps, "complete", result.Summary.Complete,
		"requests", result.Inventory.Stats.Requests, "duration", end.Sub(start).Round(time.Millisecond))
	if sv.audited != nil {
		sv.audited(result)
	}
}

// auditFailure is an audit that could not finish, with the reason serve's
// metrics give it (one of exporter.Reasons). Its message is err's.
type auditFailure struct {
	reason string
	err    error
}

func (e *auditFailure) Error() string { return e.err.Error() }
func (e *auditFailure) Unwrap() error { return e.err }

// failureReason is the metrics' reason for a failed audit.
func failureReason(err error) string {
	var af *auditFailure
	if errors.As(err, &af) {
		return af.reason
	}
	return exporter.ReasonOther
}

// collectFailureReason classifies what stopped a collection, from the
// error as collect returned it.
func collectFailureReason(err error) string {
	var (
		unknownCA x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		certErr   x509.CertificateInvalidError
		verifyErr *tls.CertificateVerificationError
		recordErr tls.RecordHeaderError
		netErr    net.Error
		dnsErr    *net.DNSError
		opErr     *net.OpError
	)
	switch {
	case errors.Is(err, collect.ErrUnauthorized), errors.Is(err, collect.ErrNotServedAsAdmin):
		return exporter.ReasonUnauthorized
	case errors.Is(err, collect.ErrGroupNotFound), errors.Is(err, collect.ErrMode):
		return exporter.ReasonConfig
	case errors.As(err, &unknownCA), errors.As(err, &hostErr), errors.As(err, &certErr),
		errors.As(err, &verifyErr), errors.As(err, &recordErr):
		return exporter.ReasonTLS
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return exporter.ReasonTimeout
	case errors.As(err, &dnsErr), errors.As(err, &opErr),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET):
		return exporter.ReasonUnreachable
	}
	return exporter.ReasonOther
}
