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
