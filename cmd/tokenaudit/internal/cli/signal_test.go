package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokenaudit/tokenaudit/internal/gitlabsim"
)

// mainArgsEnv makes the test binary run Main with the JSON-encoded
// arguments instead of the tests, so that a test can send a real signal to
// a real tokenaudit process.
const mainArgsEnv = "CLI_TEST_RUN_MAIN_ARGS"

func TestMain(m *testing.M) {
	if raw := os.Getenv(mainArgsEnv); raw != "" {
		var args []string
		if err := json.Unmarshal([]byte(raw), &args); err != nil {
			panic(err)
		}
		os.Args = append([]string{"tokenaudit"}, args...)
		os.Exit(Main())
	}
	os.Exit(m.Run())
}

// TestSignals sends SIGINT and SIGTERM to a running audit: it must stop,
// exit non-zero, say it was interrupted, and leave no report file.
func TestSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := cleanEnv(t)
			w, err := gitlabsim.Generate("small", 1)
			if err != nil {
				t.Fatal(err)
			}
			srv := serve(t, w, gitlabsim.Options{Faults: gitlabsim.Faults{Latency: 300 * time.Millisecond}})
			args, _ := json.Marshal([]string{"audit", "--gitlab-url", srv.URL(), "--output", "json=audit.json", "--output", "csv=audit.csv"})
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), mainArgsEnv+"="+string(args), "GITLAB_TOKEN="+w.AdminToken())
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			for srv.TotalRequests() < 3 {
				time.Sleep(10 * time.Millisecond)
			}
			sent := time.Now()
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err = <-done:
			case <-time.After(time.Minute): // a hang detector, not a speed check
				_ = cmd.Process.Kill()
				t.Fatalf("tokenaudit did not stop after %s; stderr:\n%s", sig, stderr.String())
			}
			t.Logf("stopped %s after %s", time.Since(sent).Round(time.Millisecond), sig)
			var exitErr *exec.ExitError
			if !errors.As(err, &exitErr) || exitErr.ExitCode() != ExitCannotRun {
				t.Errorf("exit %v after %s, want 2; stderr:\n%s", err, sig, stderr.String())
			}
			if !strings.Contains(stderr.String(), "interrupted") {
				t.Errorf("stderr does not say interrupted:\n%s", stderr.String())
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				t.Errorf("file %s left by an interrupted run", filepath.Join(dir, e.Name()))
			}
		})
	}
}
