package redact

import (
	"io"
	"unicode"
	"unicode/utf8"
)

// TerminalWriter passes a machine-readable report (CSV, JSON) to a terminal
// with Escape's rule applied to every character but newline and tab: a
// value from GitLab that holds an escape sequence shows as \x1b[2J instead
// of clearing the screen. For JSON the escapes of characters outside ASCII
// (\u202e, \u009b) read back as the same string. Only a terminal gets this;
// a file or a pipe gets the report's bytes as they are.
type TerminalWriter struct {
	w     io.Writer
	carry []byte // the start of a UTF-8 sequence that the next Write completes
	buf   []byte
}

// NewTerminalWriter returns a TerminalWriter writing to w. Close writes
// what an unfinished UTF-8 sequence at the end left behind.
func NewTerminalWriter(w io.Writer) *TerminalWriter { return &TerminalWriter{w: w} }

// Write escapes p and writes it; it reports len(p) on success.
func (t *TerminalWriter) Write(p []byte) (int, error) {
	data := p
	if len(t.carry) > 0 {
		data = append(t.carry, p...)
		t.carry = nil
	}
	t.buf = t.buf[:0]
	for i := 0; i < len(data); {
		if !utf8.FullRune(data[i:]) {
			t.carry = append([]byte(nil), data[i:]...)
			break
		}
		c, size := utf8.DecodeRune(data[i:])
		if c == '\n' || c == '\t' || (c != utf8.RuneError && unicode.IsPrint(c)) {
			t.buf = append(t.buf, data[i:i+size]...)
		} else {
			t.buf = append(t.buf, escapeRune(c, size, data[i])...)
		}
		i += size
	}
	if _, err := t.w.Write(t.buf); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close writes an unfinished UTF-8 sequence left at the end, escaped as
// invalid bytes. It does not close the underlying writer.
func (t *TerminalWriter) Close() error {
	if len(t.carry) == 0 {
		return nil
	}
	t.buf = t.buf[:0]
	for _, b := range t.carry {
		t.buf = append(t.buf, escapeRune(utf8.RuneError, 1, b)...)
	}
	t.carry = nil
	_, err := t.w.Write(t.buf)
	return err
}
