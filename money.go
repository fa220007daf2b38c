package callbill

import (
	"github.com/shopspring/decimal"
)

// Money and quantities are exact decimals (shopspring/decimal); rounding happens
// only at the points DESIGN §2 names, through the helpers below.

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
// fewer than two decimals: DESIGN §4.4 shows an exact "0.0045" and a zero as
// "0.00" (its example bill), so a whole-fen fraction must not print as "0".
func FormatRoundDown(d decimal.Decimal) string {
	if d.Equal(d.Truncate(fenPlaces)) {
		return d.StringFixed(fenPlaces)
	}
	return d.String()
}

// FormatPrice prints a unit price with its own decimals, as the price book
// states it ("0.20", "0.0499", "199"): DESIGN §4.4 keeps unit prices as given.
func FormatPrice(d decimal.Decimal) string {
	if d.Exponent() >= 0 {
		return d.String()
	}
	return d.StringFixed(-d.Exponent())
}

// MustDecimal parses a constant; it panics on a typo in the source.
func MustDecimal(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// ParseAmount parses a non-negative decimal with at most maxPlaces decimals.
func ParseAmount(s string, maxPlaces int32) (decimal.Decimal, error) {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return zero, Errorf(EINVALID, "%q is not a decimal number", s)
	}
	if d.IsNegative() {
		return zero, Errorf(EINVALID, "%q must not be negative", s)
	}
	if -d.Exponent() > maxPlaces && !d.Equal(d.Truncate(maxPlaces)) {
		return zero, Errorf(EINVALID, "%q has more than %d decimals", s, maxPlaces)
	}
	return d, nil
}

// Micro converts a price with at most 6 decimals to an integer count of
// millionths of a yuan, the exact unit of per-call charges.
func Micro(d decimal.Decimal) int64 { return d.Shift(6).IntPart() }

// FromMicro converts millionths of a yuan back to a decimal.
func FromMicro(m int64) decimal.Decimal { return decimal.New(m, -6) }
