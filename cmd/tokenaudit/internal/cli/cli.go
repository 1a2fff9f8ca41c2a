// Package cli is tokenaudit's command line: cobra commands, configuration
// (flags, TOKENAUDIT_* environment variables, a YAML file, layered by a
// private viper instance), progress and logs on stderr, and the exit codes of
// the README. Everything runs in-process from Run, so tests drive the whole
// tool with arguments and captured streams; only main calls os.Exit.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/spf13/cobra"
	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/tokenaudit/tokenaudit/internal/redact"
)

// Exit codes, as the README's "Exit codes" promises.
const (
	ExitOK         = 0 // no finding at or above --fail-on
	ExitFindings   = 1 // findings at or above --fail-on
	ExitCannotRun  = 2 // bad flags or config, unreachable GitLab, rejected token
	ExitIncomplete = 3 // the audit ran but gaps of kind error make it incomplete
)

// exitError carries an exit code up to Run. A nil err means the command has
// already said everything it had to say (the report shows the findings).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// exitCode returns err wrapped with an exit code; a nil err stays silent.
func exitCode(code int, err error) error { return &exitError{code: code, err: err} }

// Streams are the process's standard streams and what is known about them.
// Tests build one over buffers.
type Streams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// OutTTY and ErrTTY say whether stdout and stderr are terminals: colour
	// in the table and progress on stderr depend on them.
	OutTTY bool
	ErrTTY bool
	// Width is the terminal's width in columns, or COLUMNS when stdout is
	// no terminal; 0 when unknown.
	Width int

	// noColor is --no-color: like NO_COLOR, no colour even on a terminal.
	noColor bool
	// tableRows is --limit N, or -1 for --all: the table's report.Options.MaxRows.
	tableRows int

	// redactor removes the token (once it is read) and token shapes from
	// everything tokenaudit prints on ErrOut, logs, or keeps from GitLab's
	// answers; newRootCmd sets it.
	redactor *redact.Redactor
}

// SystemStreams returns the process's own streams.
func SystemStreams() *Streams {
	return &Streams{
		In:     os.Stdin,
		Out:    os.Stdout,
		ErrOut: os.Stderr,
		OutTTY: isTerminal(os.Stdout),
		ErrTTY: isTerminal(os.Stderr),
		Width:  widthOf(os.Stdout),
	}
}

// Main runs tokenaudit with the process's arguments and streams and returns
// the exit code. SIGINT and SIGTERM cancel the run's context; a second
// signal kills the process the default way.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // restore default signal handling: a second Ctrl-C ends the process at once
	}()
	return runCommand(ctx, os.Args[1:], SystemStreams(), true)
}

// Run executes one tokenaudit command line and returns its exit code.
// Errors go to s.ErrOut as one line "tokenaudit: <error>". A panic is not
// recovered: tests see it whole, with its stack.
func Run(ctx context.Context, args []string, s *Streams) int {
	return runCommand(ctx, args, s, false)
}

// runCommand is Run; with recoverPanics (Main's) a panic of the goroutine that
// runs the command (flags, collection setup, evaluation, reports) becomes
// one line on stderr and exit 2, not a stack dump that may quote GitLab's
// data.
func runCommand(ctx context.Context, args []string, s *Streams, recoverPanics bool) (code int) {
	own := *s // newRootCmd gives it a redactor; the caller's Streams stay as they are
	s = &own
	root := newRootCmd(s)
	if recoverPanics {
		defer func() {
			if v := recover(); v != nil {
				fmt.Fprintf(s.ErrOut, "tokenaudit: internal error: %s; please report it\n", s.redactor.Line(fmt.Sprint(v), maxMessageLine))
				code = ExitCannotRun
			}
		}()
	}
	root.SetArgs(args)
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.ErrOut)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	code = ExitCannotRun
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
		if ee.err == nil {
			return code
		}
	}
	fmt.Fprintf(s.ErrOut, "tokenaudit: %s\n", errorText(err, s.redactor))
	return code
}

// maxMessageLine bounds each line of an error message. tokenaudit's own
// messages stay well below it; only text a server sent can reach it.
const maxMessageLine = 1000

// errorText is err's message as stderr shows it. GitLab's answers inside it
// (client-go's errors quote the whole body: an HTML page, an escape
// sequence, the token echoed back) are cut to one short line; then the
// token and token shapes are removed from the whole message, and control
// characters escaped on each of its lines.
func errorText(err error, r *redact.Redactor) string {
	msg := err.Error()
	for _, er := range gitlabErrors(err) {
		if q := er.Error(); len(q) > 0 {
			msg = strings.ReplaceAll(msg, q, r.Line(q, redact.MaxLine))
		}
	}
	lines := strings.Split(redact.EscapeLines(r.String(msg)), "\n")
	for i, l := range lines {
		if utf8.RuneCountInString(l) > maxMessageLine {
			lines[i] = redact.Line(l, maxMessageLine)
		}
	}
	return strings.Join(lines, "\n")
}

// gitlabErrors are the GitLab answers in err's tree.
func gitlabErrors(err error) []*gitlab.ErrorResponse {
	var found []*gitlab.ErrorResponse
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case nil:
			return
		case *gitlab.ErrorResponse:
			found = append(found, e)
		case interface{ Unwrap() []error }:
			for _, err := range e.Unwrap() {
				walk(err)
			}
		case interface{ Unwrap() error }:
			walk(e.Unwrap())
		}
	}
	walk(err)
	return found
}

// newRootCmd builds the command tree. Every subcommand writes to s.
func newRootCmd(s *Streams) *cobra.Command {
	if s.redactor == nil {
		s.redactor = redact.New()
	}
	root := &cobra.Command{
		Use:   "tokenaudit",
		Short: "Audit the access tokens of a GitLab instance or group",
		Long: `tokenaudit lists every access token it can see in a GitLab instance or group
(personal, impersonation, service account, project and group access, deploy
and pipeline trigger tokens), checks each against GitLab's token guidance
(expiry, scopes, blast radius, staleness) and reports the risky ones as a
table, CSV or JSON. It is built to run on a schedule and to fail the job when
high-risk tokens exist.

Try it without a GitLab:  tokenaudit demo`,
		Example: `  # Audit a self-managed instance as an administrator
  export GITLAB_TOKEN=...   # a read_api token of an administrator
  tokenaudit audit --gitlab-url https://gitlab.example.com

  # Audit your top-level group on GitLab.com as its Owner
  tokenaudit audit --gitlab-url https://gitlab.com --group my-org

  # A self-contained demonstration against the built-in simulator
  tokenaudit demo`,
		SilenceErrors: true,
		SilenceUsage:  true,
		// --version prints what `tokenaudit version` prints.
		Version: buildVersion(),
	}
	root.SetVersionTemplate("tokenaudit {{.Version}}\n")
	root.Flags().BoolP("version", "v", false, "print tokenaudit's version, as 'tokenaudit version' does")
	root.PersistentFlags().BoolVar(&s.noColor, "no-color", false, "no colour in the table, even on a terminal (as NO_COLOR does)")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		if tokenFlag(err) {
			return exitCode(ExitCannotRun, fmt.Errorf("%w: a token is never taken on the command line, where ps and the shell history would show it; set GITLAB_TOKEN or token_file", err))
		}
		return exitCode(ExitCannotRun, fmt.Errorf("%w (see '%s --help')", err, c.CommandPath()))
	})
	// cobra's `completion bash|zsh|fish|powershell`; the scripts ask the
	// binary itself (tokenaudit __complete), so they follow new commands and flags.
	root.CompletionOptions.HiddenDefaultCmd = false
	root.AddCommand(
		newAuditCmd(s, nil),
		newDemoCmd(s),
		newMergeCmd(s),
		newRulesCmd(s),
		newServeCmd(s, serveHooks{}),
		newSimCmd(s),
		newVersionCmd(s),
	)
	// The completion command takes its stdout when it is made, not when it runs.
	root.SetOut(s.Out)
	root.InitDefaultCompletionCmd()
	if c, _, err := root.Find([]string{"completion"}); err == nil && c != root {
		// cobra's command prints its help and exits 0 for a shell it does
		// not know; a typo in a setup script should fail instead.
		c.RunE = func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return c.Help()
			}
			return exitCode(ExitCannotRun, fmt.Errorf("completion: unknown shell %q (want bash, zsh, fish or powershell)", redact.Line(args[0], 40)))
		}
		c.Args = cobra.ArbitraryArgs
	}
	return root
}

// tokenFlag reports whether a flag error is about a flag that would carry a
// token (--token, --private-token, --gitlab-token, ...), so the message can
// say where the token goes instead.
func tokenFlag(err error) bool {
	msg := err.Error()
	name, ok := strings.CutPrefix(msg, "unknown flag: --")
	if !ok {
		return false
	}
	name, _, _ = strings.Cut(name, "=")
	return strings.Contains(strings.ToLower(name), "token") && !strings.Contains(name, "file")
}
