package world

import (
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
	"gopkg.in/yaml.v3"

	"github.com/callbill/callbill"
)

func (o *obj) has(key string) bool { return o.vals[key] != nil }

func (o *obj) at(key string) string { return join(o.path, key) }

func (o *obj) required(key, hint string) {
	if hint != "" {
		o.p.addAfter(o.node, o.at(key), "required: %s", hint)
		return
	}
	o.p.addAfter(o.node, o.at(key), "required")
}

// scalar returns the literal text of key's value. ok is false when the field
// is absent (reported if required) or not a single value, or holds a NUL or
// broken UTF-8 (always reported): no such text goes further than here.
func (o *obj) scalar(key string, required bool, hint string) (string, bool) {
	v := o.vals[key]
	if v == nil {
		if required {
			o.required(key, hint)
		}
		return "", false
	}
	if v.Kind != yaml.ScalarNode {
		o.p.add(v, o.at(key), "must be a single value, not %s", kindName(v))
		return "", false
	}
	if msg := badText(v.Value); msg != "" {
		o.p.add(v, o.at(key), "%s", msg)
		return "", false
	}
	s := strings.TrimSpace(v.Value)
	if s == "" {
		if required {
			o.required(key, hint)
		}
		return "", false
	}
	return s, true
}

// badText says what is wrong with text no field may hold, or "".
func badText(s string) string {
	switch {
	case strings.IndexByte(s, 0) >= 0:
		return "contains a NUL byte"
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	}
	return ""
}

// text reads a scalar of at most maxBytes bytes.
func (o *obj) text(key string, required bool, hint string, maxBytes int) (string, bool) {
	s, ok := o.scalar(key, required, hint)
	if !ok {
		return "", false
	}
	if len(s) > maxBytes {
		o.p.add(o.vals[key], o.at(key), "is %d bytes; at most %d allowed", len(s), maxBytes)
		return "", false
	}
	return s, true
}

// enum reads a value that must be one of choices.
func (o *obj) enum(key string, required bool, choices ...string) (string, bool) {
	hint := strings.Join(choices, " or ")
	if len(choices) > 2 {
		hint = "one of " + strings.Join(choices, ", ")
	}
	s, ok := o.scalar(key, required, hint)
	if !ok {
		return "", false
	}
	if !contains(choices, s) {
		o.p.add(o.vals[key], o.at(key), "must be %s, not %s", hint, quote(s))
		return "", false
	}
	return s, true
}

// number text of a scalar: YAML integers may carry digit separators (1_000).
func numberText(v *yaml.Node, s string) string {
	if v.ShortTag() == "!!int" {
		s = strings.ReplaceAll(s, "_", "")
	}
	return s
}

// money reads a decimal through one of the money grammar's parsers
// (callbill.ParseAmount, ParsePrice, ParseRate), so that the world file
// accepts exactly what every other way into callbill accepts. YAML numbers
// are read from their literal text, so 0.15 stays exact.
func (o *obj) money(key string, required bool, parse func(string) (decimal.Decimal, error)) (decimal.Decimal, bool) {
	s, ok := o.scalar(key, required, "")
	if !ok {
		return decimal.Decimal{}, false
	}
	v := o.vals[key]
	d, err := parse(numberText(v, s))
	if err != nil {
		o.p.add(v, o.at(key), "%s", callbill.ErrorMessage(err))
		return decimal.Decimal{}, false
	}
	return d, true
}

// integer reads a whole number in [lo, hi].
func (o *obj) integer(key string, required bool, lo, hi int64) (int64, bool) {
	s, ok := o.scalar(key, required, "")
	if !ok {
		return 0, false
	}
	v := o.vals[key]
	s = numberText(v, s)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) && strings.HasPrefix(s, "-") {
			o.p.add(v, o.at(key), "must be at least %d, got %s", lo, short(s))
		} else if errors.Is(err, strconv.ErrRange) {
			o.p.add(v, o.at(key), "must be at most %d, got %s", hi, short(s))
		} else {
			o.p.add(v, o.at(key), "must be a whole number, not %s", quote(s))
		}
		return 0, false
	}
	if n < lo {
		o.p.add(v, o.at(key), "must be at least %d, got %d", lo, n)
		return 0, false
	}
	if n > hi {
		o.p.add(v, o.at(key), "must be at most %d, got %d", hi, n)
		return 0, false
	}
	return n, true
}

const timeExample = "2026-10-01T08:00:00+08:00"

// time reads an RFC 3339 time with an offset (fractional seconds allowed).
func (o *obj) time(key string, required bool) (time.Time, bool) {
	s, ok := o.scalar(key, required, "an RFC 3339 time with an offset, e.g. "+timeExample)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		o.p.add(o.vals[key], o.at(key), "must be RFC 3339 with an offset, e.g. %s, not %s", timeExample, quote(s))
		return time.Time{}, false
	}
	return t, true
}

// cycle reads a YYYY-MM billing cycle.
func (o *obj) cycle(key string) (callbill.Cycle, bool) {
	s, ok := o.scalar(key, false, "")
	if !ok {
		return 0, false
	}
	c, err := callbill.ParseCycle(s)
	if err != nil {
		o.p.add(o.vals[key], o.at(key), "must be a month YYYY-MM, e.g. 2026-01, not %s", quote(s))
		return 0, false
	}
	return c, true
}
