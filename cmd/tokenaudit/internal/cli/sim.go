package cli

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
)

// workDir is the working directory, for relative paths.
func workDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	return dir, nil
}

type simSettings struct {
	preset    string
	seed      int64
	scenario  string
	port      int
	rateLimit string
	errorRate float64
	latency   time.Duration
	gitlabCom bool
	adminMode bool
	version   string
	noGraphQL bool
}

func newSimCmd(s *Streams) *cobra.Command {
	var st simSettings
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Serve a simulated GitLab on 127.0.0.1 to try tokenaudit against",
		Long: `Sim serves tokenaudit's GitLab simulator on 127.0.0.1 until Ctrl-C: GitLab's
REST API paths, roles, refusals, pagination and rate limits, over a seeded
generated instance (--preset, --seed) or a scenario file (--scenario).

It prints the URL and two tokens of the simulated instance: an administrator's
and a group Owner's. These are simulator tokens, made up by the generator and
printed on purpose so you can use them; this is the only place tokenaudit
ever prints a token, and it never prints a real one.

Faults make it misbehave the way a loaded GitLab does: --error-rate answers a
share of requests with 500/502/503, --latency slows every request, and
--rate-limit throttles per token with GitLab's 429 and RateLimit-* headers.`,
		Example: `  # Terminal 1
  tokenaudit sim --preset small --port 8080
  # Terminal 2 (tokens as printed by terminal 1)
  GITLAB_TOKEN=<administrator token> tokenaudit audit --gitlab-url http://127.0.0.1:8080
  GITLAB_TOKEN=<group owner token> tokenaudit audit --gitlab-url http://127.0.0.1:8080 --group <group>

  # A flaky, throttled GitLab
  tokenaudit sim --error-rate 0.05 --latency 50ms --rate-limit 600/1m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSim(cmd.Context(), s, st)
		},
	}
	f := cmd.Flags()
	f.StringVar(&st.preset, "preset", "small", "generated instance size: "+strings.Join(gitlabsim.Presets(), ", "))
	f.Int64Var(&st.seed, "seed", 1, "seed of the generated instance")
	f.StringVar(&st.scenario, "scenario", "", "serve the instance described by this scenario file instead of a preset")
	f.IntVar(&st.port, "port", 0, "port on 127.0.0.1 (0: any free port)")
	f.StringVar(&st.rateLimit, "rate-limit", "", "per-token throttle N/PERIOD, such as 600/1m (GitLab's 429s with RateLimit-* headers)")
	f.Float64Var(&st.errorRate, "error-rate", 0, "share of requests answered with 500, 502 or 503, 0 to 1")
	f.DurationVar(&st.latency, "latency", 0, "latency added to every request, such as 50ms")
	f.BoolVar(&st.gitlabCom, "gitlab-com", false, "behave as GitLab.com: no administrator, group credentials inventory")
	f.BoolVar(&st.adminMode, "admin-mode", false, "turn GitLab's Admin Mode on: administrator tokens act as administrators only with the admin_mode scope")
	f.BoolVar(&st.noGraphQL, "no-graphql", false, "serve no GraphQL API (POST /api/graphql answers 404), as an old GitLab or a blocking proxy would; tokenaudit then reads everything over REST")
	f.StringVar(&st.version, "gitlab-version", "", "GitLab version and edition to serve, such as 18.5.1-ee, 17.5.0-ee or 16.11.0-ce (default "+gitlabsim.GeneratorVersion+", or "+gitlabsim.GeneratorGitLabComVersion+" with --gitlab-com)")
	return cmd
}

// parseRateLimit reads N/PERIOD.
func parseRateLimit(s string) (gitlabsim.RateLimit, error) {
	if s == "" {
		return gitlabsim.RateLimit{}, nil
	}
	n, p, ok := strings.Cut(s, "/")
	req, err := strconv.Atoi(n)
	if !ok || err != nil || req < 1 {
		return gitlabsim.RateLimit{}, fmt.Errorf("rate-limit: %q is not N/PERIOD with N above 0 (for example 600/1m)", s)
	}
	period, err := time.ParseDuration(p)
	if err != nil || period < time.Second {
		return gitlabsim.RateLimit{}, fmt.Errorf("rate-limit: period %q in %q is not a duration of 1s or more (for example 1m)", p, s)
	}
	return gitlabsim.RateLimit{Requests: req, Period: period, HeadersOnAll: true}, nil
}

func runSim(ctx context.Context, s *Streams, st simSettings) error {
	rl, err := parseRateLimit(st.rateLimit)
	if err != nil {
		return exitCode(ExitCannotRun, err)
	}
	if st.errorRate < 0 || st.errorRate > 1 {
		return exitCode(ExitCannotRun, fmt.Errorf("error-rate: %v is not allowed (want a share from 0 to 1)", st.errorRate))
	}
	if st.latency < 0 {
		return exitCode(ExitCannotRun, fmt.Errorf("latency: %s is not allowed (want 0 or more)", st.latency))
	}
	if st.port < 0 || st.port > 65535 {
		return exitCode(ExitCannotRun, fmt.Errorf("port: %d is not allowed (want 0 to 65535)", st.port))
	}
	world, source, err := simWorld(st)
	if err != nil {
		return exitCode(ExitCannotRun, err)
	}
	world.Settings.AdminMode = world.Settings.AdminMode || st.adminMode
	// The simulator's own URLs (web_url, http_url_to_repo) name the address
	// it listens on, so it listens on the port asked for and no other.
	srv, err := gitlabsim.Listen(world, gitlabsim.Options{
		RateLimit: rl,
		Faults:    gitlabsim.Faults{ErrorRate: st.errorRate, Latency: st.latency},
		Seed:      st.seed,
		Addr:      net.JoinHostPort("127.0.0.1", strconv.Itoa(st.port)),
		NoGraphQL: st.noGraphQL,
	})
	if err != nil {
		return exitCode(ExitCannotRun, fmt.Errorf("port %d: %w", st.port, err))
	}
	defer srv.Close()
	url := srv.URL()

	admin := world.AdminToken()
	adminMode := ""
	if world.Settings.AdminMode {
		adminMode = world.AdminModeToken()
	}
	owner, group := world.GroupOwnerToken()
	fmt.Fprintf(s.Out, "GitLab simulator (%s) serving on %s\n", source, url)
	fmt.Fprintf(s.Out, "\nSimulator tokens: made up by the simulator and printed on purpose; tokenaudit never prints a real token.\n")
	ownerLabel := "owner of group " + group + ":"
	adminModeLabel := "administrator, admin_mode scope:"
	width := max(len("administrator:"), len(ownerLabel))
	if adminMode != "" {
		width = max(width, len(adminModeLabel))
	}
	if admin != "" {
		fmt.Fprintf(s.Out, "  %-*s  %s\n", width, "administrator:", admin)
	}
	if adminMode != "" {
		fmt.Fprintf(s.Out, "  %-*s  %s\n", width, adminModeLabel, adminMode)
	}
	if owner != "" {
		fmt.Fprintf(s.Out, "  %-*s  %s\n", width, ownerLabel, owner)
	}
	fmt.Fprintf(s.Out, "\nTry, in another terminal:\n")
	if admin != "" {
		fmt.Fprintf(s.Out, "  GITLAB_TOKEN=%s tokenaudit audit --gitlab-url %s\n", admin, url)
	}
	if owner != "" {
		fmt.Fprintf(s.Out, "  GITLAB_TOKEN=%s tokenaudit audit --gitlab-url %s --group %s\n", owner, url, group)
	}
	fmt.Fprintf(s.Out, "\nPress Ctrl-C to stop.\n")
	<-ctx.Done()
	fmt.Fprintf(s.ErrOut, "sim: stopped after %d requests\n", srv.TotalRequests())
	return nil
}

func simWorld(st simSettings) (*gitlabsim.World, string, error) {
	if st.scenario != "" {
		w, err := gitlabsim.LoadScenario(st.scenario)
		if err != nil {
			return nil, "", fmt.Errorf("scenario: %w", err)
		}
		if st.version != "" {
			return nil, "", fmt.Errorf("gitlab-version: a scenario file names its GitLab with its version key")
		}
		w.GitLabCom = w.GitLabCom || st.gitlabCom
		return w, "scenario " + st.scenario, nil
	}
	var opts []gitlabsim.GenOption
	if st.adminMode {
		opts = append(opts, gitlabsim.WithAdminMode())
	}
	if st.gitlabCom {
		opts = append(opts, gitlabsim.WithGitLabCom())
	}
	if st.version != "" {
		opts = append(opts, gitlabsim.WithVersion(st.version))
	}
	w, err := gitlabsim.Generate(st.preset, st.seed, opts...)
	if err != nil {
		return nil, "", fmt.Errorf("preset: %w", err)
	}
	return w, fmt.Sprintf("preset %s, seed %d, GitLab %s", st.preset, st.seed, w.Version), nil
}
