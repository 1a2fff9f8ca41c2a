package cli

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tokenaudit/tokenaudit/audit"
)

// parse runs `audit` with args up to the point where it would start the
// audit, and returns what it decided, or the exit code and stderr.
func parse(t *testing.T, args ...string) (*auditRun, result) {
	t.Helper()
	var got *auditRun
	var out, errOut syncBuffer
	s := &Streams{Out: &out, ErrOut: &errOut}
	root := newRootCmd(s)
	// Swap the audit command for one whose run function captures.
	for _, c := range root.Commands() {
		if c.Name() == "audit" {
			root.RemoveCommand(c)
		}
	}
	root.AddCommand(newAuditCmd(s, func(_ context.Context, r *auditRun) error {
		got = r
		return nil
	}))
	root.SetArgs(append([]string{"audit"}, args...))
	root.SetOut(&out)
	root.SetErr(&errOut)
	code := ExitOK
	if err := root.ExecuteContext(context.Background()); err != nil {
		code = ExitCannotRun
		if ee, ok := err.(*exitError); ok {
			code = ee.code
		}
		errOut.Write([]byte("tokenaudit: " + err.Error() + "\n"))
	}
	return got, result{code, out.String(), errOut.String()}
}

// configEnv prepares a config test: a clean environment with a token, the
// variables of env, and file (unless empty) as ./tokenaudit.yaml.
func configEnv(t *testing.T, env map[string]string, file string) {
	t.Helper()
	dir := cleanEnv(t)
	t.Setenv("GITLAB_TOKEN", "glpat-unused")
	for k, v := range env {
		t.Setenv(k, v)
	}
	if file != "" {
		writeFile(t, filepath.Join(dir, "tokenaudit.yaml"), file, 0o644)
	}
}

func TestSettingsPrecedence(t *testing.T) {
	tests := []struct {
		name  string
		file  string // tokenaudit.yaml in the working directory
		env   map[string]string
		args  []string
		check func(t *testing.T, c Config)
	}{
		{
			name: "defaults",
			check: func(t *testing.T, c Config) {
				if diff := cmp.Diff(DefaultConfig(), c, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("config mismatch (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "file over defaults",
			file: "fail_on: low\nconcurrency: 3\ntimeout: 5s\ngroups: [a, b]\npolicy:\n  stale_days: 10\n",
			check: func(t *testing.T, c Config) {
				want := DefaultConfig()
				want.FailOn, want.Concurrency, want.Timeout, want.Groups = "low", 3, 5*time.Second, []string{"a", "b"}
				want.Policy.StaleDays = 10
				if diff := cmp.Diff(want, c, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("config mismatch (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "environment over file",
			file: "fail_on: low\nconcurrency: 3\npolicy:\n  stale_days: 10\n",
			env:  map[string]string{"TOKENAUDIT_FAIL_ON": "medium", "TOKENAUDIT_POLICY_STALE_DAYS": "20", "TOKENAUDIT_GROUPS": "x, y"},
			check: func(t *testing.T, c Config) {
				if c.FailOn != "medium" || c.Concurrency != 3 || c.Policy.StaleDays != 20 {
					t.Errorf("fail_on %q concurrency %d stale_days %d, want medium 3 20", c.FailOn, c.Concurrency, c.Policy.StaleDays)
				}
				if diff := cmp.Diff([]string{"x", "y"}, c.Groups); diff != "" {
					t.Errorf("groups mismatch (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "flags over environment",
			file: "fail_on: low\n",
			env:  map[string]string{"TOKENAUDIT_FAIL_ON": "medium", "TOKENAUDIT_CONCURRENCY": "5"},
			args: []string{"--fail-on", "critical", "--group", "g1", "--group", "g2", "--output", "json=a,b.json", "--progress"},
			check: func(t *testing.T, c Config) {
				if c.FailOn != "critical" || c.Concurrency != 5 || !c.Progress {
					t.Errorf("fail_on %q concurrency %d progress %v, want critical 5 true", c.FailOn, c.Concurrency, c.Progress)
				}
				if diff := cmp.Diff([]string{"g1", "g2"}, c.Groups); diff != "" {
					t.Errorf("groups mismatch (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff([]string{"json=a,b.json"}, c.Output); diff != "" {
					t.Errorf("output mismatch (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "person_reach from the file, and the flag",
			file: "person_reach: true\n",
			check: func(t *testing.T, c Config) {
				want := DefaultConfig()
				want.PersonReach = true
				if diff := cmp.Diff(want, c, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("config mismatch (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "person_reach flag over environment",
			env:  map[string]string{"TOKENAUDIT_PERSON_REACH": "false"},
			args: []string{"--person-reach"},
			check: func(t *testing.T, c Config) {
				if !c.PersonReach {
					t.Error("--person-reach did not set person_reach")
				}
			},
		},
		{
			name: "graphql off from the file, the skips from the environment and the flag",
			file: "graphql: false\n",
			env:  map[string]string{"TOKENAUDIT_SKIP_IMPERSONATION": "true"},
			args: []string{"--skip-trigger-created-at"},
			check: func(t *testing.T, c Config) {
				want := DefaultConfig()
				want.GraphQL, want.SkipImpersonation, want.SkipTriggerCreatedAt = false, true, true
				if diff := cmp.Diff(want, c, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("config mismatch (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "graphql on by default, off by the flag",
			args: []string{"--graphql=false"},
			check: func(t *testing.T, c Config) {
				if c.GraphQL || !DefaultConfig().GraphQL {
					t.Errorf("graphql %v (default %v), want the default on and --graphql=false to turn it off", c.GraphQL, DefaultConfig().GraphQL)
				}
			},
		},
		{
			name: "names in any case",
			env:  map[string]string{"TOKENAUDIT_FAIL_ON": "HIGH", "TOKENAUDIT_FORMAT": " JSON"},
			args: []string{"--mode", "Instance"},
			check: func(t *testing.T, c Config) {
				if c.FailOn != "high" || c.Format != "json" || c.Mode != "instance" {
					t.Errorf("fail_on %q format %q mode %q, want high json instance", c.FailOn, c.Format, c.Mode)
				}
			},
		},
		{
			name: "gitlab url: CI_SERVER_URL below GITLAB_URL below the flag",
			file: "gitlab_url: https://file.example.com\n",
			env:  map[string]string{"CI_SERVER_URL": "https://ci.example.com"},
			check: func(t *testing.T, c Config) {
				if c.GitLabURL != "https://ci.example.com" {
					t.Errorf("gitlab_url %q, want CI_SERVER_URL's", c.GitLabURL)
				}
			},
		},
		{
			name: "gitlab url: GITLAB_URL over CI_SERVER_URL",
			env:  map[string]string{"CI_SERVER_URL": "https://ci.example.com", "GITLAB_URL": "https://env.example.com"},
			check: func(t *testing.T, c Config) {
				if c.GitLabURL != "https://env.example.com" {
					t.Errorf("gitlab_url %q, want GITLAB_URL's", c.GitLabURL)
				}
			},
		},
		{
			name: "gitlab url: flag over all",
			env:  map[string]string{"CI_SERVER_URL": "https://ci.example.com", "GITLAB_URL": "https://env.example.com"},
			args: []string{"--gitlab-url", "https://flag.example.com"},
			check: func(t *testing.T, c Config) {
				if c.GitLabURL != "https://flag.example.com" {
					t.Errorf("gitlab_url %q, want the flag's", c.GitLabURL)
				}
			},
		},
		{
			name: "policy from the file maps onto audit.Policy",
			file: `policy:
  legacy_bot_users: [ci-bot, "deploy-*"]
  rules:
    TA-030: {severity: low}
    TA-050: {disabled: true}
  exceptions:
    - rule: TA-001
      kind: personal
      id: 1234
      reason: migration robot
      expires: 2027-03-31
`,
			check: func(t *testing.T, c Config) {
				want := audit.DefaultPolicy()
				want.LegacyBotUsers = []string{"ci-bot", "deploy-*"}
				want.Rules = map[string]audit.RuleSetting{"TA-030": {Severity: "low"}, "TA-050": {Disabled: true}}
				want.Exceptions = []audit.Exception{{Rule: "TA-001", Kind: "personal", ID: 1234, Reason: "migration robot", Expires: "2027-03-31"}}
				if diff := cmp.Diff(want, c.Policy, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("policy mismatch (-want +got):\n%s", diff)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			configEnv(t, tt.env, tt.file)
			got, res := parse(t, tt.args...)
			if res.code != ExitOK || got == nil {
				t.Fatalf("exit %d, stderr:\n%s", res.code, res.stderr)
			}
			tt.check(t, got.cfg)
		})
	}
}

func TestConfigFlagPicksFile(t *testing.T) {
	dir := cleanEnv(t)
	t.Setenv("GITLAB_TOKEN", "glpat-unused")
	writeFile(t, filepath.Join(dir, "tokenaudit.yaml"), "fail_on: low\n", 0o644)
	writeFile(t, filepath.Join(dir, "other.yaml"), "fail_on: medium\n", 0o644)
	writeFile(t, filepath.Join(dir, "third.yaml"), "fail_on: critical\n", 0o644)
	for _, tt := range []struct {
		env, flag, want, wantFile string
	}{
		{want: "low", wantFile: "tokenaudit.yaml"},
		{flag: "other.yaml", want: "medium", wantFile: "other.yaml"},
		{env: "third.yaml", want: "critical", wantFile: "third.yaml"},
		{env: "third.yaml", flag: "other.yaml", want: "medium", wantFile: "other.yaml"},
	} {
		t.Setenv("TOKENAUDIT_CONFIG", tt.env)
		var args []string
		if tt.flag != "" {
			args = []string{"--config", tt.flag}
		}
		got, res := parse(t, args...)
		if res.code != ExitOK {
			t.Fatalf("exit %d, stderr:\n%s", res.code, res.stderr)
		}
		if got.cfg.FailOn != tt.want || got.configFile != filepath.Join(dir, tt.wantFile) {
			t.Errorf("env %q flag %q: fail_on %q from %q, want %s from %s", tt.env, tt.flag, got.cfg.FailOn, got.configFile, tt.want, tt.wantFile)
		}
	}
}

// TestBadSettings checks that every kind of bad input stops the run with
// exit 2 and one line that names the key (and the line of the file) and
// what is allowed.
func TestBadSettings(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  map[string]string
		args []string
		want []string // substrings of the one error line
	}{

		{name: "unknown key", file: "fail_on: high\nconcurency: 4\n",
			want: []string{"line 2", `unknown key "concurency"`, `did you mean "concurrency"`}},
		{name: "unknown nested key", file: "policy:\n  stale_dayz: 4\n",
			want: []string{"line 2", `unknown key "policy.stale_dayz"`, "stale_days"}},
		{name: "wrong type", file: "concurrency: eight\n",
			want: []string{"line 1", "concurrency", "want a whole number", `"eight"`}},
		{name: "wrong type nested", file: "policy:\n  exceptions:\n    - rule: TA-001\n      id: [1]\n",
			want: []string{"line 4", "policy.exceptions[0].id", "want a whole number"}},
		{name: "list expected", file: "groups: my-org\n",
			want: []string{"line 1", "groups", "want a list"}},
		{name: "bad duration", file: "timeout: soon\n",
			want: []string{"line 1", "timeout", "duration"}},
		{name: "malformed yaml", file: "fail_on: high\n  concurrency: [\n",
			want: []string{"malformed YAML", "line 2"}},
		{name: "token in file", file: "token: glpat-abc\n",
			want: []string{"line 1", "token", "GITLAB_TOKEN", "token_file"}},
		{name: "negative days", file: "policy:\n  stale_days: -1\n",
			want: []string{"stale_days", "-1", "above 0"}},
		{name: "concurrency 0", file: "concurrency: 0\n",
			want: []string{"concurrency", "0 is not allowed", "1 to 64"}},
		{name: "unknown fail_on", args: []string{"--fail-on", "severe"},
			want: []string{"fail_on", `"severe"`, "critical, high, medium, low, none"}},
		{name: "unknown mode", env: map[string]string{"TOKENAUDIT_MODE": "everything"},
			want: []string{"mode", `"everything"`, "auto, instance, groups, self"}},
		{name: "groups mode without groups", args: []string{"--mode", "groups"},
			want: []string{"groups", "at least one group"}},
		{name: "unknown format", args: []string{"--format", "xml"},
			want: []string{"format", `"xml"`, "want one of csv, findings-csv, "}},
		{name: "bad output", args: []string{"--output", "audit.json"},
			want: []string{"output", "FORMAT=PATH"}},
		{name: "unknown output format", args: []string{"--output", "pdf=a.pdf"},
			want: []string{"output", `"pdf"`, "want one of csv, findings-csv, "}},
		{name: "env wrong type", env: map[string]string{"TOKENAUDIT_CONCURRENCY": "many"},
			want: []string{"TOKENAUDIT_CONCURRENCY", "whole number", `"many"`}},
		{name: "token pasted as a number", file: "concurrency: glpat-abcdefabcdef\n",
			want: []string{"line 1", "concurrency", "looks like a token (not shown)"}},
		{name: "token pasted as a key", file: "policy:\n  glpat-abcdefabcdef: 1\n",
			want: []string{"line 2", "looks like a token (not shown)"}},
		{name: "token pasted as the URL", args: []string{"--gitlab-url", "glpat-abcdefabcdef"},
			want: []string{"looks like a token, not a URL"}},
		{name: "env wrong bool", env: map[string]string{"TOKENAUDIT_PROGRESS": "sometimes"},
			want: []string{"TOKENAUDIT_PROGRESS", "true or false"}},
		{name: "flag wrong type", args: []string{"--concurrency", "x"},
			want: []string{"--concurrency", `"x"`}},
		{name: "unknown flag", args: []string{"--tokens-file", "abc"},
			want: []string{"unknown flag: --tokens-file", "--help"}},
		{name: "token flag", args: []string{"--token", "glpat-abcdefabcdef"},
			want: []string{"unknown flag: --token", "never taken on the command line", "GITLAB_TOKEN"}},
		{name: "token flag with value", args: []string{"--private-token=glpat-abcdefabcdef"},
			want: []string{"unknown flag: --private-token", "never taken on the command line"}},
		{name: "unknown rule", file: "policy:\n  rules:\n    TA-999: {severity: low}\n",
			want: []string{"TA-999", "unknown rule"}},
		{name: "exception without expiry", file: "policy:\n  exceptions:\n    - {rule: TA-001, owner: bob, reason: ok}\n",
			want: []string{"exceptions[0]", "expires is required"}},
		{name: "missing config file", args: []string{"--config", "nope.yaml"},
			want: []string{"nope.yaml", "does not exist"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			configEnv(t, tt.env, tt.file)
			res := run(t, append([]string{"audit", "--gitlab-url", "http://127.0.0.1:1"}, tt.args...)...)
			if res.code != ExitCannotRun {
				t.Fatalf("exit %d, want 2; stderr:\n%s", res.code, res.stderr)
			}
			if strings.Contains(res.stderr, "abcdefabcdef") {
				t.Errorf("the error repeats a token-like value: %s", res.stderr)
			}
			line := strings.TrimSpace(res.stderr)
			if strings.Count(line, "\n") != 0 {
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

func TestTokenSources(t *testing.T) {
	tests := []struct {
		name    string
		env     string
		file    string // token file content; "" for none
		perm    os.FileMode
		want    string // token wanted; "" when an error is wanted
		wantErr []string
	}{
		{name: "none", wantErr: []string{"no token: set GITLAB_TOKEN or token_file"}},
		{name: "environment", env: "glpat-fromenv", want: "glpat-fromenv"},
		{name: "environment over file", env: "glpat-fromenv", file: "glpat-fromfile\n", perm: 0o600, want: "glpat-fromenv"},
		{name: "file", file: "glpat-fromfile\n", perm: 0o600, want: "glpat-fromfile"},
		{name: "file readable by others", file: "glpat-fromfile\n", perm: 0o644, wantErr: []string{"0644", "chmod 600 "}},
		{name: "file readable by group", file: "glpat-fromfile\n", perm: 0o640, wantErr: []string{"chmod 600 "}},
		{name: "empty file", file: "\n", perm: 0o600, wantErr: []string{"is empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := cleanEnv(t)
			t.Setenv("GITLAB_TOKEN", tt.env)
			if tt.file != "" {
				writeFile(t, filepath.Join(dir, "token"), tt.file, tt.perm)
				writeFile(t, filepath.Join(dir, "tokenaudit.yaml"), "token_file: token\n", 0o644)
			}
			got, res := parse(t)
			if tt.want == "" {
				if res.code != ExitCannotRun {
					t.Fatalf("exit %d, want 2", res.code)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(res.stderr, w) {
						t.Errorf("stderr %q does not contain %q", res.stderr, w)
					}
				}
				if strings.Contains(tt.wantErr[0], "chmod") && !strings.Contains(res.stderr, "chmod 600 "+filepath.Join(dir, "token")) {
					t.Errorf("stderr %q does not name the file to chmod", res.stderr)
				}
				return
			}
			if res.code != ExitOK {
				t.Fatalf("exit %d, stderr:\n%s", res.code, res.stderr)
			}
			if got.token != tt.want {
				t.Errorf("token not read from the expected source") // values stay out of the log
			}
		})
	}
}

// TestConfigFileOthersMayChange: a config file other users may change is
// read, with a warning that says how to fix it.
func TestConfigFileOthersMayChange(t *testing.T) {
	for _, tt := range []struct {
		perm os.FileMode
		warn bool
	}{{0o600, false}, {0o644, false}, {0o664, true}, {0o666, true}} {
		dir := cleanEnv(t)
		t.Setenv("GITLAB_TOKEN", "glpat-unused")
		path := filepath.Join(dir, "tokenaudit.yaml")
		writeFile(t, path, "fail_on: low\n", tt.perm)
		got, res := parse(t)
		if res.code != ExitOK || got.cfg.FailOn != "low" {
			t.Fatalf("mode %04o: exit %d, stderr:\n%s", tt.perm, res.code, res.stderr)
		}
		warned := strings.Contains(res.stderr, "warning: config file "+path+" can be changed by other users") &&
			strings.Contains(res.stderr, "chmod 600 "+path)
		if warned != tt.warn {
			t.Errorf("mode %04o: warned %v, want %v; stderr:\n%s", tt.perm, warned, tt.warn, res.stderr)
		}
	}
}

// TestExampleConfig loads config.example.yaml like a user would: it must be
// valid, state exactly the defaults the code uses, and document every key.
func TestExampleConfig(t *testing.T) {
	example, err := filepath.Abs("../../../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	dir := cleanEnv(t)
	cfg, used, err := loadConfig(example, dir, nil, nil)
	if err != nil {
		t.Fatalf("load %s: %v", example, err)
	}
	if used != example {
		t.Errorf("read %q, want %q", used, example)
	}
	if diff := cmp.Diff(DefaultConfig(), cfg, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("config.example.yaml states other defaults than DefaultConfig (-code +example):\n%s", diff)
	}
	if err := cfg.validate(); err != nil {
		t.Errorf("example config does not validate: %v", err)
	}
	// Every key is in the file, uncommented, so the comparison above covers it.
	keys := leafKeys(reflect.TypeFor[Config](), "")
	for _, k := range keys {
		last := k[strings.LastIndex(k, ".")+1:]
		if !strings.Contains(string(data), "\n"+strings.Repeat("  ", strings.Count(k, "."))+last+":") {
			t.Errorf("config.example.yaml does not set %s", k)
		}
	}
}

// leafKeys lists every key of t, maps and lists of structures included.
func leafKeys(t reflect.Type, prefix string) []string {
	var out []string
	for f := range t.Fields() {
		name := f.Tag.Get("mapstructure")
		if name == "" {
			continue
		}
		if f.Type.Kind() == reflect.Struct && f.Type != durationType {
			out = append(out, leafKeys(f.Type, prefix+name+".")...)
			continue
		}
		out = append(out, prefix+name)
	}
	return out
}

func TestCheckURL(t *testing.T) {
	tests := []struct {
		raw       string
		allowHTTP bool
		want      string // the URL used, or "" for an error
		wantErr   string
	}{
		{raw: "https://gitlab.example.com", want: "https://gitlab.example.com"},
		{raw: "https://gitlab.example.com/", want: "https://gitlab.example.com"},
		{raw: "https://gitlab.example.com/api/v4", want: "https://gitlab.example.com"},
		{raw: "https://example.com/gitlab", want: "https://example.com/gitlab"},
		{raw: "http://127.0.0.1:8080", want: "http://127.0.0.1:8080"},
		{raw: "http://localhost:8080", want: "http://localhost:8080"},
		{raw: "http://[::1]:8080", want: "http://[::1]:8080"},
		{raw: "http://gitlab.internal", allowHTTP: true, want: "http://gitlab.internal"},
		{raw: "", wantErr: "no GitLab URL: set --gitlab-url, GITLAB_URL"},
		{raw: "gitlab.example.com", wantErr: "has no scheme"},
		{raw: "gitlab.example.com:8443", wantErr: "has no scheme"},
		{raw: "ftp://gitlab.example.com", wantErr: `scheme "ftp" is not allowed`},
		{raw: "https://", wantErr: "has no host"},
		{raw: "http://gitlab.internal", wantErr: "plain http to gitlab.internal"},
		{raw: "https://user:secret@gitlab.example.com", wantErr: "holds credentials"},
		{raw: "https://gitlab.example.com/?private_token=secret", wantErr: "has a query"},
		{raw: "gitlab.example.com/?private_token=secret", wantErr: "has no scheme"},
		{raw: "ftp://u:secret@gitlab.example.com", wantErr: `scheme "ftp"`},
		{raw: "http://gitlab.internal/#secret", wantErr: "has a query"},
		{raw: "https://u:secret@gitlab.example.com:port", wantErr: "is not a URL"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			u, err := checkURL(tt.raw, tt.allowHTTP)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("checkURL(%q) error %v, want one containing %q", tt.raw, err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error repeats the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("checkURL(%q): %v", tt.raw, err)
			}
			if u.String() != tt.want {
				t.Errorf("checkURL(%q) = %q, want %q", tt.raw, u, tt.want)
			}
		})
	}
}
