package envfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// DefaultMaxSize caps an environment file. Real ones are a few kilobytes; the
// cap keeps a hostile or broken file from exhausting memory in the runner.
const DefaultMaxSize = 1 << 20

// SyntaxError says where a file stops being a valid environment file.
// Line and Column are 1-based; Column counts characters, not bytes, so it
// matches what an editor shows.
type SyntaxError struct {
	Line, Column int
	Msg          string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

// Validate checks that data is a valid environment file: non-empty, at most
// maxSize bytes (DefaultMaxSize when maxSize <= 0), UTF-8 JSON with an object
// at the top and no duplicate keys at any level. Syntax problems are
// *SyntaxError values carrying the line and column.
func Validate(data []byte, maxSize int) error {
	_, err := parse(data, maxSize)
	return err
}

// checkSyntax finds plain JSON syntax errors with a precise position, which
// the token stream cannot give: json.Decoder's SyntaxError offsets are
// relative to the value it was reading, not to the file.
func checkSyntax(data []byte, maxSize int) error {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	switch {
	case len(data) == 0:
		return errors.New("is empty")
	case len(data) > maxSize:
		return fmt.Errorf("is %d bytes; the limit is %d", len(data), maxSize)
	case bytes.HasPrefix(data, []byte("\xef\xbb\xbf")):
		return syntaxErrorAt(data, 0, "starts with a UTF-8 byte order mark; save the file without one")
	}
	if !utf8.Valid(data) {
		off := firstInvalidUTF8(data)
		return syntaxErrorAt(data, off, fmt.Sprintf("invalid UTF-8 byte 0x%02x", data[off]))
	}
	var raw json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			off := int(se.Offset)
			// Offset counts the bytes read, the offending one included,
			// except at the end of input, where it is the input's length.
			if !strings.Contains(se.Error(), "unexpected end") && off > 0 {
				off--
			}
			return syntaxErrorAt(data, off, se.Error())
		}
		return err
	}
	return nil
}

func firstInvalidUTF8(data []byte) int {
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(data)
}

func syntaxErrorAt(data []byte, off int, msg string) *SyntaxError {
	line, col := position(data, off)
	return &SyntaxError{Line: line, Column: col, Msg: msg}
}

// position turns a byte offset into a 1-based line and column.
func position(data []byte, off int) (line, col int) {
	off = max(0, min(off, len(data)))
	before := data[:off]
	line = 1 + bytes.Count(before, []byte("\n"))
	start := bytes.LastIndexByte(before, '\n') + 1
	return line, 1 + utf8.RuneCount(before[start:])
}
