package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigDiscovery: without --config, tokenaudit.yaml or tokenaudit.yml
// in the working directory, else $XDG_CONFIG_HOME/tokenaudit/config.yaml,
// else ~/.config/tokenaudit/config.yaml; both names in the working
// directory at once are refused.
func TestConfigDiscovery(t *testing.T) {
	user := func(t *testing.T, base string) string {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(base, "tokenaudit"), 0o700); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(base, "tokenaudit", "config.yaml")
		writeFile(t, path, "fail_on: medium\n", 0o600)
		return path
	}
	check := func(t *testing.T, wantFile, wantFailOn string) {
		t.Helper()
		got, res := parse(t)
		if res.code != ExitOK {
			t.Fatalf("exit %d, stderr:\n%s", res.code, res.stderr)
		}
		if got.configFile != wantFile || got.cfg.FailOn != wantFailOn {
			t.Errorf("read %q (fail_on %s), want %q (fail_on %s)", got.configFile, got.cfg.FailOn, wantFile, wantFailOn)
		}
	}

	t.Run("yml in the working directory", func(t *testing.T) {
		configEnv(t, nil, "")
		dir, _ := os.Getwd()
		writeFile(t, filepath.Join(dir, "tokenaudit.yml"), "fail_on: low\n", 0o600)
		check(t, filepath.Join(dir, "tokenaudit.yml"), "low")
	})
	t.Run("yaml and yml", func(t *testing.T) {
		configEnv(t, nil, "fail_on: low\n")
		dir, _ := os.Getwd()
		writeFile(t, filepath.Join(dir, "tokenaudit.yml"), "fail_on: low\n", 0o600)
		_, res := parse(t)
		if res.code != ExitCannotRun || strings.Count(strings.TrimSpace(res.stderr), "\n") != 0 ||
			!strings.Contains(res.stderr, "tokenaudit.yaml") || !strings.Contains(res.stderr, "tokenaudit.yml") {
			t.Errorf("exit %d, stderr %q; want 2 and one line naming both files", res.code, res.stderr)
		}
	})
	t.Run("XDG_CONFIG_HOME", func(t *testing.T) {
		configEnv(t, nil, "")
		xdg := t.TempDir()
		t.Setenv("XDG_CONFIG_HOME", xdg)
		user(t, os.Getenv("HOME")) // not read: XDG_CONFIG_HOME says where
		check(t, user(t, xdg), "medium")
	})
	t.Run("home without XDG_CONFIG_HOME", func(t *testing.T) {
		configEnv(t, nil, "")
		check(t, user(t, filepath.Join(os.Getenv("HOME"), ".config")), "medium")
	})
	t.Run("working directory first", func(t *testing.T) {
		configEnv(t, nil, "fail_on: low\n")
		user(t, filepath.Join(os.Getenv("HOME"), ".config"))
		dir, _ := os.Getwd()
		check(t, filepath.Join(dir, "tokenaudit.yaml"), "low")
	})
	t.Run("none", func(t *testing.T) {
		configEnv(t, nil, "")
		check(t, "", "high")
	})
}

// TestTokenFileTilde: token_file: ~/... is in the home directory.
func TestTokenFileTilde(t *testing.T) {
	configEnv(t, map[string]string{"GITLAB_TOKEN": ""}, "token_file: ~/.config/tokenaudit/token\n")
	home := os.Getenv("HOME")
	if err := os.MkdirAll(filepath.Join(home, ".config", "tokenaudit"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(home, ".config", "tokenaudit", "token"), adminValue+"\n", 0o600)
	got, res := parse(t)
	if res.code != ExitOK {
		t.Fatalf("exit %d, stderr:\n%s", res.code, res.stderr)
	}
	if got.token != adminValue {
		t.Error("the token was not read from the file under the home directory")
	}
	if want := filepath.Join(home, ".config", "tokenaudit", "token"); got.cfg.TokenFile != want {
		t.Errorf("token_file %q, want %q", got.cfg.TokenFile, want)
	}
}

// TestGitLabHost: GITLAB_HOST, glab's variable, comes after GITLAB_URL and
// before CI_SERVER_URL; a bare host there means https.
func TestGitLabHost(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"bare host", map[string]string{"GITLAB_HOST": "gitlab.example.com"}, nil, "https://gitlab.example.com"},
		{"host and port", map[string]string{"GITLAB_HOST": "gitlab.example.com:8443"}, nil, "https://gitlab.example.com:8443"},
		{"URL", map[string]string{"GITLAB_HOST": "http://localhost:3000"}, nil, "http://localhost:3000"},
		{"beats CI_SERVER_URL", map[string]string{"GITLAB_HOST": "host.example.com", "CI_SERVER_URL": "https://ci.example.com"}, nil, "https://host.example.com"},
		{"GITLAB_URL beats it", map[string]string{"GITLAB_HOST": "host.example.com", "GITLAB_URL": "https://url.example.com"}, nil, "https://url.example.com"},
		{"TOKENAUDIT_GITLAB_URL beats it", map[string]string{"GITLAB_HOST": "host.example.com", "TOKENAUDIT_GITLAB_URL": "https://ta.example.com"}, nil, "https://ta.example.com"},
		{"the flag beats it", map[string]string{"GITLAB_HOST": "host.example.com"}, []string{"--gitlab-url", "https://flag.example.com"}, "https://flag.example.com"},
		{"a bare flag stays bare", map[string]string{"GITLAB_HOST": "host.example.com"}, []string{"--gitlab-url", "flag.example.com"}, "flag.example.com"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			configEnv(t, tt.env, "gitlab_url: https://file.example.com\n")
			got, res := parse(t, tt.args...)
			if res.code != ExitOK {
				t.Fatalf("exit %d, stderr:\n%s", res.code, res.stderr)
			}
			if got.cfg.GitLabURL != tt.want {
				t.Errorf("gitlab_url %q, want %q", got.cfg.GitLabURL, tt.want)
			}
		})
	}
}
