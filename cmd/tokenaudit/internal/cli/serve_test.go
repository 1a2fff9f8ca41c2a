package cli

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/spf13/cobra"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/collect"
	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
)

// serveRoot is the command tree with serve's hooks set.
func serveRoot(s *Streams, hooks serveHooks) *cobra.Command {
	root := newRootCmd(s)
	for _, c := range root.Commands() {
		if c.Name() == "serve" {
			root.RemoveCommand(c)
		}
	}
	root.AddCommand(newServeCmd(s, hooks))
	return root
}

// parseServe runs `serve` with args up to the point where it would start
// serving, and returns what it decided, or the exit code and stderr.
func parseServe(t *testing.T, args ...string) (*auditRun, result) {
	t.Helper()
	var got *auditRun
	var out, errOut syncBuffer
	s := &Streams{Out: &out, ErrOut: &errOut}
	root := serveRoot(s, serveHooks{run: func(_ context.Context, r *auditRun) error {
		got = r
		return nil
	}})
	root.SetArgs(append([]string{"serve"}, args...))
	root.SetOut(&out)
	root.SetErr(&errOut)
	code := ExitOK
	if err := root.ExecuteContext(context.Background()); err != nil {
		code = ExitCannotRun
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
		errOut.Write([]byte("tokenaudit: " + err.Error() + "\n"))
	}
	return got, result{code, out.String(), errOut.String()}
}

// TestServeSettings: serve's keys come from flags, TOKENAUDIT_* variables
// and the config file, strongest first, like every other setting; the
// GitLab settings are audit's.
func TestServeSettings(t *testing.T) {
	for _, tt := range []struct {
		name  string
		file  string
		env   map[string]string
		args  []string
		check func(t *testing.T, c Config)
	}{
		{
			name: "defaults",
			check: func(t *testing.T, c Config) {
				want := ServeConfig{Listen: "127.0.0.1:9917", Interval: time.Hour, Jitter: 5 * time.Minute, TokenSeries: "findings"}
				if c.Serve != want {
					t.Errorf("serve settings %+v, want %+v", c.Serve, want)
				}
			},
		},
		{
			name: "file",
			file: "gitlab_url: https://file.example.com\nconcurrency: 3\nserve:\n  listen: 127.0.0.1:9000\n  interval: 6h\n  jitter: 0s\n  token_series: all\n",
			check: func(t *testing.T, c Config) {
				want := ServeConfig{Listen: "127.0.0.1:9000", Interval: 6 * time.Hour, Jitter: 0, TokenSeries: "all"}
				if c.Serve != want || c.GitLabURL != "https://file.example.com" || c.Concurrency != 3 {
					t.Errorf("serve %+v url %q concurrency %d, want %+v https://file.example.com 3", c.Serve, c.GitLabURL, c.Concurrency, want)
				}
			},
		},
		{
			name: "environment over file",
			file: "serve:\n  listen: 127.0.0.1:9000\n  interval: 6h\n  token_series: all\n",
			env:  map[string]string{"TOKENAUDIT_SERVE_LISTEN": ":9100", "TOKENAUDIT_SERVE_TOKEN_SERIES": "None", "TOKENAUDIT_SERVE_JITTER": "1m"},
			check: func(t *testing.T, c Config) {
				want := ServeConfig{Listen: ":9100", Interval: 6 * time.Hour, Jitter: time.Minute, TokenSeries: "none"}
				if c.Serve != want {
					t.Errorf("serve settings %+v, want %+v", c.Serve, want)
				}
			},
		},
		{
			name: "flags over environment",
			env:  map[string]string{"TOKENAUDIT_SERVE_LISTEN": ":9100", "TOKENAUDIT_SERVE_INTERVAL": "2h", "TOKENAUDIT_MODE": "self"},
			args: []string{"--listen", "127.0.0.1:9200", "--interval", "30m", "--jitter", "10s", "--token-series", "all", "--mode", "instance", "--group", "g"},
			check: func(t *testing.T, c Config) {
				want := ServeConfig{Listen: "127.0.0.1:9200", Interval: 30 * time.Minute, Jitter: 10 * time.Second, TokenSeries: "all"}
				if c.Serve != want || c.Mode != "instance" || len(c.Groups) != 1 {
					t.Errorf("serve %+v mode %q groups %v, want %+v instance [g]", c.Serve, c.Mode, c.Groups, want)
				}
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			configEnv(t, tt.env, tt.file)
			got, res := parseServe(t, tt.args...)
			if res.code != ExitOK || got == nil {
				t.Fatalf("exit %d, stderr:\n%s", res.code, res.stderr)
			}
			tt.check(t, got.cfg)
		})
	}
}

// TestServeBadSettings: an impossible serve setting stops with exit 2 and
// one line naming the key; audit's report flags are not serve's.
func TestServeBadSettings(t *testing.T) {
	for _, tt := range []struct {
		name string
		file string
		env  map[string]string
		args []string
		want []string
	}{
		{name: "token_series", args: []string{"--token-series", "some"},
			want: []string{"serve.token_series", `"some"`, "all, findings, none"}},
		{name: "interval", file: "serve:\n  interval: 0s\n",
			want: []string{"serve.interval", "1s or more"}},
		{name: "jitter", env: map[string]string{"TOKENAUDIT_SERVE_JITTER": "-1m"},
			want: []string{"serve.jitter", "-1m0s"}},
		{name: "listen", args: []string{"--listen", "9917"},
			want: []string{"serve.listen", `"9917"`, "HOST:PORT"}},
		{name: "listen port", args: []string{"--listen", "127.0.0.1:99999"},
			want: []string{"serve.listen", `"99999"`, "0 to 65535"}},
		{name: "unknown key", file: "serve:\n  intervall: 1h\n",
			want: []string{"line 2", `unknown key "serve.intervall"`, "serve.interval"}},
		{name: "a report flag", args: []string{"--fail-on", "high"},
			want: []string{"unknown flag: --fail-on"}},
		{name: "no token", env: map[string]string{"GITLAB_TOKEN": ""},
			want: []string{"no token"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			configEnv(t, tt.env, tt.file)
			res := run(t, append([]string{"serve", "--gitlab-url", "http://127.0.0.1:1"}, tt.args...)...)
			if res.code != ExitCannotRun {
				t.Fatalf("exit %d, want 2; stderr:\n%s", res.code, res.stderr)
			}
			line := strings.TrimSpace(res.stderr)
			if strings.Contains(line, "\n") {
				t.Errorf("error is not one line:\n%s", res.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(line, w) {
					t.Errorf("error %q does not contain %q", line, w)
				}
			}
		})
	}
}

// TestServeListenInUse: an address that is taken stops serve at once with
// exit 2 and the key to change.
func TestServeListenInUse(t *testing.T) {
	cleanEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	t.Setenv("GITLAB_TOKEN", adminValue)
	srv := serve(t, cleanWorld(), gitlabsim.Options{})
	res := run(t, "serve", "--gitlab-url", srv.URL(), "--listen", ln.Addr().String())
	if res.code != ExitCannotRun || !strings.Contains(res.stderr, "serve.listen "+ln.Addr().String()) || !strings.Contains(res.stderr, "--listen") {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 2 naming serve.listen and --listen", res.code, res.stderr)
	}
}

// runningServe is one in-process `tokenaudit serve`.
type runningServe struct {
	cancel  context.CancelFunc
	done    chan int
	errOut  syncBuffer
	addr    string             // where it listens
	audited chan *audit.Result // each good audit
}

var servingLine = regexp.MustCompile(`serving metrics of \S+ on http://(\S+)/metrics`)

// startServe runs `tokenaudit serve args...` in-process and waits until it
// listens. The end of the test stops it.
func startServe(t *testing.T, args ...string) *runningServe {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	rs := &runningServe{cancel: cancel, done: make(chan int, 1), audited: make(chan *audit.Result, 100)}
	s := &Streams{In: strings.NewReader(""), Out: io.Discard, ErrOut: &rs.errOut}
	go func() {
		own := *s
		root := serveRoot(&own, serveHooks{audited: func(r *audit.Result) { rs.audited <- r }})
		root.SetArgs(append([]string{"serve"}, args...))
		root.SetOut(io.Discard)
		root.SetErr(&rs.errOut)
		code := ExitOK
		if err := root.ExecuteContext(ctx); err != nil {
			code = ExitCannotRun
			fmt.Fprintf(&rs.errOut, "tokenaudit: %v\n", err)
		}
		rs.done <- code
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-rs.done:
		case <-time.After(time.Minute):
			t.Error("serve did not stop when its context was cancelled")
		}
	})
	deadline := time.Now().Add(time.Minute)
	for {
		if m := servingLine.FindStringSubmatch(rs.errOut.String()); m != nil {
			rs.addr = m[1]
			return rs
		}
		select {
		case code := <-rs.done:
			t.Fatalf("serve exited %d before it listened; stderr:\n%s", code, rs.errOut.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve does not say where it listens; stderr:\n%s", rs.errOut.String())
		}
	}
}

// nextAudit waits for the next good audit.
func (rs *runningServe) nextAudit(t *testing.T) *audit.Result {
	t.Helper()
	select {
	case r := <-rs.audited:
		return r
	case <-time.After(time.Minute):
		t.Fatalf("no good audit within a minute; stderr:\n%s", rs.errOut.String())
		return nil
	}
}

// get fetches path from the server: status and body.
func (rs *runningServe) get(t *testing.T, path string) (int, string) {
	t.Helper()
	return httpGet(t, "http://"+rs.addr+path)
}

func httpGet(t *testing.T, u string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return resp.StatusCode, string(body)
}

// scrape fetches /metrics and parses it: family name to samples, each
// sample its labels and value.
func (rs *runningServe) scrape(t *testing.T) map[string][]sample {
	t.Helper()
	code, body := rs.get(t, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: status %d: %s", code, body)
	}
	return parseMetrics(t, body)
}

type sample struct {
	labels map[string]string
	value  float64
}

func parseMetrics(t *testing.T, body string) map[string][]sample {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics is not the exposition format: %v", err)
	}
	out := map[string][]sample{}
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			s := sample{labels: map[string]string{}}
			for _, l := range m.GetLabel() {
				s.labels[l.GetName()] = l.GetValue()
			}
			switch {
			case m.Gauge != nil:
				s.value = m.GetGauge().GetValue()
			case m.Counter != nil:
				s.value = m.GetCounter().GetValue()
			case m.Untyped != nil:
				s.value = m.GetUntyped().GetValue()
			}
			out[name] = append(out[name], s)
		}
	}
	return out
}

// one is the value of the single sample of name with the labels given
// (name=value pairs); the test fails when there is not exactly one.
func one(t *testing.T, m map[string][]sample, name string, labels ...string) float64 {
	t.Helper()
	var found []float64
	for _, s := range m[name] {
		ok := true
		for i := 0; i+1 < len(labels); i += 2 {
			if s.labels[labels[i]] != labels[i+1] {
				ok = false
			}
		}
		if ok {
			found = append(found, s.value)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s%v: %d samples, want 1", name, labels, len(found))
	}
	return found[0]
}

// countSeverity counts the tokens of r at sev.
func countSeverity(r *audit.Result, sev audit.Severity) int {
	n := 0
	for _, tr := range r.Tokens {
		if tr.Severity == sev {
			n++
		}
	}
	return n
}

// worldValues lists every token value of w, for leak checks.
func worldValues(w *gitlabsim.World) []string {
	var vals []string
	for _, tok := range w.Tokens {
		vals = append(vals, tok.Value)
	}
	return vals
}

// TestServeMetrics audits a simulated GitLab and checks what /metrics,
// /healthz and /readyz say against the audit's own result.
func TestServeMetrics(t *testing.T) {
	cleanEnv(t)
	w := riskyWorld()
	srv := serve(t, w, gitlabsim.Options{Faults: gitlabsim.Faults{Latency: 100 * time.Millisecond}})
	t.Setenv("GITLAB_TOKEN", adminValue)
	rs := startServe(t, "--gitlab-url", srv.URL(), "--listen", "127.0.0.1:0", "--token-series", "all", "--log-level", "info")

	if code, body := rs.get(t, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz before the first audit: %d %s, want 200", code, body)
	}
	if code, body := rs.get(t, "/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz before the first audit: %d %s, want 503", code, body)
	}
	r := rs.nextAudit(t)
	if code, body := rs.get(t, "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz after a good audit: %d %s, want 200", code, body)
	}
	code, body := rs.get(t, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	m := parseMetrics(t, body)

	if got := len(m["tokenaudit_token_severity"]); got != len(r.Tokens) {
		t.Errorf("%d tokenaudit_token_severity series, want one per token (%d)", got, len(r.Tokens))
	}
	for _, sev := range []audit.Severity{audit.SeverityCritical, audit.SeverityHigh, audit.SeverityNone} {
		n := 0
		for _, s := range m["tokenaudit_token_severity"] {
			if s.labels["severity"] == sev.String() {
				n++
			}
		}
		if want := countSeverity(r, sev); n != want {
			t.Errorf("%d tokens of severity %s in /metrics, %d in the audit", n, sev, want)
		}
	}
	if countSeverity(r, audit.SeverityCritical) == 0 {
		t.Error("the risky world has no critical token; the check above proves nothing")
	}
	// The never-expiring api token: its score, no expiry series, its use.
	if v := one(t, m, "tokenaudit_token_risk_score", "kind", "personal", "id", "11", "name", "forever", "owner", "alice", "resource", "instance"); v == 0 {
		t.Error("risk score of the never-expiring api token is 0")
	}
	for _, s := range m["tokenaudit_token_expiry_timestamp_seconds"] {
		if s.labels["id"] == "11" || s.labels["id"] == "12" || s.labels["id"] == "13" {
			t.Errorf("token %s (never expires, revoked or expired) has an expiry series", s.labels["id"])
		}
	}
	exp := one(t, m, "tokenaudit_token_expiry_timestamp_seconds", "id", "10")
	if want := float64(w.Tokens[0].ExpiresAt.Unix()); exp != want {
		t.Errorf("expiry of token 10 %v, want %v", exp, want)
	}
	if v := one(t, m, "tokenaudit_audit_success"); v != 1 {
		t.Errorf("tokenaudit_audit_success %v, want 1", v)
	}
	if v := one(t, m, "tokenaudit_audit_requests"); v != float64(r.Inventory.Stats.Requests) || v == 0 {
		t.Errorf("tokenaudit_audit_requests %v, want the audit's %d", v, r.Inventory.Stats.Requests)
	}
	if v := one(t, m, "tokenaudit_gitlab_requests_total"); v < float64(r.Inventory.Stats.Requests) {
		t.Errorf("tokenaudit_gitlab_requests_total %v, below the audit's %d", v, r.Inventory.Stats.Requests)
	}
	if v := one(t, m, "tokenaudit_audit_complete"); v != 1 {
		t.Errorf("tokenaudit_audit_complete %v, want 1", v)
	}
	if v := one(t, m, "tokenaudit_audit_duration_seconds"); v < 0.1 {
		t.Errorf("tokenaudit_audit_duration_seconds %v; the simulator's latency alone makes it 0.1 or more", v)
	}
	if v := one(t, m, "tokenaudit_audit_last_success_timestamp_seconds"); time.Since(time.Unix(int64(v), 0)) > time.Minute {
		t.Errorf("tokenaudit_audit_last_success_timestamp_seconds %v is not just now", v)
	}
	findings := 0.0
	for _, s := range m["tokenaudit_findings"] {
		if s.labels["severity"] == "critical" {
			findings += s.value
		}
	}
	if want := float64(r.Summary.Findings[audit.SeverityCritical]); findings != want {
		t.Errorf("%v critical findings in /metrics, %v in the audit", findings, want)
	}
	if len(m["go_goroutines"]) == 0 || len(m["process_start_time_seconds"]) == 0 {
		t.Error("the Go and process collectors are missing")
	}
	for _, v := range worldValues(w) {
		if strings.Contains(body, v) || strings.Contains(rs.errOut.String(), v) {
			t.Errorf("a token value shows in /metrics or the log")
		}
	}
	if !strings.Contains(rs.errOut.String(), "audit finished") {
		t.Errorf("the info log does not say the audit finished:\n%s", rs.errOut.String())
	}
}

// TestServeFailedAuditKeepsLastGood: when GitLab starts refusing the token
// (revoked while serve runs), the next audit fails; the metrics keep the
// last good audit's tokens, count the failure by reason and say why, and
// so does the log.
func TestServeFailedAuditKeepsLastGood(t *testing.T) {
	cleanEnv(t)
	srv := serve(t, riskyWorld(), gitlabsim.Options{})
	target, err := url.Parse(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	var revoked atomic.Bool
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if revoked.Load() {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"message":"401 Unauthorized"}`)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	t.Setenv("GITLAB_TOKEN", adminValue)
	rs := startServe(t, "--gitlab-url", front.URL, "--listen", "127.0.0.1:0", "--interval", "1s", "--jitter", "0s", "--token-series", "all")
	r := rs.nextAudit(t)
	revoked.Store(true)

	deadline := time.Now().Add(time.Minute)
	var m map[string][]sample
	for {
		m = rs.scrape(t)
		if s := m["tokenaudit_audit_success"]; len(s) == 1 && s[0].value == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no failed audit within a minute of the token's revocation; stderr:\n%s", rs.errOut.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := len(m["tokenaudit_token_severity"]); got != len(r.Tokens) {
		t.Errorf("%d token series after a failed audit, want the last good audit's %d", got, len(r.Tokens))
	}
	if f := m["tokenaudit_audit_failing"]; len(f) != 1 || f[0].labels["reason"] != "unauthorized" || f[0].value != 1 {
		t.Errorf("tokenaudit_audit_failing %v, want one series, reason unauthorized, 1; stderr:\n%s", f, rs.errOut.String())
	}
	if v := one(t, m, "tokenaudit_audit_failures_total", "reason", "unauthorized"); v < 1 {
		t.Errorf("tokenaudit_audit_failures_total{reason=unauthorized} %v, want 1 or more", v)
	}
	if v := one(t, m, "tokenaudit_audits_total"); v < 2 {
		t.Errorf("tokenaudit_audits_total %v, want 2 or more", v)
	}
	if v := one(t, m, "tokenaudit_audit_last_success_timestamp_seconds"); v >= one(t, m, "tokenaudit_audit_last_failure_timestamp_seconds") {
		t.Errorf("last success %v is not before the last failure", v)
	}
	if code, _ := rs.get(t, "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz %d after a failure that followed a good audit, want 200: the last good audit is served", code)
	}
	log := rs.errOut.String()
	if !strings.Contains(log, "audit failed") || !strings.Contains(log, "reason=unauthorized") {
		t.Errorf("the log does not say the audit failed and why:\n%s", log)
	}
	if strings.Contains(log, adminValue) {
		t.Error("the log shows the token")
	}
}

// TestFailureReasons: what stops a collection maps to the reason label.
func TestFailureReasons(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("get current user: %w", collect.ErrUnauthorized), "unauthorized"},
		{fmt.Errorf("settings: %w", collect.ErrNotServedAsAdmin), "unauthorized"},
		{fmt.Errorf("group: %w", collect.ErrGroupNotFound), "config"},
		{&url.Error{Op: "Get", URL: "https://gitlab.example.com/api/v4/user", Err: x509.UnknownAuthorityError{}}, "tls"},
		{&url.Error{Op: "Get", URL: "https://gitlab.example.com/api/v4/user", Err: x509.HostnameError{Host: "x"}}, "tls"},
		{&url.Error{Op: "Get", URL: "https://gitlab.example.com/api/v4/user", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}, "unreachable"},
		{&url.Error{Op: "Get", URL: "https://gitlab.example.com/api/v4/user", Err: &net.DNSError{Err: "no such host", Name: "gitlab.example.com", IsNotFound: true}}, "unreachable"},
		{fmt.Errorf("get: %w", context.DeadlineExceeded), "timeout"},
		{errors.New("500 Internal Server Error"), "other"},
	} {
		if got := collectFailureReason(tt.err); got != tt.want {
			t.Errorf("collectFailureReason(%v) = %q, want %q", tt.err, got, tt.want)
		}
		if got := failureReason(&auditFailure{reason: collectFailureReason(tt.err), err: tt.err}); got != tt.want {
			t.Errorf("failureReason of an auditFailure of %v = %q, want %q", tt.err, got, tt.want)
		}
	}
	if got := failureReason(errors.New("plain")); got != "other" {
		t.Errorf("failureReason of a plain error = %q, want other", got)
	}
}

// TestServeTokenRefused: a token GitLab refuses fails every audit with
// reason unauthorized; serve keeps running, never ready, and says so.
func TestServeTokenRefused(t *testing.T) {
	cleanEnv(t)
	srv := serve(t, cleanWorld(), gitlabsim.Options{})
	t.Setenv("GITLAB_TOKEN", "glpat-unknown000000000000000")
	rs := startServe(t, "--gitlab-url", srv.URL(), "--listen", "127.0.0.1:0")
	deadline := time.Now().Add(time.Minute)
	for {
		m := rs.scrape(t)
		if len(m["tokenaudit_audit_failing"]) == 1 {
			if v := one(t, m, "tokenaudit_audit_failing", "reason", "unauthorized"); v != 1 {
				t.Errorf("tokenaudit_audit_failing{reason=unauthorized} %v, want 1", v)
			}
			if n := len(m["tokenaudit_token_severity"]); n != 0 {
				t.Errorf("%d token series without a good audit, want none", n)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no failed audit within a minute; stderr:\n%s", rs.errOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, _ := rs.get(t, "/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz %d without a good audit, want 503", code)
	}
	if log := rs.errOut.String(); !strings.Contains(log, "reason=unauthorized") || !strings.Contains(log, "GitLab refused the token") || strings.Contains(log, "glpat-unknown") {
		t.Errorf("the log should give the reason and the advice, without the token:\n%s", log)
	}
}

// TestServeSIGTERM sends SIGTERM to a real tokenaudit serve, once while
// it waits between audits and once in the middle of an audit: it must
// shut its server down, stop the audit, exit 0 and free its port.
func TestServeSIGTERM(t *testing.T) {
	for _, tt := range []struct {
		name    string
		latency time.Duration
		during  bool // signal while the first audit runs
	}{
		{name: "between audits"},
		{name: "during an audit", latency: 300 * time.Millisecond, during: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := cleanEnv(t)
			w, err := gitlabsim.Generate("small", 1)
			if err != nil {
				t.Fatal(err)
			}
			srv := serve(t, w, gitlabsim.Options{Faults: gitlabsim.Faults{Latency: tt.latency}})
			// gitlabsim.Listen sets the server's base URL after it starts
			// serving; taking the simulator's lock here orders that before
			// the child's first request for the race detector.
			_ = srv.TotalRequests()
			args, _ := json.Marshal([]string{"serve", "--gitlab-url", srv.URL(), "--listen", "127.0.0.1:0", "--log-level", "info"})
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), mainArgsEnv+"="+string(args), "GITLAB_TOKEN="+w.AdminToken())
			var stderr syncBuffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			stopped := false
			t.Cleanup(func() {
				if !stopped {
					_ = cmd.Process.Kill()
					<-done
				}
			})

			var addr string
			deadline := time.Now().Add(time.Minute)
			for time.Now().Before(deadline) {
				if m := servingLine.FindStringSubmatch(stderr.String()); m != nil {
					addr = m[1]
					if tt.during && srv.TotalRequests() >= 3 {
						break
					}
					if !tt.during && strings.Contains(stderr.String(), "audit finished") {
						break
					}
				}
				time.Sleep(10 * time.Millisecond)
			}
			if addr == "" {
				t.Fatalf("serve did not start; stderr:\n%s", stderr.String())
			}
			if tt.during && strings.Contains(stderr.String(), "audit finished") {
				t.Fatal("the audit finished before the signal; the test needs a slower simulator")
			}
			sent := time.Now()
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			select {
			case err = <-done:
				stopped = true
			case <-time.After(time.Minute): // a hang detector, not a speed check
				t.Fatalf("serve did not stop after SIGTERM; stderr:\n%s", stderr.String())
			}
			t.Logf("stopped %s after SIGTERM", time.Since(sent).Round(time.Millisecond))
			if err != nil {
				t.Errorf("exit %v after SIGTERM, want 0; stderr:\n%s", err, stderr.String())
			}
			if !strings.Contains(stderr.String(), "serve stopped") {
				t.Errorf("stderr does not say serve stopped:\n%s", stderr.String())
			}
			if strings.Contains(stderr.String(), "audit failed") {
				t.Errorf("a shutdown counted as a failed audit:\n%s", stderr.String())
			}
			if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				c.Close()
				t.Errorf("%s still accepts connections after serve stopped", addr)
			}
			if strings.Contains(stderr.String(), w.AdminToken()) {
				t.Error("stderr shows the token")
			}
		})
	}
}

// needTool finds a Prometheus program on PATH. Without it the test skips
// with one line, unless scripts/test (TOKENAUDIT_REQUIRE_PROMETHEUS=1)
// runs it, where it must run.
func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("TOKENAUDIT_REQUIRE_PROMETHEUS") == "1" {
		t.Fatalf("%s is not on PATH; scripts/test installs Debian's prometheus package, which has it", name)
	}
	t.Skipf("%s not on PATH; scripts/test installs Debian's prometheus package and runs this test", name)
	return ""
}

// examplesDir is examples/prometheus. Tests move into temporary
// directories, so it is found from this file; a rule file Prometheus does
// not find is an empty glob to it, not an error.
func examplesDir(t *testing.T) string {
	t.Helper()
	_, self, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(self), "../../../../examples/prometheus")
	if _, err := os.Stat(filepath.Join(dir, "alerts.yml")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestPrometheusExamples checks the example scrape config and alert rules
// with promtool, and runs the rules' unit tests (alerts_test.yml: input
// series and the alerts they must raise).
func TestPrometheusExamples(t *testing.T) {
	promtool := needTool(t, "promtool")
	dir := examplesDir(t)
	for _, args := range [][]string{
		{"check", "config", "prometheus.yml"}, // and the rule files it names
		{"check", "rules", "alerts.yml"},
		{"test", "rules", "alerts_test.yml"},
	} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// freePort returns a loopback address nothing listens on at the moment.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// promAPI reads a Prometheus HTTP API answer's data into v.
func promAPI(base, path string, q url.Values, v any) error {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(base + path + "?" + q.Encode())
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var env struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
		Error  string          `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if env.Status != "success" {
		return fmt.Errorf("%s: %s", path, env.Error)
	}
	return json.Unmarshal(env.Data, v)
}

// TestServeWithPrometheus runs Debian's Prometheus against tokenaudit
// serve, which audits a simulated GitLab: Prometheus must scrape it, its
// PromQL must count as many critical tokens as the audit found, and the
// example alert rules, loaded by Prometheus, must fire for them.
func TestServeWithPrometheus(t *testing.T) {
	prometheusBin := needTool(t, "prometheus")
	cleanEnv(t)
	w, err := gitlabsim.Generate("small", 1)
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, w, gitlabsim.Options{})
	t.Setenv("GITLAB_TOKEN", w.AdminToken())
	rs := startServe(t, "--gitlab-url", srv.URL(), "--listen", "127.0.0.1:0")
	r := rs.nextAudit(t)
	critical := countSeverity(r, audit.SeverityCritical)
	if critical == 0 {
		t.Fatal("the small preset has no critical token; the query below would prove nothing")
	}

	dir := t.TempDir()
	data := t.TempDir()
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - %q
scrape_configs:
  - job_name: tokenaudit
    static_configs:
      - targets: [%q]
`, filepath.Join(examplesDir(t), "alerts.yml"), rs.addr)
	writeFile(t, filepath.Join(dir, "prometheus.yml"), config, 0o600)
	addr := freePort(t)
	var promOut syncBuffer
	cmd := exec.Command(prometheusBin,
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+data,
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = &promOut, &promOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { // before the TempDirs' own cleanups: registered after them
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	base := "http://" + addr

	deadline := time.Now().Add(60 * time.Second)
	poll := func(what string, f func() (bool, error)) {
		t.Helper()
		var last error
		for {
			ok, err := f()
			if ok {
				return
			}
			last = err
			select {
			case err := <-exited:
				t.Fatalf("prometheus exited (%v) while waiting for %s; its output:\n%s", err, what, promOut.String())
			case <-time.After(250 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 60s (last: %v); prometheus said:\n%s", what, last, promOut.String())
			}
		}
	}

	poll("the target up and scraped", func() (bool, error) {
		var targets struct {
			ActiveTargets []struct {
				Health     string    `json:"health"`
				LastScrape time.Time `json:"lastScrape"`
				LastError  string    `json:"lastError"`
				ScrapeURL  string    `json:"scrapeUrl"`
			} `json:"activeTargets"`
		}
		if err := promAPI(base, "/api/v1/targets", nil, &targets); err != nil {
			return false, err
		}
		for _, tg := range targets.ActiveTargets {
			if tg.ScrapeURL == "http://"+rs.addr+"/metrics" && tg.Health == "up" && !tg.LastScrape.IsZero() {
				return true, nil
			}
			if tg.LastError != "" {
				return false, errors.New(tg.LastError)
			}
		}
		return false, fmt.Errorf("targets: %+v", targets.ActiveTargets)
	})

	query := func(q string) (float64, bool, error) {
		var res struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		}
		if err := promAPI(base, "/api/v1/query", url.Values{"query": {q}}, &res); err != nil {
			return 0, false, err
		}
		if len(res.Result) != 1 {
			return 0, false, fmt.Errorf("%s: %d results", q, len(res.Result))
		}
		var v float64
		_, err := fmt.Sscan(res.Result[0].Value[1].(string), &v)
		return v, err == nil, err
	}
	for q, want := range map[string]float64{
		`count(tokenaudit_token_severity{severity="critical"})`: float64(critical),
		`sum(tokenaudit_tokens{severity="critical"})`:           float64(critical),
		`sum(tokenaudit_tokens)`:                                float64(len(r.Tokens)),
		`tokenaudit_audit_success`:                              1,
		`up{job="tokenaudit"}`:                                  1,
	} {
		poll(q, func() (bool, error) {
			v, ok, err := query(q)
			if !ok {
				return false, err
			}
			if v != want {
				t.Fatalf("%s = %v, want %v (from the audit's result)", q, v, want)
			}
			return true, nil
		})
	}

	deadline = time.Now().Add(60 * time.Second) // rules are evaluated on their own clock
	poll("GitLabTokenCriticalFinding firing", func() (bool, error) {
		var alerts struct {
			Alerts []struct {
				Labels map[string]string `json:"labels"`
				State  string            `json:"state"`
			} `json:"alerts"`
		}
		if err := promAPI(base, "/api/v1/alerts", nil, &alerts); err != nil {
			return false, err
		}
		for _, a := range alerts.Alerts {
			if a.Labels["alertname"] == "GitLabTokenCriticalFinding" && a.State == "firing" {
				return true, nil
			}
		}
		return false, fmt.Errorf("alerts: %+v", alerts.Alerts)
	})
	if bytes.Contains([]byte(promOut.String()), []byte(w.AdminToken())) {
		t.Error("prometheus's output shows the token")
	}
}

// TestServeFilters: the filter settings narrow the exported tokens as they
// narrow audit's reports.
func TestServeFilters(t *testing.T) {
	cleanEnv(t)
	w := riskyWorld()
	srv := serve(t, w, gitlabsim.Options{})
	t.Setenv("GITLAB_TOKEN", adminValue)
	t.Setenv("TOKENAUDIT_FILTER_MIN_SEVERITY", "critical")
	rs := startServe(t, "--gitlab-url", srv.URL(), "--listen", "127.0.0.1:0", "--token-series", "all")
	r := rs.nextAudit(t)
	if r.Applied == nil {
		t.Error("the audit says no filter was applied")
	}
	series := rs.scrape(t)["tokenaudit_token_severity"]
	if len(series) == 0 || len(series) != len(r.Tokens) {
		t.Fatalf("%d token series, %d tokens after the filter", len(series), len(r.Tokens))
	}
	for _, s := range series {
		if s.labels["severity"] != "critical" {
			t.Errorf("series of a %s token with filter.min_severity critical: %v", s.labels["severity"], s.labels)
		}
	}
	if len(r.Inventory.Tokens) <= len(r.Tokens) {
		t.Errorf("%d tokens collected, %d kept: the filter dropped nothing, the test checks nothing", len(r.Inventory.Tokens), len(r.Tokens))
	}
}
