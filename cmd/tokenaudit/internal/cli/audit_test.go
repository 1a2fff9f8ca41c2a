package cli

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
	"github.com/tokenaudit/tokenaudit/internal/secrettest"
)

// TestExitCodes runs the whole command against simulated GitLabs, one case
// per exit code of the README's contract.
func TestExitCodes(t *testing.T) {
	// A 5xx on /version that outlives the retries makes a gap of kind error.
	failVersion := gitlabsim.Options{Faults: gitlabsim.Faults{ErrorRate: 1, Routes: []string{"GET /version"}}}
	tests := []struct {
		name       string
		world      func() *gitlabsim.World
		opts       gitlabsim.Options
		file       string
		args       []string
		want       int
		wantStderr string
	}{
		{name: "clean", world: cleanWorld, want: ExitOK},
		{name: "risky", world: riskyWorld, want: ExitFindings, wantStderr: "at or above high"},
		{name: "risky, fail on none", world: riskyWorld, args: []string{"--fail-on", "none"}, want: ExitOK},
		{name: "risky, fail on critical", world: riskyWorld, args: []string{"--fail-on", "critical"}, want: ExitFindings, wantStderr: "at or above critical"},
		{
			name: "risky, findings suppressed by an exception", world: riskyWorld, want: ExitOK,
			file: "policy:\n  exceptions:\n    - {rule: '*', kind: personal, id: 11, reason: test, expires: '2999-01-01'}\n",
		},
		{name: "bad flag", world: cleanWorld, args: []string{"--fail-on", "sometimes"}, want: ExitCannotRun, wantStderr: "fail_on"},
		{name: "5xx after retries: incomplete", world: cleanWorld, opts: failVersion, args: []string{"--retries", "1"}, want: ExitIncomplete, wantStderr: "incomplete"},
		{name: "5xx and findings: findings win", world: riskyWorld, opts: failVersion, args: []string{"--retries", "0"}, want: ExitFindings},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := cleanEnv(t)
			srv := serve(t, tt.world(), tt.opts)
			t.Setenv("GITLAB_TOKEN", adminValue)
			if tt.file != "" {
				writeFile(t, filepath.Join(dir, "tokenaudit.yaml"), tt.file, 0o600)
			}
			res := run(t, append([]string{"audit", "--gitlab-url", srv.URL()}, tt.args...)...)
			if res.code != tt.want {
				t.Fatalf("exit %d, want %d; stderr:\n%s", res.code, tt.want, res.stderr)
			}
			if !strings.Contains(res.stderr, tt.wantStderr) {
				t.Errorf("stderr does not contain %q:\n%s", tt.wantStderr, res.stderr)
			}
			if tt.want != ExitCannotRun && !strings.Contains(res.stdout, "Summary") {
				t.Errorf("no report on stdout:\n%s", res.stdout)
			}
		})
	}
}

// TestPermissionGapsDoNotFail audits a group as its Maintainer, who meets
// refusals (gaps of kind permission) and no finding at or above high: the
// run must pass.
func TestPermissionGapsDoNotFail(t *testing.T) {
	cleanEnv(t)
	srv := serve(t, maintainerWorld(), gitlabsim.Options{})
	t.Setenv("GITLAB_TOKEN", maintainerValue)
	res := run(t, "audit", "--gitlab-url", srv.URL(), "--group", "acme", "--format", "json")
	var rep struct {
		Gaps []struct{ Kind string } `json:"gaps"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
		t.Fatalf("stdout is no JSON report (%v); stderr:\n%s", err, res.stderr)
	}
	permission := 0
	for _, g := range rep.Gaps {
		switch g.Kind {
		case "permission":
			permission++
		case "unavailable":
			// What this GitLab lacks (the credentials inventory off
			// GitLab.com) never fails a run either.
		default:
			t.Fatalf("unexpected gap kind %q; stderr:\n%s", g.Kind, res.stderr)
		}
	}
	if permission == 0 {
		t.Fatal("the audit met no permission gap; the test proves nothing")
	}
	if res.code != ExitOK {
		t.Errorf("exit %d with %d permission gaps only, want 0; stderr:\n%s", res.code, permission, res.stderr)
	}
}

// TestRejectedToken checks that each way GitLab refuses a token exits 2
// with the reason in plain words and the fix, and never echoes the token.
func TestRejectedToken(t *testing.T) {
	tests := []struct {
		name  string
		token string
		want  []string
	}{
		{"unknown", "glpat-doesnotexist000000", []string{"does not know the token", "read_api"}},
		{"revoked", revokedValue, []string{"revoked", "read_api"}},
		{"expired", expiredValue, []string{"expired", "read_api"}},
		{"without read_api", noScopeValue, []string{"lacks the scope", "add the read_api scope"}},
		{"read_user only", userOnlyValue, []string{"lack of scope", "add the read_api scope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cleanEnv(t)
			srv := serve(t, riskyWorld(), gitlabsim.Options{})
			t.Setenv("GITLAB_TOKEN", tt.token)
			res := run(t, "audit", "--gitlab-url", srv.URL(), "--log-level", "debug")
			if res.code != ExitCannotRun {
				t.Fatalf("exit %d, want 2; stderr:\n%s", res.code, res.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(res.stderr, w) {
					t.Errorf("stderr does not contain %q:\n%s", w, res.stderr)
				}
			}
			if strings.Contains(res.stdout+res.stderr, tt.token) {
				t.Error("the token appears in the output")
			}
		})
	}
}

func TestUnreachableGitLab(t *testing.T) {
	cleanEnv(t)
	t.Setenv("GITLAB_TOKEN", "glpat-unused")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	tests := []struct {
		url  string
		args []string
		want string
	}{
		{url: "https://nothing-here.invalid", want: `host "nothing-here.invalid" does not resolve`},
		{url: closed, want: "does not answer"},
		{url: "http://gitlab.example.com", want: "plain http"},
		{url: "gitlab.example.com", want: "has no scheme"},
		{url: "ftp://gitlab.example.com", want: `scheme "ftp" is not allowed`},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			res := run(t, append([]string{"audit", "--gitlab-url", tt.url}, tt.args...)...)
			if res.code != ExitCannotRun || !strings.Contains(res.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", res.code, res.stderr, tt.want)
			}
		})
	}
}

// TestTLS serves the simulator over HTTPS with a certificate of its own CA.
func TestTLS(t *testing.T) {
	srv := gitlabsim.NewServer(cleanWorld(), gitlabsim.Options{})
	t.Cleanup(srv.Close)
	ts := httptest.NewUnstartedServer(srv.Handler())
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point
	ts.StartTLS()
	t.Cleanup(ts.Close)
	tests := []struct {
		name        string
		args        []string
		want        int
		wantStderr  string
		wantWarning bool
	}{
		{name: "unknown CA", want: ExitCannotRun, wantStderr: "set ca_file"},
		{name: "ca_file", args: []string{"--ca-file", "ca.pem"}, want: ExitOK},
		{name: "skip verify", args: []string{"--insecure-skip-verify"}, want: ExitOK, wantWarning: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := cleanEnv(t)
			t.Setenv("GITLAB_TOKEN", adminValue)
			pemData := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})
			writeFile(t, filepath.Join(dir, "ca.pem"), string(pemData), 0o644)
			res := run(t, append([]string{"audit", "--gitlab-url", ts.URL}, tt.args...)...)
			if res.code != tt.want {
				t.Fatalf("exit %d, want %d; stderr:\n%s", res.code, tt.want, res.stderr)
			}
			if !strings.Contains(res.stderr, tt.wantStderr) {
				t.Errorf("stderr does not contain %q:\n%s", tt.wantStderr, res.stderr)
			}
			if got := strings.Contains(res.stderr, "warning: TLS certificate verification is off"); got != tt.wantWarning {
				t.Errorf("warning printed: %v, want %v; stderr:\n%s", got, tt.wantWarning, res.stderr)
			}
		})
	}
}

// TestOutputFiles checks --output: complete reports, mode 0600, no
// temporary file left behind, the stdout format unaffected.
func TestOutputFiles(t *testing.T) {
	dir := cleanEnv(t)
	srv := serve(t, riskyWorld(), gitlabsim.Options{})
	t.Setenv("GITLAB_TOKEN", adminValue)
	if err := os.Mkdir(filepath.Join(dir, "reports"), 0o755); err != nil {
		t.Fatal(err)
	}
	// An older, world-readable report is replaced, not rewritten in place.
	writeFile(t, filepath.Join(dir, "reports", "audit.json"), "old", 0o644)
	res := run(t, "audit", "--gitlab-url", srv.URL(), "--format", "json", "--fail-on", "none",
		"--output", "json=reports/audit.json", "--output", "csv=audit.csv", "--output", "table="+filepath.Join(dir, "audit.txt"))
	if res.code != ExitOK {
		t.Fatalf("exit %d; stderr:\n%s", res.code, res.stderr)
	}
	var stdoutRep, fileRep struct {
		SchemaVersion int               `json:"schema_version"`
		Tokens        []json.RawMessage `json:"tokens"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &stdoutRep); err != nil {
		t.Fatalf("stdout is no JSON report: %v", err)
	}
	wantTokens := len(riskyWorld().Tokens)
	for _, f := range []string{"reports/audit.json", "audit.csv", "audit.txt"} {
		info, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has mode %04o, want 0600", f, perm)
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, "reports", "audit.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &fileRep); err != nil {
		t.Fatalf("audit.json is no complete JSON report: %v", err)
	}
	if fileRep.SchemaVersion != 1 || len(fileRep.Tokens) != wantTokens || len(stdoutRep.Tokens) != wantTokens {
		t.Errorf("schema_version %d, %d tokens in the file and %d on stdout; want 1, %d, %d",
			fileRep.SchemaVersion, len(fileRep.Tokens), len(stdoutRep.Tokens), wantTokens, wantTokens)
	}
	f, err := os.Open(filepath.Join(dir, "audit.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("audit.csv: %v", err)
	}
	if len(rows) != wantTokens+1 {
		t.Errorf("audit.csv has %d rows, want a header and %d tokens", len(rows), wantTokens)
	}
	txt, err := os.ReadFile(filepath.Join(dir, "audit.txt"))
	if err != nil || !strings.Contains(string(txt), "Summary") {
		t.Errorf("audit.txt is no table report (%v)", err)
	}
	for _, d := range []string{dir, filepath.Join(dir, "reports")} {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".tmp") {
				t.Errorf("temporary file %s left in %s", e.Name(), d)
			}
		}
	}
}

func TestOutputDirectoryMissing(t *testing.T) {
	cleanEnv(t)
	srv := serve(t, cleanWorld(), gitlabsim.Options{})
	t.Setenv("GITLAB_TOKEN", adminValue)
	res := run(t, "audit", "--gitlab-url", srv.URL(), "--output", "json=no/such/dir/a.json")
	if res.code != ExitCannotRun || !strings.Contains(res.stderr, "no/such/dir") {
		t.Errorf("exit %d, stderr %q; want 2 naming the path", res.code, res.stderr)
	}
	if n := srv.TotalRequests(); n != 0 {
		t.Errorf("%d requests made before refusing the output path, want none", n)
	}
}

// TestInterrupted cancels a run the way SIGINT does (Main's NotifyContext
// cancels the same context): it must stop, exit non-zero and write no report.
func TestInterrupted(t *testing.T) {
	dir := cleanEnv(t)
	w, err := gitlabsim.Generate("small", 1)
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, w, gitlabsim.Options{Faults: gitlabsim.Faults{Latency: 300 * time.Millisecond}})
	t.Setenv("GITLAB_TOKEN", w.AdminToken())
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// Cancel once the audit is under way.
		for srv.TotalRequests() < 2 {
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
	}()
	res := runCtx(t, ctx, "audit", "--gitlab-url", srv.URL(), "--output", "json=audit.json")
	if res.code == ExitOK || !strings.Contains(res.stderr, "interrupted") {
		t.Errorf("exit %d, stderr %q; want non-zero and interrupted", res.code, res.stderr)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		t.Errorf("file %s written by an interrupted run", e.Name())
	}
}

// TestWriteFileAtomicCancelled: a cancellation while writing leaves nothing.
func TestWriteFileAtomicCancelled(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	path := filepath.Join(dir, "r.json")
	err := writeFileAtomic(ctx, path, func(f *os.File) error {
		_, err := f.WriteString(`{"half":`)
		cancel()
		return err
	})
	if err == nil {
		t.Fatal("no error for a cancelled write")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("files left behind: %v", entries)
	}
}

// TestSecretsNeverWritten runs the whole tool at debug level against a
// generated instance and searches every byte it wrote (stdout, stderr,
// report files) for the token it ran with and every token value the
// simulator holds.
func TestSecretsNeverWritten(t *testing.T) {
	dir := cleanEnv(t)
	w, err := gitlabsim.Generate("small", 3)
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, w, gitlabsim.Options{})
	secrets := secrettest.WorldSecrets(w)
	owner, group := w.GroupOwnerToken()
	runs := [][]string{
		{"GITLAB_TOKEN=" + w.AdminToken(), "audit", "--output", "json=a.json", "--output", "csv=a.csv"},
		{"GITLAB_TOKEN=" + owner, "audit", "--group", group, "--output", "json=b.json", "--output", "csv=b.csv", "--format", "csv"},
		{"GITLAB_TOKEN=" + w.AdminToken(), "audit", "--mode", "self", "--format", "json"},
		{"GITLAB_TOKEN=" + riskyValue, "audit"},
	}
	var written strings.Builder
	for _, r := range runs {
		t.Setenv("GITLAB_TOKEN", strings.TrimPrefix(r[0], "GITLAB_TOKEN="))
		res := run(t, append(r[1:], "--gitlab-url", srv.URL(), "--log-level", "debug", "--progress")...)
		written.WriteString(res.stdout)
		written.WriteString(res.stderr)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		written.Write(data)
	}
	out := written.String()
	if !strings.Contains(out, "level=DEBUG") {
		t.Fatal("no debug log was written; the scan proves little")
	}
	secrettest.Scan(t, "tokenaudit's output", []byte(out), append(secrets, riskyValue))
}

// TestColor: ANSI colour in the table only on a terminal, never with NO_COLOR.
func TestColor(t *testing.T) {
	for _, tt := range []struct {
		name    string
		tty     bool
		noColor string
		want    bool
	}{
		{"terminal", true, "", true},
		{"terminal with NO_COLOR", true, "1", false},
		{"pipe", false, "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cleanEnv(t)
			srv := serve(t, riskyWorld(), gitlabsim.Options{})
			t.Setenv("GITLAB_TOKEN", adminValue)
			t.Setenv("NO_COLOR", tt.noColor)
			var out, errOut syncBuffer
			code := Run(context.Background(), []string{"audit", "--gitlab-url", srv.URL(), "--fail-on", "none"},
				&Streams{Out: &out, ErrOut: &errOut, OutTTY: tt.tty, Width: 120})
			if code != ExitOK {
				t.Fatalf("exit %d; stderr:\n%s", code, errOut.String())
			}
			if got := strings.Contains(out.String(), "\x1b["); got != tt.want {
				t.Errorf("colour in the table: %v, want %v", got, tt.want)
			}
		})
	}
}

// TestProgress: progress on stderr on a terminal or with --progress, quiet
// otherwise; counts only.
func TestProgress(t *testing.T) {
	for _, tt := range []struct {
		name string
		tty  bool
		args []string
		want bool
	}{
		{"terminal", true, nil, true},
		{"pipe", false, nil, false},
		{"pipe with --progress", false, []string{"--progress"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cleanEnv(t)
			srv := serve(t, riskyWorld(), gitlabsim.Options{})
			t.Setenv("GITLAB_TOKEN", adminValue)
			var out, errOut syncBuffer
			args := append([]string{"audit", "--gitlab-url", srv.URL(), "--fail-on", "none"}, tt.args...)
			if code := Run(context.Background(), args, &Streams{Out: &out, ErrOut: &errOut, ErrTTY: tt.tty}); code != ExitOK {
				t.Fatalf("exit %d; stderr:\n%s", code, errOut.String())
			}
			re := regexp.MustCompile(`collecting: (?:\d+% · )?([\d,]+)/([\d,]+) resources done · [\d,]+ tokens found · [\d,]+ requests`)
			m := re.FindAllStringSubmatch(errOut.String(), -1)
			if got := len(m) > 0; got != tt.want {
				t.Fatalf("progress shown: %v, want %v; stderr:\n%q", got, tt.want, errOut.String())
			}
			if tt.want {
				last := m[len(m)-1]
				if last[1] != last[2] {
					t.Errorf("last progress line %q: not all planned resources done", last[0])
				}
			}
		})
	}
}

// TestSelfModeNote: a non-administrator without --group audits only their
// own tokens, and is told so, so that a green run is not mistaken for an
// audit of the instance.
func TestSelfModeNote(t *testing.T) {
	cleanEnv(t)
	srv := serve(t, maintainerWorld(), gitlabsim.Options{})
	t.Setenv("GITLAB_TOKEN", maintainerValue)
	res := run(t, "audit", "--gitlab-url", srv.URL())
	if res.code != ExitOK || !strings.Contains(res.stderr, "note: bob is no administrator and no group was named") {
		t.Errorf("exit %d, stderr %q; want 0 and a note about self mode", res.code, res.stderr)
	}
	res = run(t, "audit", "--gitlab-url", srv.URL(), "--mode", "self")
	if strings.Contains(res.stderr, "note:") {
		t.Errorf("a note although self mode was asked for: %q", res.stderr)
	}
}

// TestAuditGraphQLFlags: by default the audit batches through GitLab's
// GraphQL API; --graphql=false makes it ask GraphQL nothing; both report the
// same tokens and findings.
func TestAuditGraphQLFlags(t *testing.T) {
	cleanEnv(t)
	w, err := gitlabsim.Generate("small", 1)
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, w, gitlabsim.Options{})
	t.Setenv("GITLAB_TOKEN", w.AdminToken())
	var reports [2]map[string]any
	for i, args := range [][]string{nil, {"--graphql=false"}} {
		srv.ResetCounts()
		res := run(t, append([]string{"audit", "--gitlab-url", srv.URL(), "--format", "json", "--fail-on", "none"}, args...)...)
		if res.code != ExitOK {
			t.Fatalf("%v: exit %d; stderr:\n%s", args, res.code, res.stderr)
		}
		n := srv.Counts()["POST /api/graphql"]
		if (i == 0) != (n > 0) {
			t.Errorf("%v: %d GraphQL requests", args, n)
		}
		if err := json.Unmarshal([]byte(res.stdout), &reports[i]); err != nil {
			t.Fatal(err)
		}
		delete(reports[i], "generated_at")
		delete(reports[i]["summary"].(map[string]any), "requests")
		delete(reports[i]["summary"].(map[string]any), "duration_seconds")
	}
	if len(reports[0]["tokens"].([]any)) == 0 {
		t.Fatal("an empty report: the comparison checks nothing")
	}
	if diff := cmp.Diff(reports[0], reports[1]); diff != "" {
		t.Errorf("the reports differ (-GraphQL +REST):\n%s", diff)
	}
}
