package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/inventory"
)

// junitDoc is the JUnit report as GitLab's parser
// (lib/gitlab/ci/parsers/test/junit.rb) reads it: testsuites, then
// testsuite, then testcase with classname, name and time, whose status is
// which of failure, error and skipped it holds.
type junitDoc struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Errors   int    `xml:"errors,attr"`
		Skipped  int    `xml:"skipped,attr"`
		Cases    []struct {
			Classname string  `xml:"classname,attr"`
			Name      string  `xml:"name,attr"`
			Time      *string `xml:"time,attr"`
			Failure   *string `xml:"failure"`
			Error     *string `xml:"error"`
			Skipped   *string `xml:"skipped"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

type junitTally struct{ tests, failures, errors, skipped, passed int }

func readJUnit(t *testing.T, b []byte) (junitDoc, junitTally) {
	t.Helper()
	var doc junitDoc
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("JUnit report does not parse: %v\n%s", err, b)
	}
	var n junitTally
	for _, s := range doc.Suites {
		var sn junitTally
		for _, c := range s.Cases {
			if c.Classname == "" || c.Name == "" || c.Time == nil {
				t.Errorf("case %+v lacks classname, name or time", c)
			}
			sn.tests++
			switch {
			case c.Failure != nil:
				sn.failures++
			case c.Error != nil:
				sn.errors++
			case c.Skipped != nil:
				sn.skipped++
				if *c.Skipped == "" {
					t.Errorf("case %q skipped without saying why", c.Name)
				}
			default:
				sn.passed++
			}
		}
		if s.Tests != sn.tests || s.Failures != sn.failures || s.Errors != sn.errors || s.Skipped != sn.skipped {
			t.Errorf("suite %q says tests %d failures %d errors %d skipped %d; its cases are %+v", s.Name, s.Tests, s.Failures, s.Errors, s.Skipped, sn)
		}
		n.tests, n.failures, n.errors, n.skipped, n.passed = n.tests+sn.tests, n.failures+sn.failures, n.errors+sn.errors, n.skipped+sn.skipped, n.passed+sn.passed
	}
	if doc.Tests != n.tests || doc.Failures != n.failures || doc.Errors != n.errors || doc.Skipped != n.skipped {
		t.Errorf("testsuites says tests %d failures %d errors %d skipped %d; the cases are %+v", doc.Tests, doc.Failures, doc.Errors, doc.Skipped, n)
	}
	return doc, n
}

// jsonTally counts, from the JSON report of the same result, what the JUnit
// report must show: failures are the unsuppressed findings at or above
// floor, skipped the suppressed findings and the unknown rules, errors the
// gaps of kind error, passes the findings below floor and the rules that
// passed (which the JSON does not list: passed is given).
func jsonTally(t *testing.T, b []byte, floor audit.Severity, fails bool, passed int) junitTally {
	t.Helper()
	var doc struct {
		Tokens []struct {
			Findings []jsonFindingTally `json:"findings"`
			Unknown  []string           `json:"unknown"`
		} `json:"tokens"`
		Findings []jsonFindingTally `json:"findings"`
		Gaps     []struct {
			Kind string `json:"kind"`
		} `json:"gaps"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("report is not JSON: %v", err)
	}
	n := junitTally{passed: passed}
	add := func(f jsonFindingTally) {
		sev, err := audit.ParseSeverity(f.Severity)
		if err != nil {
			t.Fatal(err)
		}
		n.tests++
		switch {
		case f.Suppressed:
			n.skipped++
		case fails && sev >= floor:
			n.failures++
		default:
			n.passed++
		}
	}
	for _, tok := range doc.Tokens {
		for _, f := range tok.Findings {
			add(f)
		}
		n.tests += len(tok.Unknown)
		n.skipped += len(tok.Unknown)
	}
	for _, f := range doc.Findings {
		add(f)
	}
	for _, g := range doc.Gaps {
		if g.Kind == string(inventory.GapError) {
			n.tests++
			n.errors++
		}
	}
	n.tests += passed
	return n
}

type jsonFindingTally struct {
	Severity   string `json:"severity"`
	Suppressed bool   `json:"suppressed"`
}

// evaluatedResult is a result of audit.Evaluate, so that tokens carry the
// rules that passed, with one exception in force.
func evaluatedResult(t *testing.T) *audit.Result {
	t.Helper()
	rich := richResult()
	inv := *rich.Inventory
	inv.Tokens = nil
	for _, tr := range rich.Tokens {
		inv.Tokens = append(inv.Tokens, tr.Token)
	}
	p := audit.DefaultPolicy()
	p.Exceptions = []audit.Exception{{Rule: "*", Kind: string(inv.Tokens[0].Kind), ID: inv.Tokens[0].ID, Reason: "break-glass <token> & co", Expires: "2099-01-01"}}
	r, err := audit.Evaluate(&inv, p, rich.Now)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestJUnitCounts reads the JUnit report back as GitLab does and checks
// its counts against the JSON report of the same result, for each
// --fail-on.
func TestJUnitCounts(t *testing.T) {
	evaluated := evaluatedResult(t)
	for _, rc := range []struct {
		name string
		r    *audit.Result
	}{{"rich", richResult()}, {"evaluated", evaluated}, {"empty", emptyResult()}, {"unavailable", unavailableResult()}} {
		passed := 0
		for _, tr := range rc.r.Tokens {
			passed += len(tr.Passed)
		}
		if rc.name == "evaluated" && passed == 0 {
			t.Fatal("the evaluated result has no passed rule: the test proves nothing")
		}
		jsonReport := render(t, "json", rc.r, Options{})
		for _, oc := range []struct {
			name  string
			opts  Options
			floor audit.Severity
			fails bool
		}{
			{"default", Options{}, audit.SeverityHigh, true},
			{"medium", Options{FailOn: audit.SeverityMedium}, audit.SeverityMedium, true},
			{"critical", Options{FailOn: audit.SeverityCritical}, audit.SeverityCritical, true},
			{"none", Options{FailNever: true}, 0, false},
		} {
			t.Run(rc.name+"/"+oc.name, func(t *testing.T) {
				_, got := readJUnit(t, render(t, "junit", rc.r, oc.opts))
				want := jsonTally(t, jsonReport, oc.floor, oc.fails, passed)
				if got != want {
					t.Errorf("JUnit cases %+v, want %+v from the JSON report", got, want)
				}
			})
		}
	}
}

// TestJUnitCaseTexts: a suppressed finding is skipped with the exception's
// reason, an unknown rule with "not judged: data missing", a passed rule
// is named with its title, and markup in GitLab's text stays text.
func TestJUnitCaseTexts(t *testing.T) {
	r := evaluatedResult(t)
	tok := r.Tokens[0]
	for _, tr := range r.Tokens {
		if tr.Token.ID == r.Inventory.Tokens[0].ID && tr.Token.Kind == r.Inventory.Tokens[0].Kind {
			tok = tr
		}
	}
	if len(tok.Findings) == 0 {
		t.Fatal("the excepted token has no finding")
	}
	doc, _ := readJUnit(t, render(t, "junit", r, Options{}))
	cases := map[string]string{} // name → status text
	for _, c := range doc.Suites[0].Cases {
		switch {
		case c.Skipped != nil:
			cases[c.Name] = "skipped: " + *c.Skipped
		case c.Failure != nil:
			cases[c.Name] = "failure"
		default:
			cases[c.Name] = "pass"
		}
	}
	label := tokenLabel(&tok.Token)
	for _, f := range tok.Findings {
		name := label + ": " + f.Rule + " " + f.Title
		if got, want := cases[name], "skipped: suppressed by an exception: break-glass <token> & co"; got != want {
			t.Errorf("case %q: %q, want %q", name, got, want)
		}
	}
	var unknown, passed int
	titles := ruleTitles()
	for _, tr := range r.Tokens {
		for _, id := range tr.Unknown {
			unknown++
			if got := cases[tokenLabel(&tr.Token)+": "+id+" "+titles[id]]; got != "skipped: "+notJudged {
				t.Errorf("unknown rule %s of %s: %q", id, tokenLabel(&tr.Token), got)
			}
		}
		for _, id := range tr.Passed {
			passed++
			if got := cases[tokenLabel(&tr.Token)+": "+id+" "+titles[id]]; got != "pass" {
				t.Errorf("passed rule %s of %s: %q", id, tokenLabel(&tr.Token), got)
			}
		}
	}
	if unknown == 0 || passed == 0 {
		t.Errorf("unknown %d passed %d: the fixture should have both", unknown, passed)
	}
}

// TestJUnitEscapes: GitLab's text with markup, controls and bidi overrides
// stays well-formed XML that shows them as escapes, and nothing acts.
func TestJUnitEscapes(t *testing.T) {
	r := richResult()
	r.Tokens[0].Token.Name = `</testcase><x a="` + "\x1b]0;pwned\a\u202e\x00&"
	r.Tokens[0].Findings[0].Detail = "]]><!-- \x9b2J \xff"
	r.Findings[0].Resource = "project <a>&\u2066"
	b := render(t, "junit", r, Options{})
	doc, _ := readJUnit(t, b)
	for _, bad := range []string{"\x1b", "\a", "\x00", "\u202e", "\u2066", "\u009b", "\xff", "\ufffd", "<x "} {
		if bytes.Contains(b, []byte(bad)) {
			t.Errorf("report holds %q", bad)
		}
	}
	want := tokenLabel(&r.Tokens[0].Token)
	found := false
	for _, c := range doc.Suites[0].Cases {
		if strings.HasPrefix(c.Name, `personal 101 "</testcase><x a=\"\x1b]0;pwned\a\u202e\x00&"`) {
			found = true
		}
	}
	if !found {
		t.Errorf("no case is named after %s", want)
	}
}

// TestJUnitNilResult: a nil result is an error, not a panic.
func TestJUnitNilResult(t *testing.T) {
	if err := (JUnitWriter{}).Write(&bytes.Buffer{}, nil); err == nil {
		t.Error("no error for a nil result")
	}
}
