// Package secrettest is the secret scan the tests of several packages
// share: token values are secrets, so a test proves that none reaches what
// the tool writes or keeps, and says which leaked without printing it.
package secrettest

import (
	"bytes"
	"testing"

	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
)

// Scan fails t (without stopping it) when data holds any non-empty value of
// secrets. The failure names the leaked values by their index in secrets,
// never by value, so that the test's own output cannot leak them.
func Scan(t testing.TB, label string, data []byte, secrets []string) {
	t.Helper()
	var leaked []int
	for i, s := range secrets {
		if s != "" && bytes.Contains(data, []byte(s)) {
			leaked = append(leaked, i)
		}
	}
	if len(leaked) > 0 {
		t.Errorf("%s: %d of %d token values appear (indexes %v in the list searched; values not shown)", label, len(leaked), len(secrets), leaked)
	}
}

// WorldSecrets is every token value w holds, in this order: its personal,
// impersonation and resource access tokens (w.Tokens), its deploy tokens,
// its pipeline trigger tokens; an index Scan reports counts in that order.
func WorldSecrets(w *gitlabsim.World) []string {
	secrets := make([]string, 0, len(w.Tokens)+len(w.DeployTokens)+len(w.Triggers))
	for _, tk := range w.Tokens {
		secrets = append(secrets, tk.Value)
	}
	for _, tk := range w.DeployTokens {
		secrets = append(secrets, tk.Value)
	}
	for _, tk := range w.Triggers {
		secrets = append(secrets, tk.Value)
	}
	return secrets
}
