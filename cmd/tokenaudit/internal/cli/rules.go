package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/tokenaudit/tokenaudit/audit"
)

func newRulesCmd(s *Streams) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "List the audit rules: ID, severity, what each checks and how to fix it",
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
  tokenaudit rules --format markdown > rules.md
  tokenaudit rules --format json | jq '.[] | select(.severity == "critical")'`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
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
}

func writeRulesJSON(w io.Writer) error {
	out := make([]ruleJSON, 0, len(audit.Rules))
	for _, r := range audit.Rules {
		out = append(out, ruleJSON{r.ID, r.Title, r.Severity.String(), string(r.Principle), r.AppliesTo(), r.Rationale, r.Remediation})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func writeRulesTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEVERITY\tTITLE\tAPPLIES TO")
	for _, r := range audit.Rules {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ID, r.Severity, r.Title, r.AppliesTo())
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, "\nDetails: tokenaudit rules --format markdown (or docs/rules.md)")
	return err
}

func writeRulesMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# tokenaudit rules\n\n| ID | Severity | Title | Applies to |\n|---|---|---|---|\n")
	for _, r := range audit.Rules {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", r.ID, r.Severity, mdCell(r.Title), mdCell(r.AppliesTo()))
	}
	for _, r := range audit.Rules {
		fmt.Fprintf(&b, "\n## %s: %s\n\n- Severity: %s\n- Principle: %s\n- Applies to: %s\n\n%s\n\n**Remediation:** %s\n",
			r.ID, r.Title, r.Severity, r.Principle, r.AppliesTo(), r.Rationale, r.Remediation)
	}
	_, err := io.WriteString(w, b.String())
	return err
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
