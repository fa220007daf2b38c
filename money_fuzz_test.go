package callbill

import (
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

// FuzzParseAmount: the money grammar never panics, accepts only plain
// decimal notation within its bounds, and what it accepts prints back as
// the same value.
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"100.00", "0.15", "1e3", "1e5000", "NaN", "-10.00", "¥10", "1,000", "0.0499",
		"1000000000.00", "1000000000.01", "5000000000000", " 7 ", ".5", "5.", "00012.300", strings.Repeat("9", 50)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		check := func(name string, parse func(string) (string, error), places int, max string, signed bool) {
			got, err := parse(s)
			if err != nil {
				if ErrorCode(err) != EINVALID {
					t.Fatalf("%s(%q): code %s", name, s, ErrorCode(err))
				}
				return
			}
			body := strings.TrimSpace(s)
			if signed {
				body = strings.TrimPrefix(body, "-")
			}
			if strings.ContainsAny(body, "eE+-,¥ _xXnN") || len(body) > maxDecimalText {
				t.Fatalf("%s(%q) accepted %s", name, s, got)
			}
			d := dec(got)
			if !d.Equal(d.Truncate(int32(places))) || d.Abs().GreaterThan(dec(max)) || (!signed && d.IsNegative()) {
				t.Fatalf("%s(%q) = %s breaks its bounds", name, s, got)
			}
			if !dec(body).Equal(d.Abs()) {
				t.Fatalf("%s(%q) = %s", name, s, got)
			}
		}
		str := func(p func(string) (decimal.Decimal, error)) func(string) (string, error) {
			return func(s string) (string, error) {
				d, err := p(s)
				return d.String(), err
			}
		}
		check("ParseAmount", str(ParseAmount), AmountPlaces, "1000000000", false)
		check("ParseSignedAmount", str(ParseSignedAmount), AmountPlaces, "1000000000", true)
		check("ParsePrice", str(ParsePrice), PricePlaces, "1000000", false)
		check("ParseRate", str(ParseRate), RatePlaces, "1", false)
	})
}

// FuzzMicro: the fast path of Micro agrees with shifting the decimal, for
// any coefficient and exponent.
func FuzzMicro(f *testing.F) {
	for _, c := range [][2]int64{{69, -3}, {0, 0}, {1, -6}, {1, -7}, {-45, -2}, {999_999_999_999, -6}, {1_000_000_000_000, -6}, {5, 3}, {123, -10}} {
		f.Add(c[0], c[1])
	}
	f.Fuzz(func(t *testing.T, coef, exp int64) {
		if exp < -30 || exp > 30 {
			return
		}
		d := decimal.New(coef, int32(exp))
		if d.Abs().GreaterThan(decimal.New(1, 12)) {
			return // beyond any price: the general path overflows int64 too
		}
		if got, want := Micro(d), d.Shift(6).IntPart(); got != want {
			t.Fatalf("Micro(%s) = %d, want %d", d, got, want)
		}
	})
}
