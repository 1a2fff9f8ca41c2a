package gitlabsim

import (
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// freePort returns a port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// TestListenAddr: a server started on a chosen port serves there, and the
// URLs it builds (Link headers, web_url) name that port.
func TestListenAddr(t *testing.T) {
	port := freePort(t)
	want := "127.0.0.1:" + strconv.Itoa(port)
	s, err := Listen(bulkWorld(45, 3), Options{Addr: want})
	if err != nil {
		t.Fatalf("Listen(%s): %v", want, err)
	}
	defer s.Close()
	if s.URL() != "http://"+want {
		t.Errorf("URL() = %s, want http://%s", s.URL(), want)
	}

	get := func(path string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://"+want+"/api/v4"+path, nil)
		req.Header.Set("PRIVATE-TOKEN", tokBulkAdmin)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s on the chosen port: %v", path, err)
		}
		t.Cleanup(func() { res.Body.Close() })
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: status %d", path, res.StatusCode)
		}
		return res
	}
	_, urls := linkRels(t, get("/personal_access_tokens").Header.Get("Link"))
	for _, rel := range []string{"next", "first", "last"} {
		if u := urls[rel]; u == nil || u.Host != want {
			t.Errorf("rel=%s %v, want host %s", rel, u, want)
		}
	}
	var projects []struct {
		WebURL string `json:"web_url"`
	}
	if err := json.NewDecoder(get("/projects").Body).Decode(&projects); err != nil || len(projects) == 0 {
		t.Fatalf("GET /projects: %d projects, %v", len(projects), err)
	}
	for _, p := range projects {
		if u, err := url.Parse(p.WebURL); err != nil || u.Host != want {
			t.Errorf("web_url %q, want host %s", p.WebURL, want)
		}
	}
}

// TestListenDefault: without Addr the server takes a free loopback port.
func TestListenDefault(t *testing.T) {
	s, err := Listen(bulkWorld(1, 0), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") || strings.HasSuffix(s.URL(), ":0") {
		t.Errorf("URL() = %s, want a port on 127.0.0.1", s.URL())
	}
}

// TestListenRefusesRemote: an address other machines can reach needs
// AllowRemote; loopback ones do not.
func TestListenRefusesRemote(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.1:0", "example.com:0"} {
		if s, err := Listen(bulkWorld(1, 0), Options{Addr: addr}); err == nil {
			s.Close()
			t.Errorf("Listen(%q) without AllowRemote: no error", addr)
		} else if !strings.Contains(err.Error(), "AllowRemote") {
			t.Errorf("Listen(%q): error %q does not say how to allow it", addr, err)
		}
	}
	if _, err := Listen(bulkWorld(1, 0), Options{Addr: "127.0.0.1"}); err == nil {
		t.Error("Listen without a port: no error")
	}
	for _, addr := range []string{"127.0.0.1:0", "localhost:0", "[::1]:0", "127.0.0.2:0"} {
		if err := checkAddr(addr, false); err != nil {
			t.Errorf("checkAddr(%q): %v, want loopback accepted", addr, err)
		}
	}
	for _, addr := range []string{"0.0.0.0:0", ":8080"} {
		if err := checkAddr(addr, true); err != nil {
			t.Errorf("checkAddr(%q) with AllowRemote: %v", addr, err)
		}
	}
}

// TestNewServerPanics: NewServer, like httptest.NewServer, panics when it
// cannot listen.
func TestNewServerPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewServer on a remote address without AllowRemote did not panic")
		}
	}()
	s := NewServer(bulkWorld(1, 0), Options{Addr: "0.0.0.0:0"})
	s.Close()
}
