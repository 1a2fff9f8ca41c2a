// Command bench measures tokenaudit against the GitLab simulator and writes
// docs/performance.md (run it through scripts/bench from the repository
// root).
//
// For every run it starts the simulator in a child process of its own (this
// binary with -serve), runs the tokenaudit binary as another child process
// with the simulator's administrator (or group Owner) token in
// GITLAB_TOKEN, and reads back from the simulator the requests it served
// and the 429s it answered. The minimum number of requests comes from the
// simulator's ground truth (bench.InstanceMinimum, bench.GroupsMinimum),
// computed in this process from the same preset and seed.
//
// Tokens are simulator tokens, made up by the generator; they are handed
// to tokenaudit through its environment and never printed.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tokenaudit/tokenaudit/internal/bench"
	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
)

// GitLab.com's authenticated API limit: 2,000 requests a minute per user
// (https://docs.gitlab.com/user/gitlab_com/#rate-limits-on-gitlabcom).
const (
	comRequests = 2000
	comPeriod   = time.Minute
)

// run is one benchmark run.
type run struct {
	Preset      string
	Mode        string // instance or groups
	Latency     time.Duration
	Rate        bool
	Concurrency int
	Note        string // why the run is in the matrix (sweeps)
	// Reads is how tokenaudit reads the per-project and per-person facts:
	// "" or "default" (GraphQL batches, REST for trigger details), "rest"
	// (--graphql=false), "no-trigger-dates" (--skip-trigger-created-at) or
	// "lean" (--skip-trigger-created-at --skip-impersonation).
	Reads string
	// GitLabCom serves the world as GitLab.com (groups mode: the
	// credentials inventory lists the tree's access tokens).
	GitLabCom bool
	Projects  int // groups mode: the projects in the audited tree

	// Results.
	Requests, Minimum, Throttled int
	Bound, Wall                  time.Duration
	PeakRSS                      int64          // bytes
	Routes                       map[string]int // requests per route template
	Exit                         int
	Err                          string
}

// skipped is a run left out of the default matrix, with the bound it would
// have.
type skipped struct {
	Preset  string
	Latency time.Duration
	Rate    bool
	Minimum int
	Bound   time.Duration
	Why     string
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-measure" {
		if err := measure(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "bench measure:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "-serve" {
		if err := serve(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "bench serve:", err)
			os.Exit(1)
		}
		return
	}
	if err := mainErr(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type config struct {
	presets, groupPresets []string
	latencies             []time.Duration
	rates                 []bool
	concurrency           int
	sweep                 bool
	eval                  bool
	quick                 bool
	out                   string
	seed                  int64
	reads                 []string
}

func mainErr() error {
	var (
		c                                          config
		presets, groupPresets, latencies, rateFlag string
		reads                                      string
	)
	flag.StringVar(&presets, "presets", "", "comma-separated presets (default: the default matrix; see docs/performance.md)")
	flag.StringVar(&groupPresets, "groups", "", "presets to audit in groups mode as well (default: medium)")
	flag.StringVar(&latencies, "latency", "", "comma-separated added latencies, such as 0,20ms,100ms")
	flag.StringVar(&rateFlag, "rate", "", "GitLab.com's rate limit (2,000/min): on, off or both")
	flag.IntVar(&c.concurrency, "concurrency", 16, "tokenaudit --concurrency of the matrix runs")
	flag.BoolVar(&c.sweep, "sweep", true, "also run the concurrency sweep that chooses the default concurrency")
	flag.BoolVar(&c.eval, "eval", true, "also run BenchmarkEvaluateAndReport (evaluation and reports of 100,000 tokens)")
	flag.BoolVar(&c.quick, "quick", false, "a one-minute subset: small and medium, 0 and 20 ms, rate limit on small only; no sweep, no evaluation benchmark")
	flag.StringVar(&c.out, "out", "docs/performance.md", "the results file to write; - for stdout")
	flag.Int64Var(&c.seed, "seed", 1, "simulator seed")
	flag.StringVar(&reads, "reads", "", "comma-separated ways of reading for the runs asked for: default, rest, no-trigger-dates, lean (default: default)")
	flag.Parse()

	custom := presets != "" || latencies != "" || rateFlag != "" || groupPresets != "" || reads != ""
	for _, r := range split(reads) {
		if _, _, err := readsOf(r); err != nil {
			return err
		}
		c.reads = append(c.reads, r)
	}
	c.presets = split(presets)
	c.groupPresets = split(groupPresets)
	for _, l := range split(latencies) {
		if l == "0" {
			l = "0s"
		}
		d, err := time.ParseDuration(l)
		if err != nil {
			return fmt.Errorf("latency %q: %w", l, err)
		}
		c.latencies = append(c.latencies, d)
	}
	switch rateFlag {
	case "":
	case "on":
		c.rates = []bool{true}
	case "off":
		c.rates = []bool{false}
	case "both":
		c.rates = []bool{false, true}
	default:
		return fmt.Errorf("rate %q: want on, off or both", rateFlag)
	}
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if c.quick || custom {
		// Subsets run only what was asked for.
		c.sweep = c.sweep && set["sweep"]
		c.eval = c.eval && set["eval"]
	}

	var runs []*run
	var skips []skipped
	switch {
	case custom:
		runs = customMatrix(c)
	case c.quick:
		runs = quickMatrix(c)
	default:
		runs, skips = defaultMatrix(c)
	}
	if c.sweep {
		for _, n := range []int{4, 8, 16, 32, 64} {
			runs = append(runs, &run{Preset: "medium", Mode: "instance", Latency: 20 * time.Millisecond, Concurrency: n, Note: "sweep"})
		}
	}

	tmp, err := os.MkdirTemp("", "tokenaudit-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "tokenaudit")
	fmt.Fprintln(os.Stderr, "building tokenaudit")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/tokenaudit").CombinedOutput(); err != nil {
		return fmt.Errorf("build tokenaudit (run from the repository root): %v\n%s", err, out)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}

	worlds := map[string]*gitlabsim.World{}
	world := func(preset string) (*gitlabsim.World, error) {
		if w, ok := worlds[preset]; ok {
			return w, nil
		}
		w, err := gitlabsim.Generate(preset, c.seed)
		if err != nil {
			return nil, err
		}
		// One world at a time: xl is large.
		clear(worlds)
		worlds[preset] = w
		return w, nil
	}
	start := time.Now()
	for i, r := range runs {
		w, err := world(r.Preset)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "[%d/%d] %s %s latency %s rate %v concurrency %d ... ", i+1, len(runs), r.Preset, r.Mode, r.Latency, r.Rate, r.Concurrency)
		if err := execute(r, w, self, bin, tmp, c.seed); err != nil {
			r.Err = err.Error()
		}
		fmt.Fprintf(os.Stderr, "%s, %d requests (minimum %d), %d 429s, %.0f MiB %s\n",
			r.Wall.Round(time.Millisecond), r.Requests, r.Minimum, r.Throttled, mib(r.PeakRSS), r.Err)
	}
	var evalNs []float64
	if c.eval {
		fmt.Fprintln(os.Stderr, "running BenchmarkEvaluateAndReport")
		evalNs, err = evalBench()
		if err != nil {
			return err
		}
	}
	doc := render(c, runs, skips, evalNs, time.Since(start))
	if c.out == "-" {
		_, err = os.Stdout.WriteString(doc)
		return err
	}
	return os.WriteFile(c.out, []byte(doc), 0o644)
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

var (
	ms0   = time.Duration(0)
	ms20  = 20 * time.Millisecond
	ms100 = 100 * time.Millisecond
)

// defaultMatrix is what fits in about 15 minutes on a 2-core machine. The
// rest of the full matrix is listed, with its bound, as skipped.
func defaultMatrix(c config) ([]*run, []skipped) {
	type cell struct {
		preset  string
		latency time.Duration
		rate    bool
	}
	keep := map[cell]bool{}
	for _, p := range []string{"small", "medium", "large", "xl"} {
		keep[cell{p, ms0, false}] = true
		keep[cell{p, ms20, false}] = true
	}
	keep[cell{"small", ms100, false}] = true
	keep[cell{"medium", ms100, false}] = true
	keep[cell{"small", ms0, true}] = true
	keep[cell{"small", ms20, true}] = true
	keep[cell{"small", ms100, true}] = true
	keep[cell{"medium", ms20, true}] = true

	var runs []*run
	var skips []skipped
	for _, rate := range []bool{false, true} {
		for _, p := range []string{"small", "medium", "large", "xl"} {
			for _, l := range []time.Duration{ms0, ms20, ms100} {
				if keep[cell{p, l, rate}] {
					runs = append(runs, &run{Preset: p, Mode: "instance", Latency: l, Rate: rate, Concurrency: c.concurrency})
					continue
				}
				w, err := gitlabsim.Generate(p, c.seed)
				if err != nil {
					continue
				}
				m := bench.InstanceMinimum(w, true, bench.DefaultReads)
				why := "takes its bound; medium at 100 ms and large at 20 ms show how wall time follows the latency bound"
				if rate {
					why = "takes its bound; medium at 20 ms shows the pacing over several windows"
				}
				skips = append(skips, skipped{Preset: p, Latency: l, Rate: rate, Minimum: m,
					Bound: bound(m, c.concurrency, l, rate), Why: why})
			}
		}
	}
	for _, p := range []string{"large", "xl"} {
		for _, rd := range []string{"rest", "no-trigger-dates", "lean"} {
			runs = append(runs, &run{Preset: p, Mode: "instance", Latency: ms0, Concurrency: c.concurrency, Reads: rd})
		}
	}
	runs = append(runs, &run{Preset: "large", Mode: "instance", Latency: ms20, Concurrency: c.concurrency, Reads: "lean"})
	for _, p := range []string{"medium", "large"} {
		runs = append(runs, &run{Preset: p, Mode: "groups", Latency: ms0, Concurrency: c.concurrency})
	}
	runs = append(runs, &run{Preset: "large", Mode: "groups", Latency: ms0, Concurrency: c.concurrency, Reads: "rest"})
	runs = append(runs, &run{Preset: "large", Mode: "groups", Latency: ms0, Concurrency: c.concurrency, GitLabCom: true})
	runs = append(runs, &run{Preset: "medium", Mode: "groups", Latency: ms20, Concurrency: c.concurrency})
	return runs, skips
}

func quickMatrix(c config) []*run {
	var runs []*run
	for _, p := range []string{"small", "medium"} {
		for _, l := range []time.Duration{ms0, ms20} {
			runs = append(runs, &run{Preset: p, Mode: "instance", Latency: l, Concurrency: c.concurrency})
		}
	}
	runs = append(runs, &run{Preset: "small", Mode: "instance", Latency: ms0, Rate: true, Concurrency: c.concurrency})
	runs = append(runs, &run{Preset: "medium", Mode: "groups", Latency: ms0, Concurrency: c.concurrency})
	return runs
}

func customMatrix(c config) []*run {
	presets := c.presets
	if len(presets) == 0 && len(c.groupPresets) == 0 {
		presets = []string{"small"}
	}
	lat := c.latencies
	if len(lat) == 0 {
		lat = []time.Duration{0}
	}
	rates := c.rates
	if len(rates) == 0 {
		rates = []bool{false}
	}
	reads := c.reads
	if len(reads) == 0 {
		reads = []string{"default"}
	}
	var runs []*run
	for _, mode := range []string{"instance", "groups"} {
		ps := presets
		if mode == "groups" {
			ps = c.groupPresets
		}
		for _, rate := range rates {
			for _, p := range ps {
				for _, l := range lat {
					for _, rd := range reads {
						runs = append(runs, &run{Preset: p, Mode: mode, Latency: l, Rate: rate, Concurrency: c.concurrency, Reads: rd})
					}
				}
			}
		}
	}
	return runs
}

// bound is the lower bound of a run's wall time: with n requests at most
// concurrency in flight, each taking at least latency, and with the rate
// limit at most comRequests per comPeriod.
func bound(n, concurrency int, latency time.Duration, rate bool) time.Duration {
	b := time.Duration((n+concurrency-1)/concurrency) * latency
	if rate {
		b = max(b, time.Duration(float64(n)/comRequests*float64(comPeriod)))
	}
	return b
}

// simReady is the simulator child's first line on stdout.
type simReady struct {
	URL                string `json:"url"`
	ImpersonationRoute bool   `json:"impersonation_route"`
}

// simStats is its answer to "stats".
type simStats struct {
	Requests  int            `json:"requests"`
	Throttled int            `json:"throttled"`
	Routes    map[string]int `json:"routes"`
}

// execute runs one benchmark: simulator child, tokenaudit child, stats.
func execute(r *run, w *gitlabsim.World, self, bin, tmp string, seed int64) error {
	args := []string{"-serve", "-preset", r.Preset, "-seed", strconv.FormatInt(seed, 10), "-latency", r.Latency.String()}
	if r.Rate {
		args = append(args, "-rate")
	}
	if r.GitLabCom {
		args = append(args, "-gitlab-com")
		gitLabCom(w, true)
		defer gitLabCom(w, false)
	}
	sim := exec.Command(self, args...)
	sim.Stderr = os.Stderr
	in, err := sim.StdinPipe()
	if err != nil {
		return err
	}
	outPipe, err := sim.StdoutPipe()
	if err != nil {
		return err
	}
	if err := sim.Start(); err != nil {
		return fmt.Errorf("start simulator: %w", err)
	}
	defer func() {
		in.Close()
		_ = sim.Wait()
	}()
	out := bufio.NewReader(outPipe)
	var ready simReady
	if err := readJSONLine(out, &ready); err != nil {
		return fmt.Errorf("simulator: %w", err)
	}

	token, group := w.AdminToken(), ""
	reads, flags, err := readsOf(r.Reads)
	if err != nil {
		return err
	}
	if r.Mode == "groups" {
		token, group = w.GroupOwnerToken()
		r.Minimum = bench.GroupsMinimum(w, group, bench.TokenHolder(w, token), reads)
		r.Projects = bench.TreeProjects(w, group)
	} else {
		r.Minimum = bench.InstanceMinimum(w, ready.ImpersonationRoute, reads)
	}
	r.Bound = bound(r.Minimum, r.Concurrency, r.Latency, r.Rate)

	if r.Rate {
		// Start at the beginning of a rate-limit window (Rack::Attack's
		// windows are aligned to the epoch): a run started late in a window
		// gets that window's whole quota early, which would flatter the
		// ratio to the bound.
		now := time.Now()
		time.Sleep(now.Truncate(comPeriod).Add(comPeriod).Sub(now))
	}
	report := filepath.Join(tmp, "report.json")
	cmdArgs := []string{"audit", "--gitlab-url", ready.URL, "--format", "json", "--output", "json=" + report,
		"--fail-on", "none", "--concurrency", strconv.Itoa(r.Concurrency)}
	cmdArgs = append(cmdArgs, flags...)
	if r.Mode == "groups" {
		cmdArgs = append(cmdArgs, "--mode", "groups", "--group", group)
	} else {
		cmdArgs = append(cmdArgs, "--mode", "instance")
	}
	// tokenaudit runs under a small runner process (this binary with
	// -measure): Linux starts a child in its parent's memory until exec
	// (vfork) and counts that memory into the child's peak RSS, so
	// tokenaudit started from this process, which holds the generated
	// world, would report this process's size.
	runner := exec.Command(self, append([]string{"-measure", bin}, cmdArgs...)...)
	runner.Env = append(os.Environ(), "GITLAB_TOKEN="+token)
	runner.Dir = tmp // no ./tokenaudit.yaml of the repository
	runner.Stderr = os.Stderr
	mOut, err := runner.Output()
	if err != nil {
		return fmt.Errorf("runner: %w", err)
	}
	var m measured
	if err := json.Unmarshal(mOut, &m); err != nil {
		return fmt.Errorf("runner: %w", err)
	}
	r.Wall, r.Exit, r.PeakRSS = m.Wall, m.Exit, m.PeakRSS

	if _, err := io.WriteString(in, "stats\n"); err != nil {
		return fmt.Errorf("simulator stats: %w", err)
	}
	var st simStats
	if err := readJSONLine(out, &st); err != nil {
		return fmt.Errorf("simulator stats: %w", err)
	}
	r.Requests, r.Throttled, r.Routes = st.Requests, st.Throttled, st.Routes
	if m.Err != "" {
		return errors.New(m.Err)
	}
	if _, err := os.Stat(report); err != nil {
		return fmt.Errorf("tokenaudit wrote no report: %w", err)
	}
	return nil
}

// readsOf is what a run's Reads means: the minimum's reads and
// tokenaudit's flags.
func readsOf(name string) (bench.Reads, []string, error) {
	switch name {
	case "", "default":
		return bench.DefaultReads, nil, nil
	case "rest":
		return bench.Reads{TriggerDates: true, Impersonation: true}, []string{"--graphql=false"}, nil
	case "no-trigger-dates":
		return bench.Reads{GraphQL: true, Impersonation: true}, []string{"--skip-trigger-created-at"}, nil
	case "lean":
		return bench.Reads{GraphQL: true}, []string{"--skip-trigger-created-at", "--skip-impersonation"}, nil
	}
	return bench.Reads{}, nil, fmt.Errorf("reads %q: want default, rest, no-trigger-dates or lean", name)
}

// measured is the runner's report on one tokenaudit run.
type measured struct {
	Wall    time.Duration `json:"wall"`
	Exit    int           `json:"exit"`
	PeakRSS int64         `json:"peak_rss"`
	Err     string        `json:"err,omitempty"`
}

// measure is the runner: it runs args as a child process and prints its
// wall time, exit code and peak RSS as JSON.
func measure(args []string) error {
	if len(args) == 0 {
		return errors.New("no command")
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout = io.Discard
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	m := measured{Wall: time.Since(start)}
	if cmd.ProcessState != nil {
		m.Exit = cmd.ProcessState.ExitCode()
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			m.PeakRSS = ru.Maxrss * 1024 // kilobytes on Linux
		}
	}
	var ee *exec.ExitError
	switch {
	case err != nil && !errors.As(err, &ee):
		m.Err = "tokenaudit: " + err.Error()
	case m.Exit != 0:
		// Stderr holds no token: tokenaudit never prints one.
		m.Err = fmt.Sprintf("tokenaudit exited %d: %s", m.Exit, lastLine(stderr.String()))
	}
	return json.NewEncoder(os.Stdout).Encode(m)
}

func readJSONLine(r *bufio.Reader, v any) error {
	line, err := r.ReadBytes('\n')
	if err != nil {
		return err
	}
	return json.Unmarshal(line, v)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// serve is the simulator child: it serves a preset until stdin closes,
// prints its URL, and its counts whenever it reads "stats".
func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	preset := fs.String("preset", "small", "")
	seed := fs.Int64("seed", 1, "")
	latency := fs.Duration("latency", 0, "")
	rate := fs.Bool("rate", false, "")
	com := fs.Bool("gitlab-com", false, "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	w, err := gitlabsim.Generate(*preset, *seed)
	if err != nil {
		return err
	}
	gitLabCom(w, *com)
	opts := gitlabsim.Options{Faults: gitlabsim.Faults{Latency: *latency}}
	if *rate {
		opts.RateLimit = gitlabsim.RateLimit{Requests: comRequests, Period: comPeriod, HeadersOnAll: true}
	}
	imp, err := impersonationRoute(w)
	if err != nil {
		return err
	}
	srv := gitlabsim.NewServer(w, opts)
	defer srv.Close()
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(simReady{URL: srv.URL(), ImpersonationRoute: imp}); err != nil {
		return err
	}
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if sc.Text() == "stats" {
			if err := enc.Encode(simStats{Requests: srv.TotalRequests(), Throttled: int(srv.ThrottleStats().RateLimited), Routes: srv.Counts()}); err != nil {
				return err
			}
		}
	}
	return nil
}

// gitLabCom serves w as GitLab.com, or not.
func gitLabCom(w *gitlabsim.World, on bool) {
	w.GitLabCom, w.Version = on, gitlabsim.GeneratorVersion
	if on {
		w.Version = gitlabsim.GeneratorGitLabComVersion
	}
}

// impersonationRoute asks a separate, unlimited server of the same world
// whether it lists impersonation tokens per user: the instance minimum
// counts those requests only then.
func impersonationRoute(w *gitlabsim.World) (bool, error) {
	clean := gitlabsim.NewServer(w, gitlabsim.Options{})
	defer clean.Close()
	req, err := http.NewRequest(http.MethodGet, clean.URL()+"/api/v4/users/1/impersonation_tokens", nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("PRIVATE-TOKEN", w.AdminToken())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	return resp.StatusCode != http.StatusNotFound, nil
}

// evalBench runs BenchmarkEvaluateAndReport five times and returns ns/op.
func evalBench() ([]float64, error) {
	out, err := exec.Command("go", "test", "-run", "^$", "-bench", "^BenchmarkEvaluateAndReport$", "-count", "5", "./internal/bench").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("BenchmarkEvaluateAndReport: %v\n%s", err, out)
	}
	re := regexp.MustCompile(`BenchmarkEvaluateAndReport\S*\s+\d+\s+([0-9.]+) ns/op`)
	var ns []float64
	for _, m := range re.FindAllSubmatch(out, -1) {
		v, err := strconv.ParseFloat(string(m[1]), 64)
		if err == nil {
			ns = append(ns, v)
		}
	}
	if len(ns) == 0 {
		return nil, fmt.Errorf("BenchmarkEvaluateAndReport: no ns/op in\n%s", out)
	}
	return ns, nil
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func median(v []float64) float64 {
	s := slices.Clone(v)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func secs(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d < 10*time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	default:
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
}

func ms(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	return fmt.Sprintf("%d ms", d.Milliseconds())
}

func onOff(b bool) string {
	if b {
		return "2,000/min"
	}
	return "off"
}

// machine describes where the figures come from.
func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := "unknown memory"
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemTotal:" {
				if kb, err := strconv.ParseFloat(f[1], 64); err == nil {
					mem = fmt.Sprintf("%.1f GiB", kb/(1<<20))
				}
			}
		}
	}
	goVersion := runtime.Version()
	if out, err := exec.Command("go", "env", "GOVERSION").Output(); err == nil {
		goVersion = strings.TrimSpace(string(out))
	}
	return fmt.Sprintf("%d CPUs (%s), %s memory, %s, %s/%s", runtime.NumCPU(), cpu, mem, goVersion, runtime.GOOS, runtime.GOARCH)
}

func render(c config, runs []*run, skips []skipped, evalNs []float64, took time.Duration) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("# Performance\n\n")
	p("Generated by `scripts/bench` on %s in %s. Machine: %s.\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), took.Round(time.Second), machine())
	p("%s\n", intro)
	table := func(title string, keep func(*run) bool) {
		var rows []*run
		for _, r := range runs {
			if keep(r) {
				rows = append(rows, r)
			}
		}
		if len(rows) == 0 {
			return
		}
		p("## %s\n\n", title)
		p("| preset | mode | reads | latency | rate limit | concurrency | requests | minimum | requests / minimum | bound | wall | wall / bound | 429s | peak RSS |\n")
		p("|---|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, r := range rows {
			ratio := "—"
			if r.Bound > 0 {
				ratio = fmt.Sprintf("%.2f", r.Wall.Seconds()/r.Bound.Seconds())
			}
			reqRatio := "—"
			if r.Minimum > 0 {
				reqRatio = fmt.Sprintf("%.3f", float64(r.Requests)/float64(r.Minimum))
			}
			reads := readsName(r.Reads)
			mode := r.Mode
			if r.GitLabCom {
				mode += ", GitLab.com"
			}
			if r.Projects > 0 {
				mode += fmt.Sprintf(" (%d projects: %.2f requests each)", r.Projects, float64(r.Requests)/float64(r.Projects))
			}
			p("| %s | %s | %s | %s | %s | %d | %d | %d | %s | %s | %s | %s | %d | %.0f MiB |", r.Preset, mode, reads, ms(r.Latency), onOff(r.Rate),
				r.Concurrency, r.Requests, r.Minimum, reqRatio, secs(r.Bound), secs(r.Wall), ratio, r.Throttled, mib(r.PeakRSS))
			if r.Err != "" {
				p(" **failed: %s**", r.Err)
			}
			p("\n")
		}
		p("\n")
	}
	table("Instance mode, no rate limit", func(r *run) bool {
		return r.Mode == "instance" && !r.Rate && r.Note == "" && readsName(r.Reads) == "default"
	})
	table("Instance mode, other ways of reading (rest: REST only; no-trigger-dates: triggers from GraphQL alone; lean: also no impersonation lists)", func(r *run) bool { return r.Mode == "instance" && readsName(r.Reads) != "default" })
	table("Instance mode, GitLab.com's rate limit (2,000 requests a minute, RateLimit-* headers on every response)", func(r *run) bool {
		return r.Mode == "instance" && r.Rate && r.Note == "" && readsName(r.Reads) == "default"
	})
	table("Groups mode (the largest top-level group's Owner)", func(r *run) bool { return r.Mode == "groups" })
	table("Concurrency sweep (medium, 20 ms, no rate limit)", func(r *run) bool { return r.Note == "sweep" })
	routeTables(p, runs)
	if len(skips) > 0 {
		p("## Left out of the default matrix\n\n")
		p("The full matrix (4 presets × 3 latencies × rate limit on/off) takes hours, mostly in the rate-limited runs: at 2,000 requests a minute `xl` alone needs about an hour. These runs are left out; the bound is the least wall time any client could reach at concurrency %d. Run one with, for example, `scripts/bench -presets large -latency 100ms -rate off`.\n\n", c.concurrency)
		p("| preset | latency | rate limit | minimum | bound | why left out |\n|---|---:|---|---:|---:|---|\n")
		for _, s := range skips {
			p("| %s | %s | %s | %d | %s | %s |\n", s.Preset, ms(s.Latency), onOff(s.Rate), s.Minimum, secs(s.Bound), s.Why)
		}
		p("\n")
	}
	if len(evalNs) > 0 {
		var parts []string
		for _, v := range evalNs {
			parts = append(parts, fmt.Sprintf("%.0f ms", v/1e6))
		}
		p("## Evaluation and reports\n\n")
		p("`go test -bench BenchmarkEvaluateAndReport ./internal/bench`: the default policy over the collected `xl` inventory (100,000 tokens), then the JSON, CSV and table reports, in one process. Median of %d: **%.0f ms** (%s).\n\n",
			len(evalNs), median(evalNs)/1e6, strings.Join(parts, ", "))
	}
	p("%s", notes)
	return b.String()
}

// routeTables writes, for the largest preset's instance-mode runs without
// latency, what each request was for.
func routeTables(p func(string, ...any), runs []*run) {
	var rows []*run
	largest := ""
	for _, r := range runs {
		if r.Mode == "instance" && r.Latency == 0 && !r.Rate && r.Note == "" && len(r.Routes) > 0 {
			if r.Preset != largest && presetRank(r.Preset) > presetRank(largest) {
				largest, rows = r.Preset, nil
			}
			if r.Preset == largest {
				rows = append(rows, r)
			}
		}
	}
	if len(rows) == 0 {
		return
	}
	routes := map[string]bool{}
	for _, r := range rows {
		for k := range r.Routes {
			routes[k] = true
		}
	}
	keys := slices.Sorted(maps.Keys(routes))
	sort.SliceStable(keys, func(i, j int) bool { return rows[0].Routes[keys[i]] > rows[0].Routes[keys[j]] })
	p("## What each request is for (%s, instance mode)\n\n", largest)
	p("Requests per route as the simulator counted them, for each way of reading.\n\n| route | for |")
	for _, r := range rows {
		p(" %s |", readsName(r.Reads))
	}
	p("\n|---|---|")
	for range rows {
		p("---:|")
	}
	p("\n")
	for _, k := range keys {
		p("| `%s` | %s |", k, routePurpose[k])
		for _, r := range rows {
			p(" %d |", r.Routes[k])
		}
		p("\n")
	}
	p("| **all** | |")
	for _, r := range rows {
		p(" **%d** |", r.Requests)
	}
	p("\n\n")
}

func presetRank(p string) int { return slices.Index([]string{"small", "medium", "large", "xl"}, p) }

func readsName(r string) string {
	if r == "" || r == "default" {
		return "default"
	}
	return r
}

// routePurpose says what tokenaudit reads each route for.
var routePurpose = map[string]string{
	"GET /personal_access_tokens":         "every personal, impersonation, service-account and resource token (pages of 100)",
	"GET /users":                          "every user: owner type, state, admin flag, bots (keyset pages of 100)",
	"GET /projects":                       "every project's path and archived state (two keyset lists: all, archived)",
	"GET /groups":                         "every group's path and size (pages of 100)",
	"GET /deploy_tokens":                  "every deploy token (pages of 100)",
	"GET /service_accounts":               "which users are service accounts",
	"GET /groups/:id/service_accounts":    "which group a service account belongs to (per top-level group, when any exist and the users list does not name it in provisioned_by_group_id)",
	"GET /application/settings":           "token policy settings; proves the token is served as an administrator",
	"GET /user":                           "the caller",
	"GET /version":                        "the GitLab version (which routes and fields exist)",
	"GET /metadata":                       "the edition",
	"POST /api/graphql":                   "per 100 projects: trigger count and inbound job token setting (triggers themselves with lean reads); per 100 bot users: their access level",
	"GET /projects/:id/triggers":          "trigger details with creation time, per project that has triggers (REST: every project)",
	"GET /projects/:id/job_token_scope":   "inbound job token setting, per project (REST only)",
	"GET /projects/:id/access_tokens":     "access levels of a project's tokens, per project with bots (REST only)",
	"GET /groups/:id/access_tokens":       "access levels of a group's tokens, per group with bots (REST only)",
	"GET /users/:id/impersonation_tokens": "which tokens are impersonation tokens, per person holding tokens",
	"GET /personal_access_tokens/self":    "the caller's own token",
}

const intro = `Each run starts the GitLab simulator (` + "`internal/gitlabsim`" + `) in a process of its own and runs
the tokenaudit binary against it as a child process: ` + "`tokenaudit audit --format json --mode instance`" + `
(or ` + "`--mode groups --group <largest group>`" + ` with that group's Owner token), ` + "`--fail-on none`" + `.

- **requests**: requests the simulator served during the run, 429s included.
- **minimum**: the fewest requests that read everything the report holds, from the simulator's ground truth
  (` + "`bench.InstanceMinimum`, `bench.GroupsMinimum`" + ` in ` + "`internal/bench/minimum.go`" + `).
- **bound**: the least wall time any client could reach: ceil(minimum / concurrency) × latency, and with the
  rate limit at least minimum / rate (2,000 a minute). At 0 ms latency without a rate limit there is no bound.
- **wall**: tokenaudit's process from start to exit: collection, evaluation, JSON report. On ` + "`small`" + ` the fixed
  costs (process start, evaluation, report: about 0.1 s) weigh in the ratio to the bound.
- **429s**: requests the simulator's throttle answered 429.
- **peak RSS**: the tokenaudit process's maximum resident set size (getrusage).

Rate-limited runs start at the beginning of a one-minute window (GitLab's windows are aligned to the epoch), so
the first window gives no head start.
`

const notes = `## GraphQL, and what REST still reads

tokenaudit reads through GitLab's GraphQL API what it can get for 100 projects or users a request
(` + "`collect/graphql.go`" + `): each project's pipeline trigger count and inbound CI/CD job token setting
(` + "`Query.projects(ids:)`" + `), and in instance mode the access level of each project and group access token, from
its bot user's membership (` + "`Query.users(ids:)`" + `; with ` + "`person_reach`" + ` also each token owner's memberships), and in
groups mode whether a bot is among each project's direct members. What is left over REST, and why:

- **Trigger creation times** (` + "`default`" + `): GitLab's ` + "`PipelineTrigger`" + ` type has no ` + "`createdAt`" + `, which TA-050 and
  TA-063 (for a trigger never used) need, so the triggers of each project that has any are read over REST.
  ` + "`skip_trigger_created_at`" + ` (` + "`no-trigger-dates`" + `) reads the triggers from GraphQL alone; those two rules then
  do not judge triggers (the report's "Not judged" says so).
- **Ownerless triggers**: ` + "`PipelineTrigger.owner`" + ` is non-null, so a trigger whose owner was deleted is a null
  node where its owner is asked. The triggers are therefore asked twice in the same request, once without owners
  and once (` + "`triggerOwners`" + `) for them: an administrator, who may read every user, has the ownerless trigger from
  the first. A group Owner may be kept from reading a blocked owner, which GraphQL nulls the same way, so in groups
  mode such a project's triggers come from REST.
- **Impersonation tokens**: GitLab's list of all tokens does not flag them and no batched source exists, so telling
  them apart costs a request per person holding tokens (the first row of the table above).
  ` + "`skip_impersonation`" + ` (` + "`lean`" + `) skips them: they are reported as personal tokens, with a gap that says so; no rule
  judges the two kinds differently.
- **Groups mode**: no GraphQL field lists access tokens or deploy tokens. A project's access token list holds the
  tokens of its bot members and no others (GitLab lists ` + "`resource.bots`" + `' tokens), so the project batches also ask
  each project's direct members (` + "`Project.projectMembers(relations: [DIRECT])`" + `) and only the projects with a
  bot have their list read. Each project and group still costs its deploy token list, and each group (off
  GitLab.com's credentials inventory) its access token list: a little over one request per project, plus two per
  group.

With GraphQL unavailable (an old GitLab, a proxy that blocks it) or a field missing (` + "`pipelineTriggers`" + ` before
16.3), that fact is read over REST as in the ` + "`rest`" + ` rows, after one probe.

## What limits each figure

- **Requests**: the collector reads each instance-wide list once and asks per project or group only what no list
  offers; the few requests above the minimum are the archived-projects list, the pages read ahead past the end
  of a list GitLab gives no count for (more than 10,000 entries: at most concurrency - 1 per list) and, in groups
  mode, the credentials-inventory probe (one request per top-level group, on GitLab.com). 429s are extra requests.
- **0 ms latency**: CPU. The simulator and tokenaudit share this machine's cores (and, while these figures were
  taken, other work on it): the simulator's JSON encoding and tokenaudit's decoding are the whole cost.
- **20 ms and 100 ms**: the latency bound, plus the CPU time per request of both processes, which adds to every
  request's latency when both processes compete for two cores, plus one chain the bound ignores: ` + "`GET /users`" + ` is
  read one keyset page after another (GitLab refuses offsets past 50,000 users; 106 pages on ` + "`large`" + `, 566 on
  ` + "`xl`" + `). The per-project batches, the other lists and the impersonation reads of the people already read
  run beside it at a lower priority for request slots, so the chain costs little beyond its own length.
- **Rate limit**: the rate bound. tokenaudit reads RateLimit-Remaining and RateLimit-Reset from every response and
  spreads the remaining quota over the time to the reset (` + "`collect/pacer.go`" + `), so it neither waits
  idle nor bounces off the limit. A 429 could only come from the few requests sent at a window's start, before
  the window's first answer tells its quota. Spreading rather than spending the quota at once costs nothing on
  a run of several windows (each window's quota is spent either way); a run that needs less than one window's
  quota (` + "`small`" + `) takes minimum / rate where a burst would finish sooner, but it leaves the user's other
  clients (CI jobs, scripts sharing the same per-user limit) their share of every window.
- **Peak RSS**: the inventory, the evaluation result and the report held at once, plus decoding buffers.

## Default concurrency

` + "`collect.DefaultConcurrency`" + ` is 16, from the sweep above and the rate-limited runs:

- Without a rate limit the wall time falls in proportion to concurrency (each doubling about halves it), while
  the ratio to the latency bound creeps up as the two processes start to compete for this machine's two cores.
  16 halves the wall time of 8 and stays close to the bound; the simulator would reward 64, but a real
  GitLab serves each request in flight with a Puma thread, and a small instance has not many more than 16.
- With GitLab.com's rate limit, concurrency only has to cover the latency: 2,000 requests a minute is 33 a second,
  so 16 requests in flight keep the rate saturated as long as a request takes under 480 ms. More would only wait
  in the pacer.
`
