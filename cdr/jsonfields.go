package cdr

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// jsonKind is what jsonString found.
type jsonKind uint8

const (
	jsonAbsent  jsonKind = iota // absent or null
	jsonOther                   // not a string
	jsonText                    // a string
	jsonNUL                     // a string with a NUL byte (written \u0000)
	jsonBadUTF8                 // a string of invalid UTF-8 or with a lone surrogate escape
)

// reason says what is wrong with a jsonNUL or jsonBadUTF8 field.
func (k jsonKind) reason(name string) string {
	if k == jsonNUL {
		return name + " contains a NUL byte"
	}
	return name + " is not valid UTF-8"
}

// jsonString reads a JSON string. Its bytes are judged as given, not as
// encoding/json would make them: it turns invalid UTF-8 and lone surrogates
// into U+FFFD without a word.
func jsonString(raw json.RawMessage) (string, jsonKind) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", jsonAbsent
	}
	if raw[0] != '"' {
		return "", jsonOther
	}
	body := raw[1 : len(raw)-1]
	if bytes.IndexByte(body, '\\') < 0 {
		// A raw NUL is not valid JSON, so only UTF-8 needs checking.
		s := string(body)
		if !cleanASCII(s) && !utf8.ValidString(s) {
			return s, jsonBadUTF8
		}
		return s, jsonText
	}
	if !utf8.Valid(body) || loneSurrogate(body) {
		return "", jsonBadUTF8
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", jsonOther
	}
	if strings.IndexByte(s, 0) >= 0 {
		return s, jsonNUL
	}
	return s, jsonText
}

// loneSurrogate reports whether the body of a JSON string (valid JSON) has a
// \uXXXX surrogate escape that is not half of a pair.
func loneSurrogate(body []byte) bool {
	for i := 0; i < len(body); i++ {
		if body[i] != '\\' {
			continue
		}
		i++ // the escaped character
		if body[i] != 'u' {
			continue
		}
		r := hex4(body[i+1 : i+5])
		i += 4
		switch {
		case r >= 0xDC00 && r <= 0xDFFF:
			return true
		case r >= 0xD800 && r <= 0xDBFF:
			if i+6 >= len(body) || body[i+1] != '\\' || body[i+2] != 'u' {
				return true
			}
			if lo := hex4(body[i+3 : i+7]); lo < 0xDC00 || lo > 0xDFFF {
				return true
			}
			i += 6
		}
	}
	return false
}

// hex4 reads four hex digits (valid JSON has them).
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case c <= '9':
			c -= '0'
		case c >= 'a':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

func requiredString(name string, raw json.RawMessage) (string, string) {
	s, kind := jsonString(raw)
	switch kind {
	case jsonAbsent:
		return "", "missing " + name
	case jsonOther:
		return "", name + " " + snippet(raw) + " is not a string"
	}
	if s = trim(s); s == "" && kind == jsonText {
		return "", name + " is empty"
	}
	if len(s) > MaxFieldBytes {
		return "", sizeReason(name, len(s))
	}
	if kind != jsonText {
		return "", kind.reason(name)
	}
	return s, ""
}

// instance reads the InstanceId. An interned one was checked already, and
// looking it up first by the raw bytes saves a string for most records.
func (j *jsonRecords) instance(raw json.RawMessage) (string, string) {
	if len(raw) > 2 && raw[0] == '"' {
		// Unescaped only: an escape's text may spell another id.
		if body := raw[1 : len(raw)-1]; bytes.IndexByte(body, '\\') < 0 {
			if id, ok := j.ids[string(body)]; ok {
				return id, ""
			}
		}
	}
	s, reason := requiredString("InstanceId", raw)
	if reason != "" {
		return "", reason
	}
	return j.ids.intern(s), ""
}

// phone reads a phone number (a string, or a JSON integer) on digits only;
// absent or null is "", which the rater judges.
func phone(name string, raw json.RawMessage) (string, string) {
	s, kind := jsonString(raw)
	switch kind {
	case jsonAbsent:
		return "", ""
	case jsonOther:
		if !allDigits(string(raw)) {
			return "", name + " " + snippet(raw) + " is not a string"
		}
		s = string(raw)
	}
	if s = trim(s); len(s) > MaxFieldBytes {
		return "", sizeReason(name, len(s))
	}
	if kind == jsonNUL || kind == jsonBadUTF8 {
		return "", kind.reason(name)
	}
	return digits(s), ""
}

// intTextReason says what is wrong with the bytes of a number given as a
// string that did not parse, "" when nothing.
func intTextReason(name string, raw json.RawMessage) string {
	if _, kind := jsonString(raw); kind == jsonNUL || kind == jsonBadUTF8 {
		return kind.reason(name)
	}
	return ""
}

// jsonInt reads a non-negative integer given as a JSON number or a string;
// present is false when raw is absent, null or "" (which count as 0).
func jsonInt(raw json.RawMessage) (n int64, present, ok bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, false, true
	}
	s := string(raw)
	if raw[0] == '"' {
		var kind jsonKind
		if s, kind = jsonString(raw); kind != jsonText {
			return 0, true, false
		}
		if s = trim(s); s == "" {
			return 0, false, true
		}
	}
	n, ok = parseCount(s)
	return n, true, ok
}

// epochMillis reads a required epoch-milliseconds time as whole seconds.
func epochMillis(name string, raw json.RawMessage) (int64, string) {
	ms, present, ok := jsonInt(raw)
	switch {
	case !present && (len(raw) == 0 || string(raw) == "null"):
		return 0, "missing " + name
	case !present || !ok:
		if r := intTextReason(name, raw); r != "" {
			return 0, r
		}
		return 0, name + " " + snippet(raw) + " is not epoch milliseconds"
	}
	return ms / 1000, ""
}
