package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
)

// TestVersionFlag: --version and -v print what `tokenaudit version` prints.
func TestVersionFlag(t *testing.T) {
	cleanEnv(t)
	want := run(t, "version")
	for _, flag := range []string{"--version", "-v"} {
		if got := run(t, flag); got.code != ExitOK || got.stdout != want.stdout || got.stdout == "" {
			t.Errorf("%s: exit %d, stdout %q; want %q as `tokenaudit version`", flag, got.code, got.stdout, want.stdout)
		}
	}
}

// TestCompletion runs cobra's generator for each shell, and the hidden
// command the scripts call back, which must know the subcommands and flags.
func TestCompletion(t *testing.T) {
	cleanEnv(t)
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		res := run(t, "completion", shell)
		if res.code != ExitOK || !strings.Contains(res.stdout, "tokenaudit") || !strings.Contains(res.stdout, "__complete") {
			t.Errorf("completion %s: exit %d, script without tokenaudit or its __complete call:\n%.300s\nstderr: %s", shell, res.code, res.stdout, res.stderr)
		}
	}
	res := run(t, "__complete", "")
	for _, cmd := range []string{"audit", "rules", "version", "completion"} {
		if !strings.Contains(res.stdout, "\n"+cmd+"\t") && !strings.HasPrefix(res.stdout, cmd+"\t") {
			t.Errorf("completing a subcommand does not offer %s:\n%s", cmd, res.stdout)
		}
	}
	if res := run(t, "__complete", "audit", "--fo"); !strings.Contains(res.stdout, "--format") {
		t.Errorf("completing audit --fo does not offer --format:\n%s", res.stdout)
	}
	if res := run(t, "completion", "tcsh"); res.code != ExitCannotRun {
		t.Errorf("completion tcsh: exit %d, want 2", res.code)
	}
}

// TestQuiet: -q leaves errors alone on stderr (no progress, notes or
// warnings, even with --progress and a world-writable config file) and still
// writes the reports; -f and -o are --format and --output.
func TestQuiet(t *testing.T) {
	dir := cleanEnv(t)
	srv := serve(t, riskyWorld(), gitlabsim.Options{})
	t.Setenv("GITLAB_TOKEN", riskyValue) // alice is no administrator: self mode, with a note
	writeFile(t, filepath.Join(dir, "tokenaudit.yaml"), "log_level: info\n", 0o666)
	base := []string{"audit", "--gitlab-url", srv.URL(), "--progress"}

	loud := run(t, append(base, "--fail-on", "none")...)
	if loud.code != ExitOK {
		t.Fatalf("exit %d; stderr:\n%s", loud.code, loud.stderr)
	}
	for _, want := range []string{"warning:", "note:", "collecting:"} {
		if !strings.Contains(loud.stderr, want) {
			t.Fatalf("without -q, stderr has no %q, so the test proves little:\n%s", want, loud.stderr)
		}
	}

	for _, quiet := range [][]string{{"-q"}, {"--quiet"}, {"--quiet=true"}} {
		res := run(t, append(append(base, quiet...), "--fail-on", "none", "-f", "json", "-o", "csv=audit.csv")...)
		if res.code != ExitOK || res.stderr != "" {
			t.Errorf("%v: exit %d, stderr %q; want 0 and nothing", quiet, res.code, res.stderr)
		}
		var rep struct{ Tokens []json.RawMessage }
		if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil || len(rep.Tokens) == 0 {
			t.Errorf("%v -f json: no JSON report on stdout (%v)", quiet, err)
		}
		if data, err := os.ReadFile(filepath.Join(dir, "audit.csv")); err != nil || !strings.Contains(string(data), "forever") {
			t.Errorf("%v -o csv=audit.csv: no CSV report (%v)", quiet, err)
		}
		os.Remove(filepath.Join(dir, "audit.csv"))
	}

	t.Setenv("TOKENAUDIT_QUIET", "true")
	res := run(t, base...) // the never-expiring api token fails the default fail_on high
	if res.code != ExitFindings || strings.Count(res.stderr, "\n") != 1 || !strings.HasPrefix(res.stderr, "tokenaudit: ") || !strings.Contains(res.stderr, "exit 1") {
		t.Errorf("TOKENAUDIT_QUIET with findings: exit %d, stderr %q; want 1 and the one error line", res.code, res.stderr)
	}
	if !strings.Contains(res.stdout, "forever") {
		t.Errorf("quiet run with findings printed no report:\n%s", res.stdout)
	}
}

// TestNoColor: --no-color, before or after the subcommand, turns the
// table's colour off on a terminal as NO_COLOR does.
func TestNoColor(t *testing.T) {
	cleanEnv(t)
	srv := serve(t, riskyWorld(), gitlabsim.Options{})
	t.Setenv("GITLAB_TOKEN", adminValue)
	for _, args := range [][]string{
		{"audit", "--gitlab-url", srv.URL(), "--fail-on", "none", "--no-color"},
		{"--no-color", "audit", "--gitlab-url", srv.URL(), "--fail-on", "none"},
		{"demo", "--no-color"},
	} {
		var out, errOut syncBuffer
		code := Run(context.Background(), args, &Streams{Out: &out, ErrOut: &errOut, OutTTY: true, Width: 120})
		if code != ExitOK {
			t.Fatalf("%v: exit %d; stderr:\n%s", args, code, errOut.String())
		}
		if strings.Contains(out.String(), "\x1b[") {
			t.Errorf("%v: colour in the table", args)
		}
	}
}
