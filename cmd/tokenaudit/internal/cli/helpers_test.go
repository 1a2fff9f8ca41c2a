package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader in two goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// backgroundSim is one in-process run of `tokenaudit sim`, serving until
// it is stopped.
type backgroundSim struct {
	cancel      context.CancelFunc
	done        chan int // the exit code
	out, errOut syncBuffer
}

// startSim runs the tool with args (starting with "sim") in the
// background; the end of the test stops it if the test does not.
func startSim(t *testing.T, args ...string) *backgroundSim {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s := &backgroundSim{cancel: cancel, done: make(chan int, 1)}
	go func() {
		s.done <- Run(ctx, args, &Streams{Out: &s.out, ErrOut: &s.errOut})
	}()
	return s
}

// stop cancels the run the way Ctrl-C does and requires it to end within
// a minute with ExitOK.
func (s *backgroundSim) stop(t *testing.T) {
	t.Helper()
	s.cancel()
	select {
	case code := <-s.done:
		if code != ExitOK {
			t.Errorf("sim exit %d after Ctrl-C; stderr:\n%s", code, s.errOut.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("sim did not stop when its context was cancelled")
	}
}

// basicScenario is the path of the simulator's basic test scenario; tests
// move into temporary directories, so it is found from this file.
func basicScenario() string {
	_, self, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(self), "../../../../internal/gitlabsim/testdata/scenarios/basic.yaml")
}

// result is one in-process run of the whole tool.
type result struct {
	code           int
	stdout, stderr string
}

// cleanEnv clears every variable tokenaudit reads, so the developer's own
// environment cannot leak into a test, and moves into an empty directory
// so no tokenaudit.yaml is picked up. It returns the directory.
func cleanEnv(t *testing.T) string {
	t.Helper()
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, envPrefix+"_") {
			t.Setenv(name, "")
		}
	}
	for _, name := range []string{"GITLAB_TOKEN", "GITLAB_URL", "GITLAB_HOST", "CI_SERVER_URL", "CI", "NO_COLOR", "HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"} {
		t.Setenv(name, "")
	}
	// Nor the developer's own ~/.config/tokenaudit/config.yaml.
	t.Setenv("HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", "")
	dir := t.TempDir()
	t.Chdir(dir)
	return dir
}

// run runs tokenaudit with args in-process, with stdout and stderr captured.
func run(t *testing.T, args ...string) result {
	t.Helper()
	return runCtx(t, context.Background(), args...)
}

func runCtx(t *testing.T, ctx context.Context, args ...string) result {
	t.Helper()
	var out, errOut syncBuffer
	s := &Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	done := make(chan int, 1)
	go func() { done <- Run(ctx, args, s) }()
	select {
	case code := <-done:
		return result{code, out.String(), errOut.String()}
	case <-time.After(2 * time.Minute): // a hang detector, not a speed check
		t.Fatalf("tokenaudit %s did not return; stderr so far:\n%s", strings.Join(args, " "), errOut.String())
		return result{}
	}
}

// day is a date, midnight UTC, n days from now.
func day(n int) *time.Time {
	d := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, n)
	return &d
}

func ago(d time.Duration) *time.Time {
	t := time.Now().UTC().Add(-d)
	return &t
}

// Token values of the hand-built worlds. They look like GitLab's so a leak
// would be found by the secret scan like a real one.
const (
	adminValue      = "glpat-testadmin0000000000001"
	riskyValue      = "glpat-testrisky0000000000002"
	revokedValue    = "glpat-testrevoked00000000003"
	expiredValue    = "glpat-testexpired00000000004"
	noScopeValue    = "glpat-testnoscope00000000005"
	userOnlyValue   = "glpat-testuseronly0000000006"
	maintainerValue = "glpat-testmaintainer00000007"
)

// cleanWorld is an instance with nothing a default policy flags at high or
// above: one administrator with a fresh, used, read_api token that expires
// within the year, and settings that require expiry. Its "today" is the
// real today, because `tokenaudit audit` judges tokens by the wall clock.
func cleanWorld() *gitlabsim.World {
	lifetime := 365
	now := time.Now().UTC()
	return &gitlabsim.World{
		Now:     now,
		Version: "18.5.1-ee",
		Settings: gitlabsim.Settings{
			RequirePersonalAccessTokenExpiry:      true,
			MaxPersonalAccessTokenLifetime:        &lifetime,
			ServiceAccessTokensExpirationEnforced: true,
		},
		Users: []*gitlabsim.User{{
			ID: 1, Username: "root", Name: "Administrator", Email: "root@example.com",
			State: "active", Admin: true, UserType: gitlabsim.UserTypeHuman,
			CreatedAt: now.AddDate(-2, 0, 0), LastActivityOn: day(0),
		}},
		Tokens: []*gitlabsim.PersonalAccessToken{{
			ID: 10, UserID: 1, Name: "audit", Scopes: []string{"read_api"},
			CreatedAt: now.AddDate(0, 0, -20), ExpiresAt: day(200), LastUsedAt: ago(time.Hour),
			Value: adminValue, Plant: "healthy",
		}},
	}
}

// riskyWorld adds a token that never expires and has the api scope.
func riskyWorld() *gitlabsim.World {
	w := cleanWorld()
	now := time.Now().UTC()
	w.Users = append(w.Users, &gitlabsim.User{
		ID: 2, Username: "alice", Name: "Alice", Email: "alice@example.com",
		State: "active", UserType: gitlabsim.UserTypeHuman, CreatedAt: now.AddDate(-1, 0, 0), LastActivityOn: day(0),
	})
	w.Tokens = append(w.Tokens,
		&gitlabsim.PersonalAccessToken{
			ID: 11, UserID: 2, Name: "forever", Scopes: []string{"api"},
			CreatedAt: now.AddDate(0, 0, -40), LastUsedAt: ago(2 * time.Hour), Value: riskyValue, Plant: "never-expires",
		},
		&gitlabsim.PersonalAccessToken{
			ID: 12, UserID: 2, Name: "old", Scopes: []string{"read_api"}, Revoked: true,
			CreatedAt: now.AddDate(0, 0, -40), ExpiresAt: day(100), Value: revokedValue, Plant: "revoked",
		},
		&gitlabsim.PersonalAccessToken{
			ID: 13, UserID: 2, Name: "expired", Scopes: []string{"read_api"},
			CreatedAt: now.AddDate(0, 0, -40), ExpiresAt: day(-3), Value: expiredValue, Plant: "expired",
		},
		&gitlabsim.PersonalAccessToken{
			ID: 14, UserID: 2, Name: "git only", Scopes: []string{"read_repository"},
			CreatedAt: now.AddDate(0, 0, -10), ExpiresAt: day(100), LastUsedAt: ago(time.Hour), Value: noScopeValue, Plant: "healthy",
		},
		&gitlabsim.PersonalAccessToken{
			ID: 15, UserID: 2, Name: "profile only", Scopes: []string{"read_user"},
			CreatedAt: now.AddDate(0, 0, -10), ExpiresAt: day(100), LastUsedAt: ago(time.Hour), Value: userOnlyValue, Plant: "healthy",
		},
	)
	return w
}

// maintainerWorld adds group acme with project acme/api, and bob, a
// Maintainer of acme (not its Owner), with a clean read_api token. Auditing
// acme as bob meets refusals for what only an Owner may list.
func maintainerWorld() *gitlabsim.World {
	w := cleanWorld()
	now := time.Now().UTC()
	w.Users = append(w.Users, &gitlabsim.User{
		ID: 3, Username: "bob", Name: "Bob", Email: "bob@example.com",
		State: "active", UserType: gitlabsim.UserTypeHuman, CreatedAt: now.AddDate(-1, 0, 0), LastActivityOn: day(0),
	})
	w.Groups = []*gitlabsim.Group{{
		ID: 100, Name: "acme", Path: "acme", Visibility: "private", CreatedAt: now.AddDate(-1, 0, 0),
		Members: []gitlabsim.Membership{{UserID: 3, AccessLevel: 40}},
	}}
	w.Projects = []*gitlabsim.Project{{
		ID: 200, Name: "api", Path: "api", GroupID: 100, Visibility: "private",
		CreatedAt: now.AddDate(-1, 0, 0), LastActivityAt: now,
	}}
	w.Tokens = append(w.Tokens, &gitlabsim.PersonalAccessToken{
		ID: 20, UserID: 3, Name: "audit", Scopes: []string{"read_api"},
		CreatedAt: now.AddDate(0, 0, -20), ExpiresAt: day(200), LastUsedAt: ago(time.Hour), Value: maintainerValue,
	})
	return w
}

// serve starts a simulator for w, closed at the end of the test.
func serve(t *testing.T, w *gitlabsim.World, opts gitlabsim.Options) *gitlabsim.Server {
	t.Helper()
	srv := gitlabsim.NewServer(w, opts)
	t.Cleanup(srv.Close)
	return srv
}

// writeFile writes a file with mode perm.
func writeFile(t *testing.T, path, content string, perm os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil { // WriteFile's mode passes through the umask
		t.Fatal(err)
	}
}
