package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/tokenaudit/tokenaudit/audit"
	"github.com/tokenaudit/tokenaudit/internal/redact"
)

func newRulesCmd(s *Streams) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "rules [RULE-ID]",
		Short: "List the audit rules, or show one in full: what it checks and how to fix it",
		Long: `Rules prints tokenaudit's rule catalogue. Rule IDs (TA-NNN) are permanent:
use them in the config file to change a rule's severity, turn it off, or
accept a risk for a while with an exception:

  policy:
    rules:
      TA-030: {severity: low}
      TA-050: {disabled: true}
    exceptions:
      - rule: TA-001
        owner: ci-bot
        reason: "replaced in Q1, ticket SEC-123"
        expires: 2027-03-31`,
		Example: `  tokenaudit rules
  tokenaudit rules TA-010
  tokenaudit rules --format markdown > rules.md
  tokenaudit rules --format json | jq '.[] | select(.severity == "critical")'`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) == 1 {
				return showRule(s.Out, args[0], format)
			}
			switch format {
			case "table":
				return writeRulesTable(s.Out)
			case "json":
				return writeRulesJSON(s.Out)
			case "markdown":
				return writeRulesMarkdown(s.Out)
			}
			return exitCode(ExitCannotRun, fmt.Errorf("format: %q is not allowed (want table, json or markdown)", format))
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "output format: table, json or markdown")
	return cmd
}

// ruleJSON is a rule as `rules --format json` prints it.
type ruleJSON struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Severity    string `json:"severity"`
	Principle   string `json:"principle"`
	AppliesTo   string `json:"applies_to"`
	Rationale   string `json:"rationale"`
	Remediation string `json:"remediation"`
	Hygiene     int    `json:"hygiene_points,omitempty"`
}

func writeRulesJSON(w io.Writer) error {
	out := make([]ruleJSON, 0, len(audit.Rules))
	for _, r := range audit.Rules {
		out = append(out, ruleJSON{r.ID, r.Title, r.Severity.String(), string(r.Principle), r.AppliesTo(), r.Rationale, r.Remediation, r.Hygiene})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// writeRulesTable prints the catalogue in 100 columns or fewer; what each
// rule applies to is too long for a column and is in the rule's own view.
func writeRulesTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEVERITY\tTITLE")
	for _, r := range audit.Rules {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.ID, r.Severity, r.Title)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, "\nOne rule in full: tokenaudit rules TA-010. All of them: tokenaudit rules --format markdown")
	return err
}

// showRule prints one rule with everything the catalogue holds about it,
// in format. An unknown ID is exit 2, in one line.
func showRule(w io.Writer, id, format string) error {
	want := strings.ToUpper(strings.TrimSpace(id))
	i := slices.IndexFunc(audit.Rules, func(r audit.Rule) bool { return r.ID == want })
	if i < 0 {
		return exitCode(ExitCannotRun, fmt.Errorf("no rule %q; the rules are listed by 'tokenaudit rules'", redact.Line(id, 40)))
	}
	r := audit.Rules[i]
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(ruleJSON{r.ID, r.Title, r.Severity.String(), string(r.Principle), r.AppliesTo(), r.Rationale, r.Remediation, r.Hygiene})
	case "markdown":
		_, err := io.WriteString(w, strings.TrimPrefix(ruleMarkdown(r), "\n"))
		return err
	case "table":
	default:
		return exitCode(ExitCannotRun, fmt.Errorf("format: %q is not allowed (want table, json or markdown)", format))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n\n", r.ID, r.Title)
	b.WriteString(wrapText(r.Severity.String()+" (the default; policy.rules can change it)", 78, "  Severity:    ", "               "))
	b.WriteString(wrapText(string(r.Principle), 78, "  Principle:   ", "               "))
	b.WriteString(wrapText(r.AppliesTo(), 78, "  Applies to:  ", "               "))
	if r.Hygiene > 0 {
		b.WriteString(wrapText(fmt.Sprintf("%d points of a token's risk score per finding, suppressed or not", r.Hygiene), 78, "  Hygiene:     ", "               "))
	}
	fmt.Fprintf(&b, "\nWhy:\n%s\nRemediation:\n%s", wrapText(r.Rationale, 78, "  ", "  "), wrapText(r.Remediation, 78, "  ", "  "))
	_, err := io.WriteString(w, b.String())
	return err
}

// wrapText breaks s into lines of at most width columns, the first after
// first, the others after indent; a word longer than a line stays whole.
func wrapText(s string, width int, first, indent string) string {
	var b strings.Builder
	line := 0
	for _, word := range strings.Fields(s) {
		n := utf8.RuneCountInString(word)
		switch {
		case line == 0:
			b.WriteString(first)
			line = utf8.RuneCountInString(first)
		case line+1+n > width:
			b.WriteString("\n" + indent)
			line = utf8.RuneCountInString(indent)
		default:
			b.WriteByte(' ')
			line++
		}
		b.WriteString(word)
		line += n
	}
	if line > 0 {
		b.WriteByte('\n')
	}
	return b.String()
}

func writeRulesMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# tokenaudit rules\n\n| ID | Severity | Title | Applies to |\n|---|---|---|---|\n")
	for _, r := range audit.Rules {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", r.ID, r.Severity, mdCell(r.Title), mdCell(r.AppliesTo()))
	}
	for _, r := range audit.Rules {
		b.WriteString(ruleMarkdown(r))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ruleMarkdown is r's section of the markdown catalogue.
func ruleMarkdown(r audit.Rule) string {
	return fmt.Sprintf("\n## %s: %s\n\n- Severity: %s\n- Principle: %s\n- Applies to: %s\n\n%s\n\n**Remediation:** %s\n",
		r.ID, r.Title, r.Severity, r.Principle, r.AppliesTo(), r.Rationale, r.Remediation)
}

func mdCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// version is set at build time: -ldflags "-X github.com/tokenaudit/tokenaudit/cmd/tokenaudit/internal/cli.version=v1.2.3".
var version = ""

func newVersionCmd(s *Streams) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print tokenaudit's version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintf(s.Out, "tokenaudit %s\n", buildVersion())
			return err
		},
	}
}

// buildVersion is the -X version, else the module version go install
// recorded, else the VCS revision of a source build.
func buildVersion() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if rev == "" {
		return "(devel)"
	}
	return "(devel) " + rev[:min(len(rev), 12)] + dirty
}
