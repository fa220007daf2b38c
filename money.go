package callbill

import (
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
)

// Money and quantities are exact decimals (shopspring/decimal); rounding happens
// only at the points docs/rules.md, "Rounding", names, through the helpers below.

// Fen is the smallest payable unit, 0.01 CNY.
const fenPlaces = 2

var (
	zero    = decimal.Zero
	one     = decimal.NewFromInt(1)
	fen     = decimal.New(1, -fenPlaces)
	bytesGB = decimal.NewFromInt(1 << 30)
)

// RoundDownFen drops everything below the fen (抹零).
func RoundDownFen(d decimal.Decimal) decimal.Decimal { return d.RoundDown(fenPlaces) }

// HalfUpFen rounds half away from zero to the fen. Amounts here are never
// negative, so this is half-up.
func HalfUpFen(d decimal.Decimal) decimal.Decimal { return d.Round(fenPlaces) }

// FormatMoney prints an amount with exactly two decimals.
func FormatMoney(d decimal.Decimal) string { return d.StringFixed(fenPlaces) }

// FormatExact prints a decimal without trailing zeros ("0.15", "100", "0.0045").
func FormatExact(d decimal.Decimal) string { return d.String() }

// FormatRoundDown prints a bill's round-down (抹零) exactly, but never with
// fewer than two decimals: the bill's JSON shows an exact "0.0045" and a zero as
// "0.00" (docs/rules.md, "Money and amounts"), so a whole-fen fraction must not print as "0".
func FormatRoundDown(d decimal.Decimal) string {
	if d.Equal(d.Truncate(fenPlaces)) {
		return d.StringFixed(fenPlaces)
	}
	return d.String()
}

// FormatPrice prints a unit price with its own decimals, as the price book
// states it ("0.20", "0.0499", "199"): the bill's JSON keeps unit prices as
// given (docs/rules.md, "Money and amounts").
func FormatPrice(d decimal.Decimal) string {
	if d.Exponent() >= 0 {
		return d.String()
	}
	return d.StringFixed(-d.Exponent())
}

// MustDecimal parses a constant; it panics on a typo in the source.
func MustDecimal(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// The money grammar: every amount, price and rate that enters callbill — world
// file, REST, CLI, console — is read by the parsers below, so one grammar and
// one set of bounds hold everywhere (docs/security.md). Plain decimal notation
// only: digits, optionally a point and more digits; no exponent, no NaN, no
// currency sign, no thousands separator. The bounds keep every per-call and
// per-line product far inside int64 (docs/security.md, "Limits on input").
const (
	AmountPlaces = fenPlaces // an amount of money: whole fen
	PricePlaces  = 6         // a unit price: millionths of a yuan
	RatePlaces   = 4         // a discount rate
	// maxDecimalText bounds the text of any decimal input, trailing zeros
	// included, so that a hostile "0.000…" costs nothing to refuse.
	maxDecimalText = 40
)

var (
	// MaxAmount bounds one money movement (a top-up, an adjustment, a credit
	// line, an invoice): 1,000,000,000.00 yuan.
	MaxAmount = decimal.NewFromInt(1_000_000_000)
	// MaxPrice bounds a unit price: 1,000,000 yuan per unit.
	MaxPrice = decimal.NewFromInt(1_000_000)
)

// parsePlain reads plain decimal notation, an optional leading '-' when
// signed, at most places decimals (trailing zeros beyond them are fine).
func parsePlain(s string, places int32, signed bool) (decimal.Decimal, error) {
	s = strings.TrimSpace(s)
	example := "100.00"
	if places > AmountPlaces {
		example = "0.0499"
	}
	bad := func() (decimal.Decimal, error) {
		return zero, Errorf(EINVALID, "%s is not a plain decimal number such as %s (digits, a point and at most %d decimals; no exponent, sign or currency symbol)",
			quoteShort(s), example, places)
	}
	if s == "" || len(s) > maxDecimalText {
		return bad()
	}
	body := s
	if signed && body[0] == '-' {
		body = body[1:]
	}
	intDigits, fracDigits, point := 0, 0, false
	for i := 0; i < len(body); i++ {
		switch c := body[i]; {
		case c >= '0' && c <= '9':
			if point {
				fracDigits++
			} else {
				intDigits++
			}
		case c == '.' && !point:
			point = true
		default:
			return bad()
		}
	}
	if intDigits == 0 || (point && fracDigits == 0) {
		return bad()
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return bad()
	}
	if !d.Equal(d.Truncate(places)) {
		return zero, Errorf(EINVALID, "%s has more than %d decimals", quoteShort(s), places)
	}
	return d, nil
}

// quoteShort quotes input for an error message, cut to a readable length.
func quoteShort(s string) string {
	if len(s) > maxDecimalText {
		s = s[:maxDecimalText] + "…"
	}
	return strconv.Quote(s)
}

// ParseAmount parses a non-negative amount of money: at most 2 decimals, at
// most MaxAmount. Returns EINVALID naming the rule it breaks.
func ParseAmount(s string) (decimal.Decimal, error) {
	d, err := parsePlain(s, AmountPlaces, false)
	if err == nil && d.GreaterThan(MaxAmount) {
		err = Errorf(EINVALID, "%s is more than the largest amount, %s", quoteShort(s), FormatMoney(MaxAmount))
	}
	return d, err
}

// ParseSignedAmount parses an amount that may be negative (an adjustment's
// debit): |amount| ≤ MaxAmount, at most 2 decimals.
func ParseSignedAmount(s string) (decimal.Decimal, error) {
	d, err := parsePlain(s, AmountPlaces, true)
	if err == nil && d.Abs().GreaterThan(MaxAmount) {
		err = Errorf(EINVALID, "%s is beyond the largest amount, %s", quoteShort(s), FormatMoney(MaxAmount))
	}
	return d, err
}

// ParsePrice parses a non-negative unit price: at most 6 decimals, at most
// MaxPrice.
func ParsePrice(s string) (decimal.Decimal, error) {
	d, err := parsePlain(s, PricePlaces, false)
	if err == nil && d.GreaterThan(MaxPrice) {
		err = Errorf(EINVALID, "%s is more than the largest unit price, %s", quoteShort(s), MaxPrice)
	}
	return d, err
}

// ParseRate parses a discount rate: 0 < r ≤ 1 with at most 4 decimals
// (0.8 = pays 80 %).
func ParseRate(s string) (decimal.Decimal, error) {
	d, err := parsePlain(s, RatePlaces, false)
	if err == nil && (!d.IsPositive() || d.GreaterThan(one)) {
		err = Errorf(EINVALID, "%s must be a rate more than 0 and at most 1 (0.8 = pays 80 %%)", quoteShort(s))
	}
	return d, err
}

// Micro converts a price with at most 6 decimals to an integer count of
// millionths of a yuan, the exact unit of per-call charges.
func Micro(d decimal.Decimal) int64 {
	// Every price has at most 6 decimals and few digits: then the
	// coefficient scaled up is exact, without the two big.Int the general
	// path allocates (it ran for every rated call).
	if e := int(d.Exponent()) + 6; e >= 0 && e <= 6 && d.NumDigits() <= 12 {
		return d.CoefficientInt64() * microScale[e]
	}
	return d.Shift(6).IntPart()
}

var microScale = [7]int64{1, 10, 100, 1_000, 10_000, 100_000, 1_000_000}

// FromMicro converts millionths of a yuan back to a decimal.
func FromMicro(m int64) decimal.Decimal { return decimal.New(m, -6) }
