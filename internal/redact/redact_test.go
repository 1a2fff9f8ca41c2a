package redact

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Made-up values, shaped like GitLab's where the test needs it.
const (
	callerToken = "custom-prefix-0123456789abcdef" // a custom prefix: only known by value
	patLike     = "glpat-AbCdEfGhIjKlMnOpQrSt"
)

// show names the test's secrets instead of printing them, so a failing
// test does not print what it proves hidden.
func show(s string) string {
	return strings.NewReplacer(callerToken, "<callerToken>", patLike, "<patLike>").Replace(s)
}

func TestRedactorString(t *testing.T) {
	r := New(callerToken, "")
	for _, tt := range []struct{ in, want string }{
		{"401 " + callerToken + " refused", "401 " + Mark + " refused"},
		{"token=" + callerToken + callerToken, "token=" + Mark + Mark},
		{"echo " + patLike + ".01.abcdefghi", "echo " + Mark},
		{"SIE-" + patLike, "SIE-" + Mark},
		{"deploy gldt-12345678 trigger glptt-0123456789abcdef0123456789abcdef01234567", "deploy " + Mark + " trigger " + Mark},
		{"runner GR1348941abcdefghijklmnopqrst glrtr-abcdefghij", "runner " + Mark + " " + Mark},
		{"a glpat- token, the glpat-short prefix", "a glpat- token, the glpat-short prefix"},
		{"nothing here", "nothing here"},
	} {
		if got := r.String(tt.in); got != tt.want {
			t.Errorf("String(%q) = %q, want %q", show(tt.in), show(got), show(tt.want))
		}
	}
	var none *Redactor
	if got := none.String("x " + patLike); got != "x "+Mark {
		t.Errorf("nil Redactor: %q, want token shapes removed", show(got))
	}
}

func TestTokens(t *testing.T) {
	for in, want := range map[string]string{
		"glpat-abcdefgh":                           Mark,
		"glpat-abcdefg":                            "glpat-abcdefg",
		"xglpat-abcdefgh.01.abc,":                  "x" + Mark + ",",
		"glrtr-abcdefgh glrt-abcdefgh":             Mark + " " + Mark,
		"glpat-abcdefgh glpat-":                    Mark + " glpat-",
		"glpat-glpat-abcdefgh":                     Mark,
		"GR1348941abcdefgh/GR1348941abcd":          Mark + "/GR1348941abcd",
		"gl":                                       "gl",
		"glen gitlab GRAND":                        "glen gitlab GRAND",
		"glagent-" + strings.Repeat("a", 50) + "!": Mark + "!",
	} {
		if got := Tokens(in); got != want {
			t.Errorf("Tokens(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRedactorLongestFirst(t *testing.T) {
	r := New("abcdefgh", "abcdefgh-longer")
	if got := r.String("abcdefgh-longer"); got != Mark {
		t.Errorf("%q, want one mark: the longer secret goes whole", got)
	}
}

func TestRedactorEscapedSecret(t *testing.T) {
	const odd = "tok\x1ben-value"
	r := New(odd)
	if got := r.String(Escape("x " + odd)); strings.Contains(got, "en-value") {
		t.Errorf("%q: the escaped form of a secret shows", got)
	}
}

func TestLine(t *testing.T) {
	html := "<!DOCTYPE html>\n<html>\n<head><title>500 Internal Server Error</title></head>\n<body>" + strings.Repeat("<p>We're sorry.</p>\n", 50) + "</body></html>"
	for _, tt := range []struct {
		name, in string
		max      int
		want     string
	}{
		{"short", "  GitLab  says\r\nno ", 200, "GitLab says no"},
		{"controls", "\x1b]0;title\a\x1b[2J", 200, `\x1b]0;title\a\x1b[2J`},
		{"bidi", "abc\u202edef", 200, `abc\u202edef`},
		{"invalid utf-8", "a\xffb", 200, `a\xffb`},
		{"cut between words", "one two three four", 12, "one two …"},
		{"exact fit", "one two", 7, "one two"},
		{"one long word", strings.Repeat("x", 30), 10, "…"},
		{"html", html, 200, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := Line(tt.in, tt.max)
			if n := utf8.RuneCountInString(got); n > tt.max {
				t.Errorf("%d characters, want at most %d: %q", n, tt.max, got)
			}
			if strings.ContainsAny(got, "\n\r\x1b\a") {
				t.Errorf("%q holds a newline or a control character", got)
			}
			if tt.want != "" && got != tt.want {
				t.Errorf("Line = %q, want %q", got, tt.want)
			}
			if tt.name == "html" && (!strings.HasPrefix(got, "<!DOCTYPE html> <html> <head><title>500") || !strings.HasSuffix(got, "…")) {
				t.Errorf("Line = %q, want the page's start on one line, cut with …", got)
			}
		})
	}
}

// A cut must not leave part of a secret that only a redaction by value
// (after the cut) would catch.
func TestLineNeverSplitsASecret(t *testing.T) {
	for pad := 0; pad < 40; pad++ {
		in := strings.Repeat("a", pad) + " " + callerToken + " tail"
		got := New(callerToken).String(Line(in, 40))
		if strings.Contains(got, callerToken[:8]) {
			t.Fatalf("pad %d: %q shows part of the secret", pad, strings.ReplaceAll(got, callerToken[:8], "<part of callerToken>"))
		}
	}
}

func TestEscapeLines(t *testing.T) {
	if got := EscapeLines("line one\x1b[2J\nline two\r"); got != "line one\\x1b[2J\nline two\\r" {
		t.Errorf("EscapeLines = %q", got)
	}
}

func TestTerminalWriter(t *testing.T) {
	in := "kind,name\npersonal,\x1b[2Jwipe\u009b31m\u202eevil\tx\xff\r\n\"é\"\n"
	want := "kind,name\npersonal,\\x1b[2Jwipe\\u009b31m\\u202eevil\tx\\xff\\r\n\"é\"\n"
	// Byte by byte: a multi-byte character split across writes comes out whole.
	var out bytes.Buffer
	w := NewTerminalWriter(&out)
	for i := range len(in) {
		if n, err := w.Write([]byte{in[i]}); n != 1 || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if out.String() != want {
		t.Errorf("TerminalWriter wrote\n%q\nwant\n%q", out.String(), want)
	}
	// An unfinished sequence at the end is written, escaped, by Close.
	out.Reset()
	w = NewTerminalWriter(&out)
	w.Write([]byte("a\xe2\x80"))
	w.Close()
	if out.String() != `a\xe2\x80` {
		t.Errorf("unfinished sequence: %q", out.String())
	}
}

func TestHandler(t *testing.T) {
	var buf bytes.Buffer
	r := New(callerToken)
	log := slog.New(Handler(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}), r))
	log = log.With("base", "b "+callerToken)
	log.WithGroup("g").Debug("gap "+callerToken,
		"reason", "403 "+callerToken,
		"err", errors.New("GET /user: 500 "+patLike),
		slog.Group("inner", "v", callerToken),
		"n", 3)
	out := buf.String()
	if strings.Contains(out, callerToken) || strings.Contains(out, patLike) {
		t.Fatalf("the log shows a secret: %s", show(out))
	}
	for _, want := range []string{`msg="gap [REDACTED]"`, `base="b [REDACTED]"`, `g.reason="403 [REDACTED]"`, `g.err="GET /user: 500 [REDACTED]"`, `g.inner.v=[REDACTED]`, "g.n=3"} {
		if !strings.Contains(out, want) {
			t.Errorf("log %q lacks %q", out, want)
		}
	}
}

func TestRedactorStrings(t *testing.T) {
	type kind string
	type owner struct{ Username string }
	type token struct {
		Kind   kind
		Name   string
		Owner  *owner
		Scopes []string
		At     time.Time
		n      string
	}
	shared := &owner{Username: "u " + callerToken}
	inv := struct {
		Tokens [2]token
		More   []token
		Empty  *owner
	}{
		Tokens: [2]token{{Kind: "personal", Name: callerToken, Owner: shared, Scopes: []string{"api", patLike}, n: callerToken}},
		More:   []token{{Name: "ok", Owner: shared}},
	}
	New(callerToken).Strings(&inv)
	got := []string{inv.Tokens[0].Name, inv.Tokens[0].Owner.Username, inv.Tokens[0].Scopes[1], string(inv.Tokens[0].Kind), inv.More[0].Name}
	want := []string{Mark, "u " + Mark, Mark, "personal", "ok"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("string %d: %q, want %q", i, show(got[i]), want[i])
		}
	}
	if inv.Tokens[0].n != callerToken {
		t.Error("an unexported field was changed")
	}
}
