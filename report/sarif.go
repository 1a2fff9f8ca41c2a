package report

import (
	"fmt"
	"io"
	"time"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/inventory"
)

// SARIFWriter writes a SARIF 2.1.0 log
// (https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html) for
// tools that collect findings from many scanners: one run whose driver,
// tokenaudit, lists the rule catalogue, and one result per finding, token
// or resource, suppressed ones included with their exception. A finding
// has no place in a file: its location is logical, the token (kind, id,
// name, under its resource) or the resource (the instance, a project).
// Gaps of kind error are the invocation's error notifications, and the
// invocation is unsuccessful when the result is incomplete.
//
// Strings are escaped as in the JSON report (escJSON).
type SARIFWriter struct{}

var _ Writer = SARIFWriter{}

// sarifSchema is the OASIS Standard's schema (with errata 01), which
// report/testdata/sarif-schema-2.1.0.json copies.
const sarifSchema = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

type sarifText struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID                   string             `json:"id"`
	ShortDescription     sarifText          `json:"shortDescription"`
	FullDescription      sarifText          `json:"fullDescription"`
	Help                 sarifText          `json:"help"`
	DefaultConfiguration sarifConfiguration `json:"defaultConfiguration"`
	Properties           sarifRuleProps     `json:"properties"`
}

type sarifConfiguration struct {
	Level string `json:"level"`
}

type sarifRuleProps struct {
	Severity  string `json:"severity"`
	Principle string `json:"principle"`
	AppliesTo string `json:"appliesTo"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifInvocation struct {
	ExecutionSuccessful        bool                `json:"executionSuccessful"`
	EndTimeUTC                 string              `json:"endTimeUtc"`
	ToolExecutionNotifications []sarifNotification `json:"toolExecutionNotifications"`
}

type sarifNotification struct {
	Level   string    `json:"level"`
	Message sarifText `json:"message"`
}

type sarifResult struct {
	RuleID       string             `json:"ruleId"`
	RuleIndex    int                `json:"ruleIndex"`
	Level        string             `json:"level"`
	Message      sarifText          `json:"message"`
	Locations    []sarifLocation    `json:"locations"`
	Suppressions []sarifSuppression `json:"suppressions,omitempty"`
	Properties   sarifResultProps   `json:"properties"`
}

type sarifLocation struct {
	LogicalLocations []sarifLogicalLocation `json:"logicalLocations"`
}

type sarifLogicalLocation struct {
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

type sarifSuppression struct {
	Kind          string `json:"kind"`
	Justification string `json:"justification"`
}

type sarifResultProps struct {
	Severity    string      `json:"severity"`
	Remediation string      `json:"remediation"`
	Token       *sarifToken `json:"token,omitempty"`
	Resource    string      `json:"resource,omitempty"`
	GitLabURL   string      `json:"gitlabUrl,omitempty"`
}

// sarifToken identifies a token; it has no field for a token value.
type sarifToken struct {
	Kind inventory.Kind `json:"kind"`
	ID   int64          `json:"id"`
	Name string         `json:"name"`
}

// sarifLevel maps a severity to a SARIF level (3.27.10): what should stop
// a change is an error, what deserves a look a warning, the rest a note.
func sarifLevel(s audit.Severity) string {
	switch {
	case s >= audit.SeverityHigh:
		return "error"
	case s == audit.SeverityMedium:
		return "warning"
	case s > audit.SeverityNone:
		return "note"
	}
	return "none"
}

// Write implements Writer.
func (SARIFWriter) Write(w io.Writer, r *audit.Result) error {
	if r == nil {
		return fmt.Errorf("write sarif report: %w", errNilResult)
	}
	rules := make([]sarifRule, len(audit.Rules))
	index := make(map[string]int, len(audit.Rules))
	for i, ru := range audit.Rules {
		index[ru.ID] = i
		rules[i] = sarifRule{
			ID:                   ru.ID,
			ShortDescription:     sarifText{ru.Title},
			FullDescription:      sarifText{ru.Rationale},
			Help:                 sarifText{ru.Remediation},
			DefaultConfiguration: sarifConfiguration{sarifLevel(ru.Severity)},
			Properties:           sarifRuleProps{Severity: ru.Severity.String(), Principle: string(ru.Principle), AppliesTo: ru.AppliesTo()},
		}
	}
	inv := r.Inventory
	if inv == nil {
		inv = &inventory.Inventory{}
	}
	invocation := sarifInvocation{
		ExecutionSuccessful:        r.Summary.Complete,
		EndTimeUTC:                 r.Now.UTC().Format(time.RFC3339),
		ToolExecutionNotifications: []sarifNotification{},
	}
	for _, g := range inv.Gaps {
		if g.Kind == inventory.GapError {
			invocation.ToolExecutionNotifications = append(invocation.ToolExecutionNotifications, sarifNotification{
				Level:   "error",
				Message: sarifText{gitlabPrefix(g.GitLabURL) + g.Resource + ": " + g.What + ": " + g.Reason},
			})
		}
	}

	top := newJSONStream(w, "      ")
	top.raw("{\n  \"$schema\": \"" + sarifSchema + "\",\n  \"version\": \"2.1.0\",\n  \"runs\": [\n    {\n      \"tool\": ")
	top.value(sarifTool{Driver: sarifDriver{Name: "tokenaudit", InformationURI: "https://github.com/tokenaudit/tokenaudit", Rules: rules}})
	top.raw(",\n      \"invocations\": [\n        ")
	inner := newJSONStream(top.w, "        ")
	inner.err = top.err
	inner.value(invocation)
	inner.raw("\n      ],\n      \"results\": [")
	n := 0
	emit := func(res sarifResult) {
		if n > 0 {
			inner.raw(",")
		}
		inner.raw("\n        ")
		inner.value(res)
		n++
	}
	for i := range r.Tokens {
		tr := &r.Tokens[i]
		t := &tr.Token
		resource := audit.ResourceName(t.Resource)
		loc := sarifLogicalLocation{
			Name:               tokenLabel(t),
			FullyQualifiedName: gitlabPrefix(tr.GitLabURL) + resource + " / " + tokenLabel(t),
			Kind:               "resource",
		}
		for k := range tr.Findings {
			f := &tr.Findings[k]
			res := sarifFinding(f, index, loc, tr.GitLabURL)
			res.Properties.Token = &sarifToken{Kind: t.Kind, ID: t.ID, Name: t.Name}
			res.Properties.Resource = resource
			emit(res)
		}
	}
	for i := range r.Findings {
		f := &r.Findings[i]
		loc := sarifLogicalLocation{Name: f.Resource, FullyQualifiedName: gitlabPrefix(f.GitLabURL) + f.Resource, Kind: "resource"}
		res := sarifFinding(&f.Finding, index, loc, f.GitLabURL)
		res.Properties.Resource = f.Resource
		emit(res)
	}
	if n > 0 {
		inner.raw("\n      ")
	}
	inner.raw("]\n    }\n  ]\n}\n")
	if inner.err == nil {
		inner.err = inner.w.Flush()
	}
	if inner.err != nil {
		return fmt.Errorf("write sarif report: %w", inner.err)
	}
	return nil
}

func sarifFinding(f *audit.Finding, index map[string]int, loc sarifLogicalLocation, gitlabURL string) sarifResult {
	ruleIndex, ok := index[f.Rule]
	if !ok {
		ruleIndex = -1 // a rule this build lacks, in a merged report: "not set" (3.27.6)
	}
	res := sarifResult{
		RuleID:    f.Rule,
		RuleIndex: ruleIndex,
		Level:     sarifLevel(f.Severity),
		Message:   sarifText{f.Title + ": " + f.Detail},
		Locations: []sarifLocation{{LogicalLocations: []sarifLogicalLocation{loc}}},
		Properties: sarifResultProps{
			Severity:    f.Severity.String(),
			Remediation: f.Remediation,
			GitLabURL:   gitlabURL,
		},
	}
	if f.Suppressed {
		// An exception in the policy, kept outside the scanned thing: kind
		// external (3.35.2).
		res.Suppressions = []sarifSuppression{{Kind: "external", Justification: f.SuppressionReason}}
	}
	return res
}
