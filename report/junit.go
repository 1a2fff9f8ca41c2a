package report

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/inventory"
)

// JUnitWriter writes JUnit XML for GitLab's unit test reports
// (artifacts:reports:junit, https://docs.gitlab.com/ci/testing/unit_test_reports/),
// so that a scheduled audit's findings show in the pipeline's Tests tab.
//
// Each rule checked on each token is one test case: a finding at or above
// Options.FailOn fails, a suppressed finding is skipped with the
// exception's reason, a rule that could not judge the token is skipped
// ("not judged: data missing"), and a rule that passed, or found something
// below FailOn, passes. TokenResult.Passed names the rules that passed; a
// result read back from a JSON report has none, so it shows findings and
// unknowns only. Findings of no token (instance settings, projects) are
// cases too, under their resource; the rules those passed are not
// recorded. Each gap of kind error is an errored case: part of GitLab
// could not be read.
//
// GitLab's parser (lib/gitlab/ci/parsers/test/junit.rb) reads testsuites
// and testsuite, and of each testcase classname, name, time and whether it
// holds failure, error or skipped, whose text it shows; it ignores the
// status attribute.
type JUnitWriter struct {
	Options Options
}

var _ Writer = JUnitWriter{}

// notJudged is the text of a skipped case for a rule that lacked data.
const notJudged = "not judged: data missing"

type junitCase struct {
	XMLName   xml.Name    `xml:"testcase"`
	Classname string      `xml:"classname,attr"`
	Name      string      `xml:"name,attr"`
	Time      string      `xml:"time,attr"`
	Failure   *junitText  `xml:"failure,omitempty"`
	Error     *junitText  `xml:"error,omitempty"`
	Skipped   *junitText  `xml:"skipped,omitempty"`
	SystemOut *junitCData `xml:"system-out,omitempty"`
}

type junitText struct {
	Message string `xml:"message,attr,omitempty"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

type junitCData struct {
	Text string `xml:",chardata"`
}

// junitCounts are a suite's attributes, counted before its cases are
// written so the document streams.
type junitCounts struct{ tests, failures, errors, skipped int }

// failFloor is the lowest severity that fails a case, and false when none
// does (fail_on none).
func (o Options) failFloor() (audit.Severity, bool) {
	if o.FailNever {
		return audit.SeverityNone, false
	}
	if o.FailOn == audit.SeverityNone {
		return audit.SeverityHigh, true
	}
	return o.FailOn, true
}

// fails reports whether f is a failing case under o.
func (o Options) fails(f *audit.Finding) bool {
	floor, ok := o.failFloor()
	return ok && !f.Suppressed && f.Severity >= floor
}

func (j JUnitWriter) count(r *audit.Result) junitCounts {
	var c junitCounts
	add := func(f *audit.Finding) {
		c.tests++
		switch {
		case f.Suppressed:
			c.skipped++
		case j.Options.fails(f):
			c.failures++
		}
	}
	for i := range r.Tokens {
		tr := &r.Tokens[i]
		for k := range tr.Findings {
			add(&tr.Findings[k])
		}
		c.tests += len(tr.Unknown) + len(tr.Passed)
		c.skipped += len(tr.Unknown)
	}
	for i := range r.Findings {
		add(&r.Findings[i].Finding)
	}
	if r.Inventory != nil {
		for _, g := range r.Inventory.Gaps {
			if g.Kind == inventory.GapError {
				c.tests++
				c.errors++
			}
		}
	}
	return c
}

// Write implements Writer.
func (j JUnitWriter) Write(w io.Writer, r *audit.Result) error {
	if r == nil {
		return fmt.Errorf("write junit report: %w", errNilResult)
	}
	c := j.count(r)
	counts := []xml.Attr{
		{Name: xml.Name{Local: "tests"}, Value: strconv.Itoa(c.tests)},
		{Name: xml.Name{Local: "failures"}, Value: strconv.Itoa(c.failures)},
		{Name: xml.Name{Local: "errors"}, Value: strconv.Itoa(c.errors)},
		{Name: xml.Name{Local: "skipped"}, Value: strconv.Itoa(c.skipped)},
		{Name: xml.Name{Local: "time"}, Value: "0"},
	}
	name := xml.Attr{Name: xml.Name{Local: "name"}, Value: "tokenaudit"}
	suites := xml.StartElement{Name: xml.Name{Local: "testsuites"}, Attr: append([]xml.Attr{name}, counts...)}
	suiteAttrs := append([]xml.Attr{name}, counts...)
	suiteAttrs = append(suiteAttrs, xml.Attr{Name: xml.Name{Local: "timestamp"}, Value: r.Now.UTC().Format("2006-01-02T15:04:05")})
	suite := xml.StartElement{Name: xml.Name{Local: "testsuite"}, Attr: suiteAttrs}

	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString(xml.Header)
	enc := xml.NewEncoder(bw)
	enc.Indent("", "  ")
	err := enc.EncodeToken(suites)
	if err == nil {
		err = enc.EncodeToken(suite)
	}
	titles := ruleTitles()
	encode := func(tc *junitCase) {
		if err == nil {
			err = enc.Encode(tc)
		}
	}
	for i := range r.Tokens {
		tr := &r.Tokens[i]
		class := xmlText(gitlabPrefix(tr.GitLabURL) + string(tr.Token.Kind))
		token := xmlText(tokenLabel(&tr.Token))
		for k := range tr.Findings {
			encode(j.findingCase(class, token, &tr.Findings[k]))
		}
		for _, id := range tr.Unknown {
			encode(&junitCase{Classname: class, Name: caseName(token, id, titles[id]), Time: "0", Skipped: &junitText{Text: notJudged}})
		}
		for _, id := range tr.Passed {
			encode(&junitCase{Classname: class, Name: caseName(token, id, titles[id]), Time: "0"})
		}
	}
	for i := range r.Findings {
		f := &r.Findings[i]
		encode(j.findingCase(xmlText(gitlabPrefix(f.GitLabURL)+f.Resource), "", &f.Finding))
	}
	if r.Inventory != nil {
		for _, g := range r.Inventory.Gaps {
			if g.Kind != inventory.GapError {
				continue
			}
			encode(&junitCase{
				Classname: xmlText(gitlabPrefix(g.GitLabURL) + "gaps"),
				Name:      xmlText(g.Resource + ": " + g.What),
				Time:      "0",
				Error:     &junitText{Message: "could not be read", Text: xmlText(g.Reason)},
			})
		}
	}
	if err == nil {
		err = enc.EncodeToken(suite.End())
	}
	if err == nil {
		err = enc.EncodeToken(suites.End())
	}
	if err == nil {
		err = enc.Close()
	}
	if err == nil {
		_, err = bw.WriteString("\n")
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return fmt.Errorf("write junit report: %w", err)
	}
	return nil
}

// findingCase is the case of one finding; token is "" for a finding of no
// token.
func (j JUnitWriter) findingCase(class, token string, f *audit.Finding) *junitCase {
	tc := &junitCase{Classname: class, Name: caseName(token, f.Rule, xmlText(f.Title)), Time: "0"}
	text := xmlText(f.Severity.String() + ": " + f.Detail + "\n" + f.Remediation)
	switch {
	case f.Suppressed:
		tc.Skipped = &junitText{Text: xmlText("suppressed by an exception: " + f.SuppressionReason)}
	case j.Options.fails(f):
		tc.Failure = &junitText{Message: xmlText(f.Title), Type: f.Severity.String(), Text: text}
	default:
		// Below --fail-on: a pass, with the finding for whoever opens it.
		tc.SystemOut = &junitCData{Text: text}
	}
	return tc
}

// caseName is "TOKEN: RULE TITLE", or "RULE TITLE" without a token.
func caseName(token, rule, title string) string {
	var b strings.Builder
	if token != "" {
		b.WriteString(token)
		b.WriteString(": ")
	}
	b.WriteString(rule)
	if title != "" {
		b.WriteString(" ")
		b.WriteString(title)
	}
	return b.String()
}

// tokenLabel names a token the way a reader looks it up in GitLab: kind,
// id and name. It holds no token value: the model has none.
func tokenLabel(t *inventory.Token) string {
	s := string(t.Kind) + " " + strconv.FormatInt(t.ID, 10)
	if t.Name != "" {
		s += " " + strconv.Quote(t.Name)
	}
	return s
}

func gitlabPrefix(url string) string {
	if url == "" {
		return ""
	}
	return url + " "
}

// ruleTitles maps each rule ID of the catalogue to its title.
func ruleTitles() map[string]string {
	m := make(map[string]string, len(audit.Rules))
	for _, r := range audit.Rules {
		m[r.ID] = r.Title
	}
	return m
}

// xmlText escapes what acts instead of showing (escFile: C0 controls but
// TAB, LF and CR, DEL, C1 and bidi controls, invalid UTF-8) as Go escapes.
// encoding/xml escapes markup but would turn the controls XML 1.0 forbids
// into U+FFFD and keep the bidi controls; this way the reader sees what
// GitLab held.
func xmlText(s string) string {
	if !needsEscape(s, escFile) {
		return s
	}
	return string(appendEscaped(nil, s, escFile))
}
