package collect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/sync/errgroup"

	"github.com/tokenaudit/tokenaudit/inventory"
)

// TestGranularTokenNotMisjudgedInactive: GitLab sends active false for a
// granular token to a caller without the granular tokens feature, though it
// works; read as inactive, its findings would be hidden.
func TestGranularTokenNotMisjudgedInactive(t *testing.T) {
	base := `"id":1,"name":"t","user_id":2,"created_at":"2026-01-01T00:00:00Z","expires_at":"2027-01-01","scopes":["api"]`
	tests := []struct {
		name, fields string
		active       bool
	}{
		{"granular, flag missing", `"active":false,"revoked":false,"granular":true,"expired":false`, true},
		{"granular without expired key", `"active":false,"revoked":false,"granular":true`, true},
		{"granular, revoked", `"active":false,"revoked":true,"granular":true,"expired":false`, false},
		{"granular, expired", `"active":false,"revoked":false,"granular":true,"expired":true`, false},
		{"legacy, inactive", `"active":false,"revoked":false,"granular":false`, false},
		{"older GitLab, inactive", `"active":false,"revoked":false`, false},
		{"active", `"active":true,"revoked":false`, true},
	}
	for _, tt := range tests {
		var p patWire
		if err := json.Unmarshal([]byte("{"+base+","+tt.fields+"}"), &p); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := mapPAT(&p, inventory.KindPersonal, nil, inventory.Resource{Type: inventory.ResourceInstance}, srcPATs).Active; got != tt.active {
			t.Errorf("%s: active %v, want %v", tt.name, got, tt.active)
		}
	}
}

// TestFinalErrorsAreNotRepeated: a refused redirect, a body over the limit,
// a malformed header and a wait longer than allowed are the server's answer,
// not a broken exchange: repeating the request would get the same.
func TestFinalErrorsAreNotRepeated(t *testing.T) {
	for _, err := range []error{
		fmt.Errorf("get: %w", ErrRedirect),
		fmt.Errorf("get: %w", ErrWaitTooLong),
		&BodyTooLargeError{},
		&HeaderError{},
	} {
		if transient(err) {
			t.Errorf("%T %v is repeated", err, err)
		}
	}
	if !transient(errors.New("unexpected EOF")) {
		t.Error("a body cut short is not repeated")
	}
}

// TestWorkerPanicIsAnError: a panic in a collector goroutine, which no
// caller could recover, stops the collection with ErrInternal instead.
func TestWorkerPanicIsAnError(t *testing.T) {
	client, _, err := NewClient("http://127.0.0.1:1/api/v4", "test-token", testClientOptions)
	if err != nil {
		t.Fatal(err)
	}
	c := newCollector(client, Options{})
	g, gctx := errgroup.WithContext(context.Background())
	start := c.starter(g, gctx)
	start(func(context.Context) error { return nil })
	start(func(context.Context) error { panic("boom") })
	if err := g.Wait(); !errors.Is(err, ErrInternal) || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("Wait = %v, want ErrInternal naming the panic", err)
	}
	if c.done != c.planned {
		t.Errorf("progress: %d of %d done after the panic", c.done, c.planned)
	}
}
