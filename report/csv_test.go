package report

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenaudit/tokenaudit/audit"
)

func readCSV(t testing.TB, b []byte) [][]string {
	t.Helper()
	rd := csv.NewReader(bytes.NewReader(b))
	rd.FieldsPerRecord = len(CSVHeader) // every row has every column
	rows, err := rd.ReadAll()
	if err != nil {
		t.Fatalf("CSV report does not read back: %v", err)
	}
	return rows
}

// TestCSVRoundTrip: encoding/csv reads back one row a token under the
// header, with the values written and formula cells neutralised.
func TestCSVRoundTrip(t *testing.T) {
	r := richResult()
	rows := readCSV(t, render(t, "csv", r, Options{}))
	if len(rows) != 1+len(r.Tokens) {
		t.Fatalf("%d rows, want a header and %d tokens", len(rows), len(r.Tokens))
	}
	if diff := cmp.Diff(CSVHeader, rows[0]); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
	// Columns are added at the end only.
	if last := rows[0][len(rows[0])-1]; last != "unknown" || rows[0][len(rows[0])-2] != "suppressed" {
		t.Errorf("header ends %q, want suppressed then unknown", rows[0][len(rows[0])-2:])
	}
	col := make(map[string]int)
	for i, h := range rows[0] {
		col[h] = i
	}
	for i, tr := range r.Tokens {
		row := rows[i+1]
		if row[col["kind"]] != string(tr.Token.Kind) || row[col["id"]] != strconv.FormatInt(tr.Token.ID, 10) {
			t.Errorf("row %d is %s %s, want %s %d", i+1, row[0], row[1], tr.Token.Kind, tr.Token.ID)
		}
		name := row[col["name"]]
		if strings.ContainsAny(name[:1], "=+-@\t\r") {
			t.Errorf("row %d: name %q starts a formula", i+1, name)
		}
		if strings.TrimPrefix(name, "'") != tr.Token.Name {
			t.Errorf("row %d: name %q does not read back as %q", i+1, name, tr.Token.Name)
		}
	}
	// Spot checks of the fixed cases.
	want := map[[2]string]string{
		{"101", "expires_at"}:     "",
		{"101", "last_used_at"}:   "2026-11-26T08:15:00Z",
		{"101", "scopes"}:         "api sudo admin_mode",
		{"101", "findings"}:       "TA-001;TA-004",
		{"101", "owner_admin"}:    "true",
		{"2201", "expires_at"}:    "2027-11-01",
		{"2201", "access_level"}:  "40",
		{"2201", "findings"}:      "TA-007",
		{"2201", "suppressed"}:    "TA-010",
		{"31", "owner_username"}:  "",
		{"31", "owner_admin"}:     "",
		{"31", "created_at"}:      "",
		{"31", "expires_at"}:      "2026-12-01T00:00:00Z",
		{"31", "access_level"}:    "",
		{"5", "name"}:             "'" + oddFormula,
		{"5", "scopes"}:           "",
		{"300", "name"}:           "'+sa-token",
		{"300", "owner_username"}: "'-svc",
		{"300", "revoked"}:        "true",
		{"300", "severity"}:       "none",
		{"300", "findings"}:       "",
		{"400", "name"}:           "'@support-impersonation",
		{"900", "name"}:           oddMixed,
		{"31", "unknown"}:         "TA-002;TA-050",
		{"5", "unknown"}:          "TA-062",
		{"101", "unknown"}:        "",
		{"2201", "unknown"}:       "",
	}
	for key, w := range want {
		found := false
		for _, row := range rows[1:] {
			if row[col["id"]] == key[0] {
				found = true
				if got := row[col[key[1]]]; got != w {
					t.Errorf("token %s %s = %q, want %q", key[0], key[1], got, w)
				}
			}
		}
		if !found {
			t.Errorf("no row for token %s", key[0])
		}
	}
}

func TestCSVEmpty(t *testing.T) {
	got := string(render(t, "csv", emptyResult(), Options{}))
	if want := strings.Join(CSVHeader, ",") + "\n"; got != want {
		t.Errorf("empty CSV = %q, want the header line %q", got, want)
	}
}

func TestNeutralise(t *testing.T) {
	for in, want := range map[string]string{
		"":           "",
		"=1+1":       "'=1+1",
		"+1":         "'+1",
		"-1":         "'-1",
		"@SUM(A1)":   "'@SUM(A1)",
		"\tx":        "'\tx",
		"\rx":        "'\rx",
		"a=b":        "a=b",
		"'quoted":    "'quoted",
		"42":         "42",
		"2026-01-02": "2026-01-02",
		"read_api":   "read_api",
		" =leading":  " =leading",
		"ünïcödé":    "ünïcödé",
	} {
		if got := neutralise(in); got != want {
			t.Errorf("neutralise(%q) = %q, want %q", in, got, want)
		}
	}
}

// referenceCSV writes the report with encoding/csv, cell by cell: the
// straightforward version of CSVWriter.
func referenceCSV(t testing.TB, r *audit.Result) string {
	t.Helper()
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	cw.Write(CSVHeader)
	for _, tr := range r.Tokens {
		tok := tr.Token
		var username, otype, state, admin, access string
		if o := tok.Owner; o != nil {
			username, otype, state, admin = o.Username, string(o.Type), o.State, strconv.FormatBool(o.Admin)
		}
		if tok.AccessLevel != 0 {
			access = strconv.Itoa(tok.AccessLevel)
		}
		var open, suppressed []string
		for _, f := range tr.Findings {
			if f.Suppressed {
				suppressed = append(suppressed, f.Rule)
			} else {
				open = append(open, f.Rule)
			}
		}
		cw.Write([]string{
			string(tok.Kind), strconv.FormatInt(tok.ID, 10), neutralise(tok.Name),
			neutralise(username), otype, neutralise(state), admin,
			string(tok.Resource.Type), neutralise(tok.Resource.Path),
			neutralise(strings.Join(tok.Scopes, " ")), access,
			formatTime(tok.CreatedAt), tok.Expires.String(), formatTime(tok.LastUsedAt),
			strconv.FormatBool(tr.Active), strconv.FormatBool(tok.Revoked),
			strconv.Itoa(tr.RiskScore), tr.Severity.String(),
			neutralise(strings.Join(open, ";")), neutralise(strings.Join(suppressed, ";")),
			neutralise(strings.Join(tr.Unknown, ";")),
		})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestCSVMatchesEncodingCSV: the hand-built rows are what encoding/csv
// writes for the same cells, odd strings included.
func TestCSVMatchesEncodingCSV(t *testing.T) {
	r := richResult()
	for i, s := range []string{" lead", "\tlead", `\.`, "=a,b", "+\"q\"", "-\n", "@\r\n", "'", "a\"b", "\u00a0nbsp", "\u3000ideographic", "\xff", ""} {
		tr := r.Tokens[i%len(r.Tokens)]
		tr.Token.ID = int64(20000 + i)
		tr.Token.Name, tr.Token.Resource.Path = s, s
		tr.Token.Scopes = []string{s, "api"}
		tr.Findings = []audit.Finding{{Rule: s}, {Rule: s + ",x", Suppressed: true}}
		tr.Unknown = []string{"TA-030", s}
		r.Tokens = append(r.Tokens, tr)
	}
	for _, res := range []*audit.Result{r, emptyResult()} {
		want := referenceCSV(t, res)
		got := string(render(t, "csv", res, Options{}))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("CSV differs from encoding/csv (-want +got):\n%s", diff)
		}
	}
}

// FuzzCSVField: any cell reads back, through encoding/csv, as the
// neutralised value (CR LF read back as LF, as encoding/csv's reader
// does), and never as a formula.
func FuzzCSVField(f *testing.F) {
	for _, s := range []string{"", oddFormula, oddMixed, " x", `\.`, "\r", "a\"b\"", "-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		line := appendCSVField(nil, s, true)
		line = append(line, ",end\n"...)
		rec, err := csv.NewReader(bytes.NewReader(line)).Read()
		if err != nil {
			t.Fatalf("cell %q does not read back: %v\n%q", s, err, line)
		}
		want := strings.ReplaceAll(neutralise(s), "\r\n", "\n")
		if len(rec) != 2 || rec[1] != "end" {
			t.Fatalf("cell %q split the row: %q", s, rec)
		}
		// encoding/csv's reader also turns a lone CR inside quotes into
		// LF only when followed by LF; compare what it can represent.
		if rec[0] != want && !(strings.Contains(s, "\r") && strings.ReplaceAll(rec[0], "\r", "") == strings.ReplaceAll(want, "\r", "")) {
			t.Errorf("cell %q reads back as %q, want %q", s, rec[0], want)
		}
		if rec[0] != "" && isFormulaStart(rec[0][0]) {
			t.Errorf("cell %q reads back as formula %q", s, rec[0])
		}
	})
}
