package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzConfigFile feeds arbitrary bytes to the configuration loader as a
// tokenaudit.yaml: it must never panic, and an error must be one line that
// names the file, never a raw dump.
//
//	go test ./cmd/tokenaudit/internal/cli -run '^$' -fuzz FuzzConfigFile -fuzztime 1m
func FuzzConfigFile(f *testing.F) {
	example, err := os.ReadFile("../../../../config.example.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		string(example),
		"",
		"~\n",
		"- a\n- b\n",
		"fail_on: high\nconcurrency: 4\n",
		"policy:\n  rules:\n    TA-001: {severity: low}\n  exceptions:\n    - {rule: TA-001, owner: bob, reason: x, expires: 2030-01-01}\n",
		"policy:\n  exceptions:\n    - {rule: TA-001, expires: 2030-01-01T10:00:00Z}\n",
		"timeout: 5s\ngroups: [a, b]\noutput: [json=a.json]\n",
		"a: &x {b: 1}\nc: *x\n",
		"concurrency: 0x10\n",
		"policy: {rules: {TA-001: []}}\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "tokenaudit.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, _, err := loadConfig(path, dir, nil, nil)
		if err != nil {
			msg := err.Error()
			if !strings.Contains(msg, path) {
				t.Errorf("error does not name the file: %q", msg)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			return
		}
		_ = cfg.validate()
	})
}
