package envfile

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		maxSize int
		want    string // "" = valid; otherwise the whole error text
	}{
		{name: "minimal", data: `{}`},
		{name: "env file", data: "{\n  \"api\": {\"tag\": \"abc\"},\n  \"web\": {\"tag\": \"def\"}\n}\n"},
		{name: "same key in different objects", data: `{"a":{"tag":"1"},"b":{"tag":"2"},"tag":"3"}`},
		{name: "huge number", data: `{"n": 1e400}`},
		{name: "every type", data: `{"s":"x","n":-1.5e3,"t":true,"f":false,"z":null,"a":[1,{"b":[]}],"o":{}}`},
		{name: "empty", data: ``, want: "is empty"},
		{name: "too big", data: `{"a": "0123456789"}`, maxSize: 10, want: "is 19 bytes; the limit is 10"},
		{name: "default cap", data: `{"a":"` + strings.Repeat("x", DefaultMaxSize) + `"}`, want: "is 1048584 bytes; the limit is 1048576"},
		{name: "duplicate, brief's example", data: "{\n  \"tag\": \"a\",\n      \"tag\": \"b\"\n}", want: `line 3, column 7: duplicate key "tag"`},
		{name: "nested duplicate", data: "{\"api\": {\n\"tag\": \"a\", \"tag\": \"b\"}}", want: `line 2, column 13: duplicate key "tag"`},
		{name: "duplicate inside an array", data: `{"a":[{"x":1,"x":2}]}`, want: `line 1, column 14: duplicate key "x"`},
		{name: "duplicate spelled with an escape", data: `{"a":1,"\u0061":2}`, want: `line 1, column 8: duplicate key "a"`},
		{name: "column counts characters", data: `{"é": 1, "é": 2}`, want: `line 1, column 10: duplicate key "é"`},
		{name: "array at the top", data: "\n  [1]", want: "line 2, column 3: the top-level value is an array; an environment file must be a JSON object"},
		{name: "string at the top", data: `"x"`, want: "line 1, column 1: the top-level value is a string; an environment file must be a JSON object"},
		{name: "trailing comma", data: "{\n  \"a\": 1,\n}", want: "line 3, column 1: invalid character '}' looking for beginning of object key string"},
		{name: "missing colon", data: `{"a" 1}`, want: "line 1, column 6: invalid character '1' after object key"},
		{name: "truncated", data: "{\"a\":\n", want: "line 2, column 1: unexpected end of JSON input"},
		{name: "blank", data: "  \n ", want: "line 2, column 2: unexpected end of JSON input"},
		{name: "two objects", data: `{} {}`, want: "line 1, column 4: invalid character '{' after top-level value"},
		{name: "trailing garbage", data: "{}\nx", want: "line 2, column 1: invalid character 'x' after top-level value"},
		{name: "control character in a string", data: "{\"a\": \"x\ty\"}", want: `line 1, column 9: invalid character '\t' in string literal`},
		{name: "bad escape", data: `{"a": "\x"}`, want: "line 1, column 9: invalid character 'x' in string escape code"},
		{name: "byte order mark", data: "\xef\xbb\xbf{}", want: "line 1, column 1: starts with a UTF-8 byte order mark; save the file without one"},
		{name: "invalid UTF-8", data: "{\n \"a\": \"x\xffy\"}", want: "line 2, column 9: invalid UTF-8 byte 0xff"},
		{name: "comment", data: "{\n// no\n}", want: "line 2, column 1: invalid character '/' looking for beginning of object key string"},
		{name: "single quotes", data: `{'a': 1}`, want: "line 1, column 2: invalid character '\\'' looking for beginning of object key string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate([]byte(tt.data), tt.maxSize)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tt.want {
				t.Fatalf("Validate error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestValidateSyntaxErrorType(t *testing.T) {
	err := Validate([]byte("{\n  \"tag\": \"a\",\n      \"tag\": \"b\"\n}"), 0)
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("error %v is %T, want *SyntaxError", err, err)
	}
	if se.Line != 3 || se.Column != 7 || se.Msg != `duplicate key "tag"` {
		t.Fatalf("got %+v", *se)
	}
}

func TestValidateDeepNesting(t *testing.T) {
	nest := func(levels int) []byte {
		return []byte(strings.Repeat(`{"a":`, levels-1) + `["x"]` + strings.Repeat("}", levels-1))
	}
	if err := Validate(nest(MaxDepth), 0); err != nil {
		t.Fatalf("%d levels: %v", MaxDepth, err)
	}
	want := fmt.Sprintf("line 1, column %d: nested more than %d levels deep", 5*MaxDepth+1, MaxDepth)
	if err := Validate(nest(MaxDepth+1), 0); err == nil || err.Error() != want {
		t.Fatalf("%d levels: %v, want %q", MaxDepth+1, err, want)
	}
	if err := Validate(nest(20000), 0); err == nil || !strings.Contains(err.Error(), "exceeded max depth") {
		t.Fatalf("20000 levels: %v", err)
	}
}
