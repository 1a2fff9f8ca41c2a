package cli

import (
	"os"
	"strings"
	"testing"
)

// TestTableLimit: --limit N and --all say how many token rows the demo's
// table shows, the table says how many it left out, and a bad value or
// both flags are refused.
func TestTableLimit(t *testing.T) {
	flat := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	res := run(t, "demo", "--limit", "3")
	if res.code != 0 {
		t.Fatalf("demo --limit 3: exit %d\n%s", res.code, res.stderr)
	}
	if out := flat(res.stdout); !strings.Contains(out, "Showing the 3 worst of") || !strings.Contains(out, "--all shows every one") {
		t.Errorf("demo --limit 3: no note of the rows left out:\n%s", res.stdout)
	}
	if out := flat(run(t, "demo").stdout); !strings.Contains(out, "Showing the 50 worst of") {
		t.Errorf("demo: the default cap of 50 rows is gone:\n%s", out)
	}
	if res := run(t, "demo", "--all"); res.code != 0 || strings.Contains(res.stdout, "Showing the") {
		t.Errorf("demo --all: exit %d, or rows left out:\n%s", res.code, res.stdout)
	}
	for _, args := range [][]string{{"--limit", "0"}, {"--limit", "x"}, {"--limit", "3", "--all"}} {
		if res := run(t, append([]string{"demo"}, args...)...); res.code != ExitCannotRun {
			t.Errorf("demo %v: exit %d, want %d", args, res.code, ExitCannotRun)
		}
	}
}

// TestTableWidthColumns: COLUMNS sets the width when stdout is no terminal.
func TestTableWidthColumns(t *testing.T) {
	t.Setenv("COLUMNS", "132")
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if w := widthOf(f); w != 132 {
		t.Errorf("widthOf(a file) = %d with COLUMNS=132, want 132", w)
	}
	t.Setenv("COLUMNS", "wide")
	if w := widthOf(f); w != 0 {
		t.Errorf("widthOf(a file) = %d with COLUMNS=wide, want 0", w)
	}
}
