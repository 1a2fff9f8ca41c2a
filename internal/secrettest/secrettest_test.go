package secrettest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
)

// recorder is a testing.TB that keeps the failures Scan reports.
type recorder struct {
	testing.TB
	failures []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

func TestScan(t *testing.T) {
	const a, b = "glpat-secret-value-aaaa", "gldt-secret-value-bbbb"
	for _, tt := range []struct {
		name    string
		data    string
		secrets []string
		want    string // "" for no failure
	}{
		{"clean", "nothing to see", []string{a, b}, ""},
		{"empty secret never matches", "anything", []string{"", a}, ""},
		{"one leak", "x " + b + " y", []string{a, b}, "out: 1 of 2 token values appear (indexes [1] in the list searched; values not shown)"},
		{"two leaks", a + b, []string{"", a, b}, "out: 2 of 3 token values appear (indexes [1 2] in the list searched; values not shown)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{TB: t}
			Scan(r, "out", []byte(tt.data), tt.secrets)
			if tt.want == "" {
				if len(r.failures) != 0 {
					t.Fatalf("failures %q, want none", r.failures)
				}
				return
			}
			if len(r.failures) != 1 || r.failures[0] != tt.want {
				t.Fatalf("failures %q, want [%q]", r.failures, tt.want)
			}
			for _, s := range tt.secrets {
				if s != "" && strings.Contains(r.failures[0], s) {
					t.Fatal("the failure message prints a secret")
				}
			}
		})
	}
}

func TestWorldSecrets(t *testing.T) {
	w, err := gitlabsim.Generate("small", 1)
	if err != nil {
		t.Fatal(err)
	}
	got := WorldSecrets(w)
	if len(w.Tokens) == 0 || len(w.DeployTokens) == 0 || len(w.Triggers) == 0 {
		t.Fatal("the small world lacks a token table; the test proves little")
	}
	if len(got) != len(w.Tokens)+len(w.DeployTokens)+len(w.Triggers) {
		t.Fatalf("%d secrets, want %d", len(got), len(w.Tokens)+len(w.DeployTokens)+len(w.Triggers))
	}
	if got[0] != w.Tokens[0].Value || got[len(w.Tokens)] != w.DeployTokens[0].Value || got[len(got)-1] != w.Triggers[len(w.Triggers)-1].Value {
		t.Error("values out of the documented order (values not shown)")
	}
}
