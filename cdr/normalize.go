package cdr

import (
	"strings"
	"time"

	"github.com/callbill/callbill"
)

// trim removes surrounding ASCII white space without allocating.
func trim(s string) string {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// digits keeps the ASCII digits of s; s itself when it has nothing else.
func digits(s string) string {
	if allDigits(s) {
		return s
	}
	return string(appendDigits(make([]byte, 0, len(s)), s))
}

// appendDigits appends the ASCII digits of s to dst.
func appendDigits(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= '0' && c <= '9' {
			dst = append(dst, c)
		}
	}
	return dst
}

// parseDirection accepts inbound/outbound in any case, surrounding spaces
// trimmed.
func parseDirection(s string) (callbill.Direction, bool) {
	switch s = trim(s); {
	case strings.EqualFold(s, "inbound"):
		return callbill.Inbound, true
	case strings.EqualFold(s, "outbound"):
		return callbill.Outbound, true
	}
	return "", false
}

// atoi parses up to 18 ASCII digits (the caller checks they are digits).
func atoi(s string) int64 {
	var v int64
	for i := 0; i < len(s); i++ {
		v = v*10 + int64(s[i]-'0')
	}
	return v
}

// parseCount parses a non-negative integer; empty is 0.
func parseCount(s string) (int64, bool) {
	s = trim(s)
	if len(s) > 18 {
		// Leading zeros are harmless; anything longer overflows int64.
		s = strings.TrimLeft(s, "0")
	}
	if !allDigits(s) || len(s) > 18 {
		return 0, false
	}
	return atoi(s), true
}

// parseTime reads a CSV time in whole epoch seconds: epoch seconds (up to 12
// digits), epoch milliseconds (exactly 13 digits, truncated to seconds) or
// RFC 3339 (fractional seconds truncated).
func parseTime(s string) (int64, bool) {
	s = trim(s)
	if s == "" {
		return 0, false
	}
	if allDigits(s) {
		switch {
		case len(s) <= 12:
			return atoi(s), true
		case len(s) == 13:
			return atoi(s) / 1000, true
		}
		return 0, false
	}
	return parseRFC3339(s)
}

// parseRFC3339 parses YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM) without
// allocating. The separator may be 'T', 't' or a space (RFC 3339 §5.6 NOTE),
// 'Z' may be 'z'; the zone is required. Fractional seconds are dropped.
func parseRFC3339(s string) (int64, bool) {
	if len(s) < len("2006-01-02T15:04:05Z") {
		return 0, false
	}
	year, ok1 := num(s[0:4])
	month, ok2 := num(s[5:7])
	day, ok3 := num(s[8:10])
	hour, ok4 := num(s[11:13])
	minute, ok5 := num(s[14:16])
	sec, ok6 := num(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) ||
		s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':' ||
		(s[10] != 'T' && s[10] != 't' && s[10] != ' ') {
		return 0, false
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(month, year) ||
		hour > 23 || minute > 59 || sec > 59 {
		return 0, false
	}
	rest := s[19:]
	if rest[0] == '.' || rest[0] == ',' {
		i := 1
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 1 {
			return 0, false
		}
		rest = rest[i:]
	}
	var offset int
	switch {
	case rest == "Z" || rest == "z":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, ok1 := num(rest[1:3])
		om, ok2 := num(rest[4:6])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return 0, false
		}
		offset = oh*3600 + om*60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return 0, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC)
	return t.Unix() - int64(offset), true
}

// num parses a short run of ASCII digits.
func num(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// interner shares the string of an instance id, which repeats on most rows.
// It stops growing at maxInterned entries so that hostile input cannot make
// it hold the whole file.
type interner map[string]string

const maxInterned = 1 << 14

func (m interner) intern(s string) string {
	if v, ok := m[s]; ok {
		return v
	}
	return m.add(s)
}

// add interns s, which the caller found missing.
func (m interner) add(s string) string {
	s = strings.Clone(s)
	if len(m) < maxInterned {
		m[s] = s
	}
	return s
}
