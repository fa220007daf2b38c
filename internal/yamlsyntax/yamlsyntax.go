// Package yamlsyntax reads a YAML document into a yaml.Node and reports a
// syntax error at the place it is, for the files people write by hand (the
// world file, the configuration file).
package yamlsyntax

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/callbill/callbill"
)

// A YAML syntax error names the place of the problem. yaml.v3's message
// names the wrong line for most of them: it prefers the mark of the context
// (the start of the enclosing list or mapping, 0-based) to the mark of the
// problem (go-yaml/yaml#542), so a bad indent on line 4 of a list that
// starts on line 2 reads "line 1". Its reader keeps both marks, but only in
// unexported fields of the Decoder, which Problem reads by reflection
// (read only, no unsafe). A yaml.v3 whose fields differ gives no position
// rather than a wrong one, and world's TestSyntaxErrorLines fails.

// mark is a yaml_mark_t: 0-based.
type mark struct {
	index, line, column int
	ok                  bool
}

// readerState is what the Decoder's reader tells about its last error.
type readerState struct {
	kind             int64 // yaml_error_type_t: 0 none, 2 reader, 3 scanner, 4 parser
	problem, context string
	problemMark      mark
	contextMark      mark
	problemOffset    int
	event            mark // the start of the event being composed
}

const (
	yamlReaderError  = 2
	yamlScannerError = 3
	yamlParserError  = 4
)

// state reads the Decoder's reader state; ok is false when its fields are
// not the ones of yaml.v3 v3.0.1.
func state(dec *yaml.Decoder) (st readerState, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	pp := reflect.ValueOf(dec).Elem().FieldByName("parser")
	if !pp.IsValid() || pp.Kind() != reflect.Pointer || pp.IsNil() {
		return st, false
	}
	p := pp.Elem()
	yp := p.FieldByName("parser")
	if !yp.IsValid() {
		return st, false
	}
	st.kind = yp.FieldByName("error").Int()
	st.problem = yp.FieldByName("problem").String()
	st.context = yp.FieldByName("context").String()
	st.problemOffset = int(yp.FieldByName("problem_offset").Int())
	st.problemMark = readMark(yp.FieldByName("problem_mark"))
	st.contextMark = readMark(yp.FieldByName("context_mark"))
	st.event = readMark(p.FieldByName("event").FieldByName("start_mark"))
	return st, st.problemMark.ok && st.contextMark.ok && st.event.ok
}

func readMark(v reflect.Value) mark {
	if !v.IsValid() || v.Kind() != reflect.Struct {
		return mark{}
	}
	i, l, c := v.FieldByName("index"), v.FieldByName("line"), v.FieldByName("column")
	if !i.IsValid() || !l.IsValid() || !c.IsValid() {
		return mark{}
	}
	return mark{index: int(i.Int()), line: int(l.Int()), column: int(c.Int()), ok: true}
}

// Problem is a YAML syntax error (from Decode) as a problem at the place it is.
// The place is the mark of the problem, unless the reader had reached the
// end of the file there (an unclosed quote or bracket, a key without its
// colon on the last line): then it is where the unfinished thing starts.
// The context ("while parsing a block mapping") is named with its place,
// and a hint says what to change for the common mistakes.
func Problem(dec *yaml.Decoder, data []byte, err error) callbill.Problem {
	msg := clip(strings.TrimPrefix(err.Error(), "yaml: "))
	st, ok := state(dec)
	var crash *readerCrash
	if !ok || errors.As(err, &crash) {
		return callbill.Problem{Message: "not valid YAML: " + msg}
	}
	var at mark
	switch st.kind {
	case yamlReaderError:
		at = offsetMark(data, st.problemOffset)
		msg = clip(st.problem) + "; save the file as UTF-8"
	case yamlScannerError, yamlParserError:
		at = st.problemMark
		if at.index >= len(data) && st.context != "" && st.contextMark.index < at.index {
			at = st.contextMark
		}
		msg = clip(st.problem)
		if st.context != "" && st.contextMark != at {
			msg += fmt.Sprintf(" (in %s that starts at line %d, column %d)", contextName(st.context), st.contextMark.line+1, st.contextMark.column+1)
		}
		if at.index >= len(data) {
			msg += " (at the end of the file)"
		}
		if h := hint(st.problem, st.context); h != "" {
			msg += "; " + h
		}
	default:
		// Composing the tree, not reading: an alias without its anchor.
		at = st.event
		if strings.HasPrefix(msg, "unknown anchor") {
			msg += "; an alias *name needs an anchor &name written before it"
		}
	}
	return callbill.Problem{Line: at.line + 1, Column: at.column + 1, Message: "not valid YAML: " + msg}
}

// offsetMark is the mark of a byte offset in data.
func offsetMark(data []byte, off int) mark {
	off = min(max(off, 0), len(data))
	before := data[:off]
	line := bytes.Count(before, []byte("\n"))
	start := bytes.LastIndexByte(before, '\n') + 1
	return mark{index: off, line: line, column: utf8.RuneCount(before[start:]), ok: true}
}

// contextName names what the reader was reading in plain words.
func contextName(context string) string {
	for _, c := range []struct{ yaml, name string }{
		{"block collection", "the list"},
		{"block mapping", "the mapping"},
		{"flow sequence", "the [ … ] list"},
		{"flow mapping", "the { … } mapping"},
		{"quoted scalar", "the quoted value"},
		{"plain scalar", "the value"},
		{"simple key", "the key"},
	} {
		if strings.HasSuffix(context, c.yaml) {
			return c.name
		}
	}
	return "what was read: " + clip(strings.TrimPrefix(context, "while "))
}

// hint says what to change for the syntax errors that a hand-edited file
// meets most: indentation, tabs, unclosed quotes and brackets.
func hint(problem, context string) string {
	switch {
	case strings.Contains(problem, "tab character"):
		return "indent with spaces: YAML does not allow tabs there"
	case problem == "mapping values are not allowed in this context":
		return "check the indentation of this line, or quote a value that contains \": \""
	case problem == "did not find expected key", problem == "did not find expected '-' indicator":
		return "check the indentation of this line: it must line up with the entries above it at the same level"
	case problem == "could not find expected ':'":
		return "write key: value, with a colon and a space, or check the indentation"
	case strings.Contains(context, "quoted scalar"):
		return "close the quote that starts here"
	case strings.Contains(context, "flow sequence"):
		return "close the list with ] and separate its items with commas"
	case strings.Contains(context, "flow mapping"):
		return "close the mapping with } and separate its fields with commas"
	case problem == "found character that cannot start any token":
		return "quote a value that starts with @, ` or another reserved character"
	}
	return ""
}

// clip bounds a message that may quote the input, and keeps it valid UTF-8
// without NULs.
func clip(msg string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(cut(msg, maxMessage), "\ufffd"), "\x00", `\0`)
}

// maxMessage bounds a message quoting the input, in bytes.
const maxMessage = 256

// cut cuts s to n bytes (on a character boundary) and marks the cut.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > n-utf8.UTFMax && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// Decode reads the next document of dec as a node tree (aliases are not
// expanded); a panic inside yaml.v3 on hostile input is returned as an
// error (Problem reports it without a place) rather than ending the process.
func Decode(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &readerCrash{fmt.Sprint(r)}
		}
	}()
	return dec.Decode(n)
}

// readerCrash is a panic inside yaml.v3, as an error.
type readerCrash struct{ what string }

func (e *readerCrash) Error() string {
	return fmt.Sprintf("the YAML reader failed on this input (%s)", e.what)
}
