package collect

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tokenaudit/tokenaudit/inventory"
)

func TestGitLabVersionHas(t *testing.T) {
	tests := []struct {
		version    string
		enterprise *bool
		f          feature
		want       bool
		because    string
	}{
		{"16.0.5-ee", nil, featJobTokenScope, false, "came in GitLab 16.1"},
		{"16.1.0-ee", nil, featJobTokenScope, true, ""},
		{"17.0.2-ee", nil, featServiceAccounts, false, "came in GitLab 17.1"},
		{"17.5.0-ee", nil, featServiceAccounts, true, ""},
		{"17.5.0", ptr(false), featServiceAccounts, false, "Community Edition"},
		{"17.10.1-ee", nil, featServiceAccountTokens, false, "came in GitLab 17.11"},
		{"18.6.0-ee", nil, featServiceAccountTokens, true, ""},
		// An unknown version asks, and the answer tells.
		{"", nil, featServiceAccounts, true, ""},
		{"not a version", nil, featJobTokenScope, true, ""},
	}
	for _, tt := range tests {
		v := parseGitLabVersion(tt.version)
		if tt.enterprise != nil {
			v.enterprise, v.editionKnown = *tt.enterprise, true
		}
		got, why := v.has(tt.f)
		if got != tt.want || !strings.Contains(why, tt.because) || (!got && !strings.Contains(why, tt.f.source)) {
			t.Errorf("%q has %s = %v (%q), want %v (%q, with its source)", tt.version, tt.f.what, got, why, tt.want, tt.because)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestMissingRouteIsUnavailable checks that Grape's catch-all 404 (a route
// this GitLab lacks) and a resource's 404 (a permission matter) make
// different gaps.
func TestMissingRouteIsUnavailable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		if strings.Contains(r.URL.Path, "/missing") {
			w.Write([]byte(`{"error":"404 Not Found"}`))
			return
		}
		w.Write([]byte(`{"message":"404 Project Not Found"}`))
	}))
	defer srv.Close()
	client, _, err := NewClient(srv.URL+"/api/v4", "test-token", testClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	c := newCollector(client, Options{})
	c.inv.GitLab.Version = "16.0.5-ee"
	for _, path := range []string{"missing", "projects/1/access_tokens"} {
		var v []struct{}
		_, err := c.get(context.Background(), path, nil, &v)
		if err == nil {
			t.Fatalf("%s: no error", path)
		}
		c.gap(context.Background(), "instance", path, err)
	}
	want := map[string]inventory.GapKind{"missing": inventory.GapUnavailable, "projects/1/access_tokens": inventory.GapPermission}
	for _, g := range c.inv.Gaps {
		if g.Kind != want[g.What] {
			t.Errorf("gap for %s: kind %s, want %s", g.What, g.Kind, want[g.What])
		}
		if g.Kind == inventory.GapUnavailable && !strings.Contains(g.Reason, "16.0.5") {
			t.Errorf("unavailable gap reason %q does not name the version", g.Reason)
		}
	}
	if len(c.inv.Gaps) != 2 {
		t.Errorf("gaps %+v, want 2", c.inv.Gaps)
	}
}
