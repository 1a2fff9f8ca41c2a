package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/olekukonko/tablewriter/pkg/twwidth"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/inventory"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestMain(m *testing.M) {
	// tablewriter guesses East Asian widths from the locale; the golden
	// tables are measured without them.
	twwidth.SetEastAsian(false)
	os.Exit(m.Run())
}

var goldenCases = []struct {
	name   string
	result func() *audit.Result
}{
	{"rich", richResult},
	{"empty", emptyResult},
	{"unavailable", unavailableResult},
}

// checkGolden compares got with testdata/name, which -update rewrites.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test ./report -update): %v", err)
	}
	// Tolerate a checkout that turned LF into CRLF.
	want = bytes.ReplaceAll(want, []byte("\r\n"), []byte("\n"))
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

func render(t testing.TB, format string, r *audit.Result, opts Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, format, r, opts); err != nil {
		t.Fatalf("Write(%s) error: %v", format, err)
	}
	return buf.Bytes()
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		for _, format := range Formats() {
			t.Run(tc.name+"/"+format, func(t *testing.T) {
				checkGolden(t, tc.name+"."+format+".golden", render(t, format, tc.result(), Options{}))
			})
		}
	}
}

func TestNew(t *testing.T) {
	if got, want := Formats(), []string{"csv", "findings-csv", "html", "json", "junit", "owners", "sarif", "table"}; !cmp.Equal(got, want) {
		t.Errorf("Formats() = %v, want %v", got, want)
	}
	for _, f := range Formats() {
		if w, err := New(f, Options{}); err != nil || w == nil {
			t.Errorf("New(%q) = %v, %v; want a writer", f, w, err)
		}
	}
	_, err := New("xml", Options{})
	if err == nil || err.Error() != `unknown report format "xml" (want one of csv, findings-csv, html, json, junit, owners, sarif, table)` {
		t.Errorf("New(xml) error = %v", err)
	}
	if err := Write(&bytes.Buffer{}, "XML", richResult(), Options{}); err == nil {
		t.Error("Write(XML) succeeded; format names are case-sensitive")
	}
}

func TestNilResult(t *testing.T) {
	for _, f := range Formats() {
		var buf bytes.Buffer
		if err := Write(&buf, f, nil, Options{}); err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("Write(%s, nil) error = %v, want one naming the format", f, err)
		}
	}
}

// TestNilInventory: a result without an inventory (a caller's bug) still
// renders instead of panicking.
func TestNilInventory(t *testing.T) {
	r := richResult()
	r.Inventory = nil
	for _, f := range Formats() {
		render(t, f, r, Options{})
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n -= len(p); f.n < 0 {
		return 0, os.ErrClosed
	}
	return len(p), nil
}

// TestWriteError: a failing destination surfaces as an error, whichever
// write hits it.
func TestWriteError(t *testing.T) {
	for _, f := range Formats() {
		for _, budget := range []int{0, 100} {
			err := Write(&failWriter{n: budget}, f, richResult(), Options{})
			if err == nil || !strings.Contains(err.Error(), "file already closed") {
				t.Errorf("Write(%s) to a writer failing after %d bytes: error = %v", f, budget, err)
			}
		}
	}
}

// TestOddStrings: quotes, commas, newlines, unicode, a formula and a
// terminal escape survive each format as that format promises: JSON as
// they were, CSV and the table escaped where they would act.
func TestOddStrings(t *testing.T) {
	odd := []string{
		oddFormula, oddMixed, `he said "hi", then left`, "tab\there", "\x1b[31mred\x1b[0m",
		"-1+1", "@SUM(A1)", "\r\nleading CR", "emoji 🔑", "right-to-left \u202eexe.txt", "bad utf8 \xff",
	}
	r := richResult()
	for i, s := range odd {
		tr := r.Tokens[i%len(r.Tokens)]
		tr.Token.ID = int64(10000 + i)
		tr.Token.Name = s
		r.Tokens = append(r.Tokens, tr)
	}

	t.Run("json", func(t *testing.T) {
		doc := decodeJSON(t, render(t, "json", r, Options{}))
		for i, s := range odd {
			got := doc.Tokens[len(r.Tokens)-len(odd)+i].Name
			want := strings.ToValidUTF8(s, "\uFFFD") // encoding/json's rule for invalid UTF-8
			if got != want {
				t.Errorf("json name = %q, want %q", got, want)
			}
		}
	})
	t.Run("csv", func(t *testing.T) {
		rows := readCSV(t, render(t, "csv", r, Options{}))
		for i, s := range odd {
			got := rows[len(rows)-len(odd)+i][2]
			// Controls are escaped but TAB, CR and LF (the terminal
			// escape reads \x1b[31m); encoding/csv's reader drops a CR
			// before LF inside a quoted field, which the writer wrote.
			if want := strings.ReplaceAll(csvCell(s, escFile), "\r\n", "\n"); got != want {
				t.Errorf("csv name = %q, want %q", got, want)
			}
		}
	})
	t.Run("table", func(t *testing.T) {
		for i := range r.Tokens {
			r.Tokens[i].Severity = audit.SeverityCritical // show every row
		}
		out := string(render(t, "table", r, Options{Width: 200, MaxRows: -1}))
		if strings.ContainsAny(out, "\x1b\r\t\u202e") || !strings.Contains(out, `\x1b[31mred\x1b[0m`) {
			t.Errorf("table passes control characters through or hides them:\n%s", out)
		}
		for _, want := range []string{oddFormula, `he said "hi", then left`, `new\nline — ünïcödé ✓`, "emoji 🔑", `\u202eexe.txt`, `bad utf8 \xff`} {
			if !strings.Contains(out, want) {
				t.Errorf("table lacks %q:\n%s", want, out)
			}
		}
	})
}

// TestAppendExpiry: the one spelling of an expiry is GitLab's form
// (Expiry.String) for CSV and JSON, its UTC date for the table, and
// nothing for never; every report writes a token's expiry through it.
func TestAppendExpiry(t *testing.T) {
	for _, tc := range []struct {
		name       string
		e          inventory.Expiry
		full, date string
	}{
		{"never", inventory.Expiry{}, "", ""},
		{"date", inventory.Expiry{At: day(2027, 11, 1), DateOnly: true}, "2027-11-01", "2027-11-01"},
		// Read in another zone: written in UTC, the date that of UTC.
		{"time", inventory.Expiry{At: time.Date(2026, 12, 2, 0, 30, 0, 0, time.FixedZone("CET", 3600))}, "2026-12-01T23:30:00Z", "2026-12-01"},
	} {
		if got := string(appendExpiry(nil, tc.e, false)); got != tc.full || got != tc.e.String() {
			t.Errorf("%s: appendExpiry = %q, want %q, Expiry.String() %q", tc.name, got, tc.full, tc.e.String())
		}
		if got := string(appendExpiry([]byte("x,"), tc.e, true)); got != "x,"+tc.date {
			t.Errorf("%s: appendExpiry(day) = %q, want %q", tc.name, got, "x,"+tc.date)
		}
	}
}
