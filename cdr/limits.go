package cdr

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits on what one record may hold. Input comes from outside, so each bound
// keeps a hostile or corrupt file from costing more than a bounded amount of
// memory and from planting absurd values in the store.
const (
	// MaxFieldBytes is the most bytes a contact id, an instance id, a
	// caller or a callee may have, surrounding white space trimmed: they are
	// identities and keys, and no real one comes near it.
	MaxFieldBytes = 128
	// MaxRecordBytes is the most bytes one CSV row (its line ends included)
	// or one JSON record may have, so that the decoder never holds more
	// than about that much of the input at a time.
	MaxRecordBytes = 1 << 20
	// MaxRejectFieldBytes is the most bytes of one field the RejectsWriter
	// writes; a longer field is cut there and marked.
	MaxRejectFieldBytes = 1 << 10
)

// errTooLong is what the limiter says when a record has used up its bytes.
var errTooLong = errors.New("record too long")

// limiter sits between the input and the decoder's bufio.Reader and refuses
// to read past max, which the decoder sets before each record to its start
// plus the record limit: so a record that never ends stops at the limit
// instead of being buffered whole by encoding/csv or encoding/json.
type limiter struct {
	r      io.Reader
	n      int64 // bytes read from r
	max    int64
	lastNL int64 // offset of the last '\n' read; -1 before any
	hit    bool  // Read refused since the decoder last cleared it
}

func newLimiter(r io.Reader) *limiter { return &limiter{r: r, max: math.MaxInt64, lastNL: -1} }

func (l *limiter) Read(p []byte) (int, error) {
	if l.n >= l.max {
		l.hit = true
		return 0, errTooLong
	}
	if rest := l.max - l.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	k, err := l.r.Read(p)
	// Scanning back from the end finds a newline at once in ordinary rows.
	if i := bytes.LastIndexByte(p[:k], '\n'); i >= 0 {
		l.lastNL = l.n + int64(i)
	}
	l.n += int64(k)
	return k, err
}

// unlimit lifts the limit, for reading what is not a record.
func (l *limiter) unlimit() { l.max, l.hit = math.MaxInt64, false }

// cleanASCII reports whether s is ASCII without NUL, eight bytes at a time:
// the common case, which then needs no other check.
func cleanASCII(s string) bool {
	const hi, lo = 0x8080808080808080, 0x0101010101010101
	for len(s) >= 8 {
		x := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
		// A byte ≥ 0x80, or a zero byte (the classic haszero test).
		if x&hi != 0 || (x-lo)&^x&hi != 0 {
			return false
		}
		s = s[8:]
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == 0 || c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// textReason says what is wrong with the bytes of a text field, "" when
// nothing: a NUL byte, or bytes that are not UTF-8.
func textReason(name, s string) string {
	if cleanASCII(s) {
		return ""
	}
	if strings.IndexByte(s, 0) >= 0 {
		return name + " contains a NUL byte"
	}
	if !utf8.ValidString(s) {
		return name + " is not valid UTF-8"
	}
	return ""
}

// idReason checks an identity or number field (already trimmed): its size,
// then its bytes.
func idReason(name, s string) string {
	if len(s) > MaxFieldBytes {
		return sizeReason(name, len(s))
	}
	return textReason(name, s)
}

func sizeReason(name string, n int) string {
	return name + " is " + strconv.Itoa(n) + " bytes; at most " + strconv.Itoa(MaxFieldBytes) + " allowed"
}

// maxQuoted is how much of a bad value a reason repeats.
const maxQuoted = 64

// quote quotes a bad value for a reason, shortened when long, so that a
// hostile value cannot blow up the reason (which is stored and shown).
func quote(v string) string {
	if len(v) <= maxQuoted {
		return strconv.Quote(v)
	}
	return strconv.Quote(v[:cutAt(v, maxQuoted)]) + "… (" + strconv.Itoa(len(v)) + " bytes)"
}

// snippet is raw JSON text for a reason: shortened like quote, and made valid
// UTF-8, since a JSON value may hold any bytes inside its strings.
func snippet(raw []byte) string {
	s := string(raw[:min(len(raw), maxQuoted+1)])
	if len(raw) > maxQuoted {
		s = s[:cutAt(s, maxQuoted)] + "… (" + strconv.Itoa(len(raw)) + " bytes)"
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}

// cutAt backs n up to the start of a rune of s (at most 3 bytes, which is
// all a valid rune needs) so that cutting there splits no character.
func cutAt(s string, n int) int {
	for i := 0; i < utf8.UTFMax-1 && n > 0 && !utf8.RuneStart(s[n]); i++ {
		n--
	}
	return n
}
