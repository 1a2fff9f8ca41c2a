package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
	"github.com/tokenaudit/tokenaudit/internal/redact"
	"github.com/tokenaudit/tokenaudit/internal/secrettest"
)

// echoedLookalike is a made-up value shaped like a personal access token,
// which the hostile servers below send as if it were someone's token.
// unprefixedValue is the caller's token in worlds where it has no GitLab
// prefix (an instance with a custom prefix): only its value tells it.
const (
	echoedLookalike = "glpat-EchoedLookalike0000001"
	unprefixedValue = "acme-testadmin-000000000000001"
)

// hostile serves w's simulator, except for the paths in its answers. It
// counts the requests it serves.
type hostile struct {
	url      string
	requests atomic.Int64
}

// An answer serves one path in the simulator's place; sim is the
// simulator, for answers that change what it would say.
type answer func(rw http.ResponseWriter, r *http.Request, sim http.Handler)

func serveHostile(t *testing.T, w *gitlabsim.World, answers map[string]answer) *hostile {
	t.Helper()
	sim := serve(t, w, gitlabsim.Options{})
	h := &hostile{}
	ts := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		h.requests.Add(1)
		if answer, ok := answers[r.URL.Path]; ok {
			answer(rw, r, sim.Handler())
			return
		}
		sim.Handler().ServeHTTP(rw, r)
	}))
	t.Cleanup(ts.Close)
	h.url = ts.URL
	return h
}

// echo answers code with body, the request's token put in for {TOKEN}.
func echo(code int, body string) answer {
	return func(rw http.ResponseWriter, r *http.Request, _ http.Handler) {
		if strings.HasPrefix(body, "{") {
			rw.Header().Set("Content-Type", "application/json")
		} else {
			rw.Header().Set("Content-Type", "text/html")
		}
		rw.WriteHeader(code)
		fmt.Fprint(rw, strings.ReplaceAll(body, "{TOKEN}", r.Header.Get("PRIVATE-TOKEN")))
	}
}

// rewrite answers what the simulator would, with old replaced by new and
// the request's token put in for {TOKEN}: a GitLab that names things after
// the token it was sent.
func rewrite(old, new string) answer {
	return func(rw http.ResponseWriter, r *http.Request, sim http.Handler) {
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			rw.Header()[k] = v
		}
		rw.Header().Del("Content-Length")
		rw.WriteHeader(rec.Code)
		fmt.Fprint(rw, strings.ReplaceAll(rec.Body.String(), old, strings.ReplaceAll(new, "{TOKEN}", r.Header.Get("PRIVATE-TOKEN"))))
	}
}

// jsonMessage is GitLab's error body {"message": msg}, msg escaped as JSON.
func jsonMessage(msg string) string {
	b, _ := json.Marshal(map[string]string{"message": msg})
	return string(b)
}

// TestEchoedTokenNeverWritten: a GitLab that echoes the caller's token (and
// something shaped like a token) in its error bodies, on /user and on the
// lists, or names a user and a token after it, gets it into nothing
// tokenaudit writes: stdout, stderr, the debug log, the table, CSV and JSON
// reports, gaps[].reason included. The caller's token is tried with a
// GitLab prefix and without one, which only its value tells.
func TestEchoedTokenNeverWritten(t *testing.T) {
	html := "<html>\n<body><h1>500</h1>\n<p>request PRIVATE-TOKEN: {TOKEN} " + echoedLookalike + "</p>\n</body></html>"
	for _, tt := range []struct {
		name    string
		answers map[string]answer
		code    int
		reports bool // the run reaches the reports
		// marks is how many redactions the JSON report shows at least,
		// which proves the hostile answers were read.
		marks int
	}{
		{"500 html on /user", map[string]answer{
			"/api/v4/user": echo(500, html),
		}, ExitCannotRun, false, 0},
		{"500 json on /user", map[string]answer{
			"/api/v4/user": echo(500, jsonMessage("500 Internal Server Error: token {TOKEN} and "+echoedLookalike)),
		}, ExitCannotRun, false, 0},
		{"401 on /user", map[string]answer{
			"/api/v4/user": echo(401, `{"error":"invalid_token","error_description":"Token {TOKEN} is unknown; `+echoedLookalike+`"}`),
		}, ExitCannotRun, false, 0},
		{"403 and 502 on lists", map[string]answer{
			"/api/v4/deploy_tokens": echo(403, jsonMessage("403 Forbidden - not for {TOKEN} nor "+echoedLookalike)),
			"/api/v4/users":         echo(502, jsonMessage("502 Bad Gateway upstream said {TOKEN} "+echoedLookalike)),
			"/api/v4/groups":        echo(502, html),
		}, ExitIncomplete, true, 2},
		{"names", map[string]answer{
			"/api/v4/user":                   rewrite(`"username":"root"`, `"username":"root {TOKEN}"`),
			"/api/v4/personal_access_tokens": rewrite(`"name":"audit"`, `"name":"audit {TOKEN} `+echoedLookalike+`"`),
		}, ExitOK, true, 2},
	} {
		for label, token := range map[string]string{"unprefixed": unprefixedValue, "glpat": adminValue} {
			t.Run(tt.name+"/"+label, func(t *testing.T) {
				dir := cleanEnv(t)
				w := cleanWorld()
				w.Tokens[0].Value = token
				srv := serveHostile(t, w, tt.answers)
				t.Setenv("GITLAB_TOKEN", token)
				res := run(t, "audit", "--gitlab-url", srv.url, "--log-level", "debug", "--retries", "0", "--fail-on", "none",
					"--format", "json", "--output", "table=a.txt", "--output", "csv=a.csv")
				secrets := []string{token, echoedLookalike}
				if res.code != tt.code {
					t.Errorf("exit %d, want %d; stderr: %s", res.code, tt.code, redact.New(secrets...).String(res.stderr))
				}
				var written strings.Builder
				written.WriteString(res.stdout)
				written.WriteString(res.stderr)
				for _, name := range []string{"a.txt", "a.csv"} {
					data, err := os.ReadFile(filepath.Join(dir, name))
					if err != nil && tt.reports {
						t.Fatal(err)
					}
					written.Write(data)
				}
				if !strings.Contains(res.stderr, "level=DEBUG") {
					t.Error("no debug log was written; the scan proves little")
				}
				secrettest.Scan(t, "tokenaudit's output", []byte(written.String()), secrets)
				if !tt.reports {
					return
				}
				if !json.Valid([]byte(res.stdout)) {
					t.Fatal("stdout is no JSON report")
				}
				if n := strings.Count(res.stdout, redact.Mark); n < tt.marks {
					t.Errorf("the JSON report shows %s %d times, want at least %d: %s", redact.Mark, n, tt.marks, redact.New(secrets...).String(res.stdout))
				}
			})
		}
	}
}

// TestServerTextEscapedOnStderr: an escape sequence in GitLab's answer to
// /user reaches the terminal escaped, and an HTML error page as one short
// line, not whole.
func TestServerTextEscapedOnStderr(t *testing.T) {
	const seq = "\x1b]0;title\a\x1b[2J"
	page := "<!DOCTYPE html>\n<html>\n<head><title>We're sorry, something went wrong (500)</title></head>\n<body>\n" +
		strings.Repeat("<p>GitLab is not responding.</p>\n", 200) + "</body>\n</html>\n"
	for _, tt := range []struct {
		name   string
		answer answer
		want   string // in stderr
	}{
		{"400 json", echo(400, jsonMessage("bad "+seq)), `bad \x1b]0;title\a\x1b[2J`},
		{"400 text", echo(400, "bad "+seq), `bad \x1b]0;title\a\x1b[2J`},
		{"500 html", echo(500, page), "We're sorry"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cleanEnv(t)
			srv := serveHostile(t, cleanWorld(), map[string]answer{"/api/v4/user": tt.answer})
			t.Setenv("GITLAB_TOKEN", adminValue)
			res := run(t, "audit", "--gitlab-url", srv.url, "--retries", "0")
			stderr := redact.New(adminValue).String(res.stderr)
			if res.code != ExitCannotRun {
				t.Errorf("exit %d, want %d", res.code, ExitCannotRun)
			}
			if strings.ContainsAny(stderr, "\x1b\a\r") {
				t.Errorf("stderr holds control characters: %q", stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr %q lacks %q", stderr, tt.want)
			}
			if n := strings.Count(stderr, "\n"); n != 1 {
				t.Errorf("stderr is %d lines, want 1: %q", n, stderr)
			}
			if len(stderr) > 400 {
				t.Errorf("stderr is %d bytes, want GitLab's answer cut short: %q", len(stderr), stderr)
			}
		})
	}
}

// panicWriter panics on the first write, as a bug below the command would.
type panicWriter struct{ value string }

func (p panicWriter) Write([]byte) (int, error) { panic(p.value) }

// TestPanicIsOneLine: Main's run turns a panic in the audit into exit 2 and
// one line, redacted and escaped; Run, which tests use, lets it through.
func TestPanicIsOneLine(t *testing.T) {
	cleanEnv(t)
	w := cleanWorld()
	w.Tokens[0].Value = unprefixedValue
	srv := serve(t, w, gitlabsim.Options{})
	t.Setenv("GITLAB_TOKEN", unprefixedValue)
	args := []string{"audit", "--gitlab-url", srv.URL(), "--fail-on", "none"}
	value := "boom with " + unprefixedValue + "\n\x1b[2Jsecond line"

	var errOut syncBuffer
	code := runCommand(context.Background(), args, &Streams{Out: panicWriter{value}, ErrOut: &errOut}, true)
	stderr := errOut.String()
	if code != ExitCannotRun {
		t.Errorf("exit %d, want %d", code, ExitCannotRun)
	}
	secrettest.Scan(t, "stderr", []byte(stderr), []string{unprefixedValue})
	want := `tokenaudit: internal error: boom with ` + redact.Mark + ` \x1b[2Jsecond line; please report it` + "\n"
	if stderr != want {
		t.Errorf("stderr %q, want %q", redact.New(unprefixedValue).String(stderr), want)
	}

	defer func() {
		if recover() == nil {
			t.Error("Run recovered the panic; tests must see it")
		}
	}()
	Run(context.Background(), args, &Streams{Out: panicWriter{"boom"}, ErrOut: &syncBuffer{}})
}

// TestOutputToFIFO: a report to a named pipe goes into the pipe, which
// stays a pipe.
func TestOutputToFIFO(t *testing.T) {
	dir := cleanEnv(t)
	fifo := filepath.Join(dir, "report.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no FIFO here: %v", err)
	}
	// Read and write: opening never blocks (Linux), and the pipe has a
	// reader when tokenaudit opens it.
	r, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	_ = r.SetReadDeadline(time.Now().Add(2 * time.Minute))
	got := make(chan error, 1)
	var rep struct {
		SchemaVersion int `json:"schema_version"`
	}
	go func() { got <- json.NewDecoder(r).Decode(&rep) }()

	srv := serve(t, cleanWorld(), gitlabsim.Options{})
	t.Setenv("GITLAB_TOKEN", adminValue)
	res := run(t, "audit", "--gitlab-url", srv.URL(), "--fail-on", "none", "--output", "json="+fifo)
	if res.code != ExitOK {
		t.Errorf("exit %d, stderr %q", res.code, res.stderr)
	}
	if info, err := os.Lstat(fifo); err != nil || info.Mode().Type() != fs.ModeNamedPipe {
		r.Close() // nothing comes: let the reader go
		t.Fatalf("the FIFO was replaced: %v, %v", info.Mode(), err)
	}
	if err := <-got; err != nil || rep.SchemaVersion != 1 {
		t.Errorf("read from the FIFO: %v, schema_version %d; want the JSON report", err, rep.SchemaVersion)
	}
}

// TestOutputToDevNull: --output json=/dev/null, here through a symlink to
// it so that even a wrong implementation replaces the link, never
// /dev/null itself, writes into the device and leaves link and device be.
func TestOutputToDevNull(t *testing.T) {
	if info, err := os.Stat(os.DevNull); err != nil || info.Mode()&fs.ModeCharDevice == 0 {
		t.Skipf("%s is no character device here", os.DevNull)
	}
	dir := cleanEnv(t)
	links := []string{filepath.Join(dir, "null.json"), filepath.Join(dir, "null.csv")}
	for _, l := range links {
		if err := os.Symlink(os.DevNull, l); err != nil {
			t.Fatal(err)
		}
	}
	srv := serve(t, cleanWorld(), gitlabsim.Options{})
	t.Setenv("GITLAB_TOKEN", adminValue)
	res := run(t, "audit", "--gitlab-url", srv.URL(), "--fail-on", "none", "--output", "json="+links[0], "--output", "csv="+links[1])
	if res.code != ExitOK {
		t.Errorf("exit %d, stderr %q", res.code, res.stderr)
	}
	for _, l := range links {
		if target, err := os.Readlink(l); err != nil || target != os.DevNull {
			t.Errorf("the symlink %s to %s was replaced (readlink: %q, %v)", filepath.Base(l), os.DevNull, target, err)
		}
	}
	if info, err := os.Stat(os.DevNull); err != nil || info.Mode()&fs.ModeCharDevice == 0 {
		t.Errorf("%s is no longer a character device", os.DevNull)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != len(links) {
		t.Errorf("files left in the directory: %v", entries)
	}
}

// TestOutputNotAFile: an output path that is a directory is refused before
// any request to GitLab, not after the whole collection.
func TestOutputNotAFile(t *testing.T) {
	dir := cleanEnv(t)
	if err := os.Mkdir(filepath.Join(dir, "reports"), 0o700); err != nil {
		t.Fatal(err)
	}
	srv := serveHostile(t, cleanWorld(), nil)
	t.Setenv("GITLAB_TOKEN", adminValue)
	res := run(t, "audit", "--gitlab-url", srv.url, "--output", "json=reports")
	if res.code != ExitCannotRun || !strings.Contains(res.stderr, "is a directory") {
		t.Errorf("exit %d, stderr %q; want 2 and the directory named", res.code, res.stderr)
	}
	if n := srv.requests.Load(); n != 0 {
		t.Errorf("%d requests to GitLab before the output was refused", n)
	}
}

// TestTerminalReportEscaped: CSV and JSON, on a terminal or a pipe, show a
// token name's escape sequence escaped: no control character GitLab sent
// reaches the reader raw (a CSV file carries it as a visible \x1b escape).
func TestTerminalReportEscaped(t *testing.T) {
	cleanEnv(t)
	w := riskyWorld()
	w.Tokens[1].Name = "evil\x1b[2J\u009b31m\u202e"
	srv := serve(t, w, gitlabsim.Options{})
	t.Setenv("GITLAB_TOKEN", adminValue)
	for _, format := range []string{"csv", "json"} {
		for _, tty := range []bool{true, false} {
			var out, errOut syncBuffer
			code := Run(context.Background(), []string{"audit", "--gitlab-url", srv.URL(), "--fail-on", "none", "--format", format},
				&Streams{Out: &out, ErrOut: &errOut, OutTTY: tty})
			if code != ExitOK {
				t.Fatalf("%s: exit %d, stderr %q", format, code, errOut.String())
			}
			raw := strings.ContainsAny(out.String(), "\x1b\u009b\u202e")
			switch {
			case raw:
				t.Errorf("%s (terminal %v) holds raw control characters", format, tty)
			case !strings.Contains(out.String(), `evil\x1b[2J`) && !strings.Contains(out.String(), `evil\u001b[2J`):
				t.Errorf("%s (terminal %v) lacks the escaped name", format, tty)
			}
			if tty && format == "json" {
				var v map[string]any
				if err := json.Unmarshal([]byte(out.String()), &v); err != nil {
					t.Errorf("JSON on a terminal no longer parses: %v", err)
				}
			}
		}
	}
}
