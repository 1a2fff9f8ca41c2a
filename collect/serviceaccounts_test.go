package collect

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
	"github.com/tokenaudit/tokenaudit/inventory"
)

// TestServiceAccountGroupsFromUsersList: where the users list names the
// group that created each user (provisioned_by_group_id, Premium and
// Ultimate), instance mode reads no group's service account list and still
// puts each group service account's tokens in its group; where the key is
// missing, it reads the groups' lists and reports the same tokens.
func TestServiceAccountGroupsFromUsersList(t *testing.T) {
	w := generate(t, "small", 4)
	groupAccounts, tops := 0, 0
	for _, u := range w.Users {
		if u.UserType == gitlabsim.UserTypeServiceAccount && u.ServiceAccountGroupID != 0 {
			groupAccounts++
		}
	}
	for _, g := range w.Groups {
		if g.ParentID == 0 {
			tops++
		}
	}
	if groupAccounts == 0 {
		t.Fatal("the world has no group service account; the test checks nothing")
	}

	with, err := collect(t, w, gitlabsim.Options{}, w.AdminToken(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := with.srv.Counts()["GET /groups/:id/service_accounts"]; n != 0 {
		t.Errorf("%d group service account lists read, with provisioned_by_group_id in the users list", n)
	}
	inGroup := 0
	for _, tok := range with.inv.Tokens {
		if tok.Kind == inventory.KindServiceAccount && tok.Resource.Type == inventory.ResourceGroup {
			inGroup++
		}
	}
	if inGroup == 0 {
		t.Error("no service account token is a group's")
	}

	srv := gitlabsim.NewServer(w, gitlabsim.Options{})
	defer srv.Close()
	without := stripProvisioned(t, srv)
	client, _, err := NewClient(without.URL+"/api/v4", w.AdminToken(), testClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := Collect(t.Context(), client, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := srv.Counts()["GET /groups/:id/service_accounts"]; n != tops {
		t.Errorf("without provisioned_by_group_id: %d group service account lists read, want one per top-level group (%d)", n, tops)
	}
	checkTokens(t, with.inv.Tokens, inv.Tokens)
}

// stripProvisioned serves srv with provisioned_by_group_id taken out of the
// users list, as a GitLab that does not send it; the pages' links name the
// proxy.
func stripProvisioned(t *testing.T, srv *gitlabsim.Server) *httptest.Server {
	t.Helper()
	var proxy *httptest.Server
	proxy = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if r.URL.Path == "/api/v4/users" && rec.Code == http.StatusOK {
			var list []map[string]any
			if err := json.Unmarshal(body, &list); err != nil {
				t.Errorf("users page: %v", err)
			}
			for _, u := range list {
				delete(u, "provisioned_by_group_id")
			}
			body, _ = json.Marshal(list)
		}
		for k, vs := range rec.Header() {
			if k == "Content-Length" {
				continue
			}
			for _, v := range vs {
				rw.Header().Add(k, strings.ReplaceAll(v, srv.URL(), proxy.URL))
			}
		}
		rw.WriteHeader(rec.Code)
		_, _ = rw.Write(bytes.ReplaceAll(body, []byte(srv.URL()), []byte(proxy.URL)))
	}))
	t.Cleanup(proxy.Close)
	return proxy
}
