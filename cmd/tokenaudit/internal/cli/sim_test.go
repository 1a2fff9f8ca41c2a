package cli

import (
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSimPort: with --port the simulator listens on that port, and the
// URLs it builds itself (pagination Link headers, web_url) name it.
func TestSimPort(t *testing.T) {
	scenario := basicScenario()
	cleanEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := ln.Addr().String()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()

	sim := startSim(t, "sim", "--scenario", scenario, "--port", port)
	out := &sim.out
	token := simAdminToken(t, sim)
	if !strings.Contains(out.String(), "serving on http://"+host+"\n") {
		t.Errorf("sim does not say it serves on %s:\n%s", host, out.String())
	}

	get := func(path string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://"+host+"/api/v4"+path, nil)
		req.Header.Set("PRIVATE-TOKEN", token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s on port %s: %v", path, port, err)
		}
		t.Cleanup(func() { res.Body.Close() })
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: status %d", path, res.StatusCode)
		}
		return res
	}
	res := get("/projects?per_page=1")
	if link := res.Header.Get("Link"); !strings.Contains(link, "<http://"+host+"/api/v4/projects?") {
		t.Errorf("Link %q does not name %s", link, host)
	}
	var projects []struct {
		WebURL string `json:"web_url"`
	}
	if err := json.NewDecoder(res.Body).Decode(&projects); err != nil || len(projects) != 1 {
		t.Fatalf("GET /projects: %d projects, %v", len(projects), err)
	}
	if u, err := url.Parse(projects[0].WebURL); err != nil || u.Host != host {
		t.Errorf("web_url %q, want host %s", projects[0].WebURL, host)
	}

	sim.stop(t)
}

// simAdminToken waits for a started sim's banner and returns the
// administrator token it printed.
func simAdminToken(t *testing.T, sim *backgroundSim) string {
	t.Helper()
	tokenRe := regexp.MustCompile(`administrator:\s+(\S+)`)
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := tokenRe.FindStringSubmatch(sim.out.String()); m != nil && strings.Contains(sim.out.String(), "Ctrl-C") {
			return m[1]
		}
	}
	t.Fatalf("sim printed no token:\n%s\n%s", sim.out.String(), sim.errOut.String())
	return ""
}

// TestSimNoGraphQL: --no-graphql serves GitLab without its GraphQL API
// (404), which the simulator serves otherwise.
func TestSimNoGraphQL(t *testing.T) {
	cleanEnv(t)
	for _, off := range []bool{false, true} {
		args := []string{"sim", "--scenario", basicScenario()}
		if off {
			args = append(args, "--no-graphql")
		}
		sim := startSim(t, args...)
		token := simAdminToken(t, sim)
		base := regexp.MustCompile(`serving on (\S+)`).FindStringSubmatch(sim.out.String())[1]
		req, _ := http.NewRequest(http.MethodPost, base+"/api/graphql", strings.NewReader(`{"query":"{ currentUser { username } }"}`))
		req.Header.Set("PRIVATE-TOKEN", token)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if want := map[bool]int{false: http.StatusOK, true: http.StatusNotFound}[off]; res.StatusCode != want {
			t.Errorf("--no-graphql=%v: POST /api/graphql answered %d, want %d", off, res.StatusCode, want)
		}
		sim.stop(t)
	}
}

// TestSimPortBusy: a port already taken is an error, not a server
// somewhere else.
func TestSimPortBusy(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	res := run(t, "sim", "--preset", "small", "--port", port)
	if res.code != ExitCannotRun || !strings.Contains(res.stderr, "port "+port) {
		t.Errorf("sim on a busy port: exit %d, stderr %q; want 2 and the port named", res.code, res.stderr)
	}
}
