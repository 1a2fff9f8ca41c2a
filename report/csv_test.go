package report

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
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
