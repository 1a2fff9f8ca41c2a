package report

import (
	"bytes"
	"encoding/csv"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

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
	// Columns are added at the end only: the header starts with every
	// column of earlier releases, in their order.
	released := []string{
		"kind", "id", "name", "owner_username", "owner_type", "owner_state", "owner_admin",
		"resource_type", "resource_path", "scopes", "access_level", "created_at", "expires_at", "last_used_at",
		"active", "revoked", "risk_score", "severity", "findings", "suppressed", "unknown",
		"baseline", "new_findings", "resolved_findings", "gitlab_url",
	}
	if len(rows[0]) < len(released) || !slices.Equal(rows[0][:len(released)], released) {
		t.Errorf("header %q does not start with the released columns %q", rows[0], released)
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
		if formulaStart(name) {
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
		{"101", "scopes"}:         "api;sudo;admin_mode",
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
		"ünïcödé":    "ünïcödé",
		// Beyond OWASP's list: white space a spreadsheet may trim, a BOM,
		// the fullwidth forms.
		" =leading":       "' =leading",
		" ":               "' ",
		"\nx":             "'\nx",
		"\u00a0x":         "'\u00a0x",
		"\u3000x":         "'\u3000x",
		"\ufeff=1":        "'\ufeff=1",
		"\uff1d1+1":       "'\uff1d1+1",
		"\uff0b1":         "'\uff0b1",
		"\uff0d1":         "'\uff0d1",
		"\uff20SUM(A1)":   "'\uff20SUM(A1)",
		"a\uff1db":        "a\uff1db",
		"\uff21fullwidth": "\uff21fullwidth",
	} {
		if got := neutralise(in); got != want {
			t.Errorf("neutralise(%q) = %q, want %q", in, got, want)
		}
	}
}

// csvCell is what a cell of text users choose holds: its characters of set
// escaped, then neutralised.
func csvCell(s string, set escapeSet) string {
	return neutralise(string(appendEscaped(nil, s, set)))
}

// referenceCSV writes the report with encoding/csv, cell by cell: the
// straightforward version of CSVWriter, for a file or (set escTerminal) a
// terminal.
func referenceCSV(t testing.TB, r *audit.Result, set escapeSet) string {
	t.Helper()
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	cw.Write(CSVHeader)
	for _, tr := range r.Tokens {
		tok := tr.Token
		var username, otype, state, admin, access, email string
		if o := tok.Owner; o != nil {
			username, otype, state, admin, email = o.Username, string(o.Type), o.State, strconv.FormatBool(o.Admin), o.Email
		}
		if tok.AccessLevel != 0 {
			access = strconv.Itoa(tok.AccessLevel)
		}
		var open, suppressed, news []string
		for _, f := range tr.Findings {
			if f.Suppressed {
				suppressed = append(suppressed, f.Rule)
			} else {
				open = append(open, f.Rule)
				if f.Baseline == audit.ChangeNew {
					news = append(news, f.Rule)
				}
			}
		}
		var resolved []string
		if r.Baseline != nil && tr.Baseline == audit.ChangeUnchanged {
			for _, f := range r.Baseline.Resolved {
				if f.Token != nil && f.Token.Kind == tok.Kind && f.Token.ID == tr.BaselineID &&
					audit.NormalizeURL(f.GitLabURL) == audit.NormalizeURL(tr.GitLabURL) {
					resolved = append(resolved, f.Rule)
				}
			}
		}
		url := tr.GitLabURL
		if url == "" {
			url = r.Inventory.GitLab.URL
		}
		user := func(s string) string { return csvCell(s, set) }
		cw.Write([]string{
			string(tok.Kind), strconv.FormatInt(tok.ID, 10), user(tok.Name),
			user(username), user(otype), user(state), admin,
			user(string(tok.Resource.Type)), user(tok.Resource.Path),
			user(strings.Join(tok.Scopes, ";")), access,
			formatTime(tok.CreatedAt), tok.Expires.String(), formatTime(tok.LastUsedAt),
			strconv.FormatBool(tr.Active), strconv.FormatBool(tok.Revoked),
			strconv.Itoa(tr.RiskScore), tr.Severity.String(),
			user(strings.Join(open, ";")), user(strings.Join(suppressed, ";")),
			user(strings.Join(tr.Unknown, ";")),
			tr.Baseline.String(), user(strings.Join(news, ";")), user(strings.Join(resolved, ";")),
			user(url),
			user(email), user(TokenWebURL(r, &tr)),
		})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestCSVMatchesEncodingCSV: the hand-built rows are what encoding/csv
// writes for the same cells, odd strings included, in a file and on a
// terminal.
func TestCSVMatchesEncodingCSV(t *testing.T) {
	r := richResult()
	for i, s := range []string{
		" lead", "\tlead", `\.`, "=a,b", "+\"q\"", "-\n", "@\r\n", "'", "a\"b", "\u00a0nbsp", "\u3000ideographic", "\xff", "",
		"\x1b]0;t\a,x", "\x00=1", "\u202e\"q\"", "\u009b2J", "\ufeff@", "\uff1d1", "a\tb\x7f", "\\x1b",
	} {
		tr := r.Tokens[i%len(r.Tokens)]
		tr.Token.ID = int64(20000 + i)
		tr.Token.Name, tr.Token.Resource.Path = s, s
		tr.Token.Scopes = []string{s, "api"}
		tr.Findings = []audit.Finding{{Rule: s}, {Rule: s + ",x", Suppressed: true}}
		tr.Unknown = []string{"TA-030", s}
		if tr.Token.Owner != nil {
			o := *tr.Token.Owner
			o.Email = s
			tr.Token.Owner = &o
		}
		tr.Token.WebURL = s
		r.Tokens = append(r.Tokens, tr)
	}
	for _, res := range []*audit.Result{r, emptyResult()} {
		for _, term := range []bool{false, true} {
			set := escFile
			if term {
				set = escTerminal
			}
			want := referenceCSV(t, res, set)
			got := string(render(t, "csv", res, Options{Terminal: term}))
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("CSV (terminal %v) differs from encoding/csv (-want +got):\n%s", term, diff)
			}
		}
	}
}

// FuzzCSVField: any cell of text users choose reads back, through
// encoding/csv, as the escaped and neutralised value (CR LF read back as
// LF, as encoding/csv's reader does), never as a formula, and with no
// character of its escape set left raw: for a file, a line of it keeps
// TAB, LF and CR only; for a terminal, not even those.
func FuzzCSVField(f *testing.F) {
	for _, s := range []string{"", oddFormula, oddMixed, " x", `\.`, "\r", "a\"b\"", "-1", "\x1b]0;t\a\x1b[2J", "\u202e\u009b", "\uff1d1", "\ufeff="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, set := range []escapeSet{escFile, escTerminal} {
			line := appendCSVText(nil, s, set)
			if needsEscape(line, set) {
				t.Errorf("cell %q (set %d) holds a character it escapes: %q", s, set, line)
			}
			line = append(line, ",end\n"...)
			rec, err := csv.NewReader(bytes.NewReader(line)).Read()
			if err != nil {
				t.Fatalf("cell %q does not read back: %v\n%q", s, err, line)
			}
			want := strings.ReplaceAll(csvCell(s, set), "\r\n", "\n")
			if len(rec) != 2 || rec[1] != "end" {
				t.Fatalf("cell %q split the row: %q", s, rec)
			}
			// encoding/csv's reader also turns a lone CR inside quotes into
			// LF only when followed by LF; compare what it can represent.
			if rec[0] != want && !(strings.Contains(s, "\r") && strings.ReplaceAll(rec[0], "\r", "") == strings.ReplaceAll(want, "\r", "")) {
				t.Errorf("cell %q reads back as %q, want %q", s, rec[0], want)
			}
			if formulaStart(rec[0]) {
				t.Errorf("cell %q reads back as formula %q", s, rec[0])
			}
		}
	})
}

// hostileTitle sets a terminal's title (OSC 0, ended by BEL) and clears
// its screen (CSI 2 J).
const hostileTitle = "\x1b]0;title\a\x1b[2J"

// TestCSVTerminalEscapes: CSV on a terminal shows the escape sequences of
// a token name escaped, as the table does, and keeps each row on one line.
func TestCSVTerminalEscapes(t *testing.T) {
	r := richResult()
	r.Tokens[0].Token.Name = "evil" + hostileTitle
	r.Tokens[1].Token.Name = "two\nlines\r\tand \u202e\u009b"
	out := render(t, "csv", r, Options{Terminal: true})
	if bytes.ContainsAny(out, "\x1b\a\r\t\u202e\u009b") {
		t.Errorf("CSV on a terminal holds raw control characters:\n%q", out)
	}
	if lines := bytes.Count(out, []byte("\n")); lines != 1+len(r.Tokens) {
		t.Errorf("%d lines, want a header and one line a token (%d)", lines, len(r.Tokens))
	}
	rows := readCSV(t, out)
	for i, want := range []string{`evil\x1b]0;title\a\x1b[2J`, `two\nlines\r\tand \u202e\u009b`} {
		if got := rows[1+i][2]; got != want {
			t.Errorf("token %d: name %q, want %q", i, got, want)
		}
	}
}

// TestCSVFileEscapes: the CSV file keeps TAB, LF and CR in a quoted field
// as data and escapes every other control (NUL, ESC, BEL, DEL, C1), the
// bidi controls and invalid UTF-8, so it is valid UTF-8 without a byte a
// terminal or a spreadsheet acts on.
func TestCSVFileEscapes(t *testing.T) {
	r := richResult()
	r.Tokens[0].Token.Name = "evil" + hostileTitle
	r.Tokens[1].Token.Name = "nul\x00 del\x7f csi\u009b rlo\u202e lri\u2066 bad\xff"
	r.Tokens[2].Token.Name = "tab\tlf\ncr\rend"
	out := render(t, "csv", r, Options{})
	if !utf8.Valid(out) {
		t.Errorf("CSV file is not valid UTF-8:\n%q", out)
	}
	for _, c := range string(out) {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c == 0x7f || c >= 0x80 && c <= 0x9f || c == 0x202e || c == 0x2066 {
			t.Errorf("CSV file holds raw %U", c)
		}
	}
	rows := readCSV(t, out)
	for i, want := range []string{
		`evil\x1b]0;title\a\x1b[2J`,
		`nul\x00 del\x7f csi\u009b rlo\u202e lri\u2066 bad\xff`,
		"tab\tlf\ncr\rend",
	} {
		if got := rows[1+i][2]; got != want {
			t.Errorf("token %d: name %q, want %q", i, got, want)
		}
	}
}

// TestCSVNeutralisesNewStarts: a name starting with white space, a BOM or
// a fullwidth formula character reads back with the apostrophe in a file.
// On a terminal a leading character that is not printable (TAB, CR, LF,
// NBSP, the BOM) is escaped instead, and a cell starting with a backslash is no
// formula.
func TestCSVNeutralisesNewStarts(t *testing.T) {
	for _, tc := range []struct{ name, file, term string }{
		{" =1+1", "' =1+1", "' =1+1"},
		{"\n=1+1", "'\n=1+1", `\n=1+1`},
		{"\t=1", "'\t=1", `\t=1`},
		{"\r=1", "'\r=1", `\r=1`},
		{"\u00a0=1", "'\u00a0=1", `\u00a0=1`},
		{"\ufeff=1+1", "'\ufeff=1+1", `\ufeff=1+1`},
		{"\uff1d1+1", "'\uff1d1+1", "'\uff1d1+1"},
		{"\uff0b1", "'\uff0b1", "'\uff0b1"},
		{"\uff0d1", "'\uff0d1", "'\uff0d1"},
		{"\uff20SUM(A1)", "'\uff20SUM(A1)", "'\uff20SUM(A1)"},
	} {
		r := richResult()
		r.Tokens[0].Token.Name = tc.name
		for _, term := range []bool{false, true} {
			want := tc.file
			if term {
				want = tc.term
			}
			if got := readCSV(t, render(t, "csv", r, Options{Terminal: term}))[1][2]; got != want {
				t.Errorf("terminal %v: %q reads back as %q, want %q", term, tc.name, got, want)
			}
		}
	}
}
