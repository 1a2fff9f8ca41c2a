package collect

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
)

// TestImpersonationReadsStartBeforeUsersEnd: the impersonation reads begin
// while GET /users is still being read page by page (impStream): the
// server holds back every users page after the first until an
// impersonation list has been asked for, which without the stream would
// come only after the last users page.
func TestImpersonationReadsStartBeforeUsersEnd(t *testing.T) {
	w := generate(t, "small", 10)
	sim := gitlabsim.NewServer(w, gitlabsim.Options{})
	defer sim.Close()
	asked := make(chan struct{})
	var once sync.Once
	var usersPages atomic.Int64
	var heldTooLong atomic.Bool
	front := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/impersonation_tokens"):
			once.Do(func() { close(asked) })
		case r.URL.Path == "/api/v4/users" && usersPages.Add(1) > 1:
			select {
			case <-asked:
			case <-time.After(20 * time.Second):
				heldTooLong.Store(true)
			}
		}
		sim.Handler().ServeHTTP(rw, r)
	}))
	defer front.Close()
	want, err := collect(t, w, gitlabsim.Options{}, w.AdminToken(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	client, _, err := NewClient(front.URL+"/api/v4", w.AdminToken(), testClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := Collect(context.Background(), client, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if usersPages.Load() < 2 {
		t.Fatalf("GET /users took %d page(s); the test needs more than one", usersPages.Load())
	}
	if heldTooLong.Load() {
		t.Error("no impersonation list was asked for while the users list was still being read")
	}
	inv.GitLab.URL = want.inv.GitLab.URL
	sameInventory(t, "streamed impersonation reads", inv, want.inv)
}
