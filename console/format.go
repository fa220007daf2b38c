package console

import (
	"strings"
	"time"

	"github.com/callbill/callbill"
	"github.com/shopspring/decimal"
)

// Money shows an amount as the console does: ¥1,234.56 (−¥12.00 below 0).
func Money(d decimal.Decimal) string {
	return groupYuan(callbill.FormatMoney(d))
}

// MoneyString shows an amount given as a decimal string (as the API and
// Bill.JSON give it) the console's way; anything that is not a number comes
// back as it is.
func MoneyString(s string) string {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return s
	}
	return groupYuan(callbill.FormatMoney(d))
}

// groupYuan puts the yuan sign and thousands separators on a fixed-point
// amount such as "-1234.56".
func groupYuan(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	if neg {
		b.WriteString("-")
	}
	b.WriteString("¥")
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if frac != "" {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}

// Int shows a whole number with thousands separators.
func Int(n int64) string { return group(decimal.NewFromInt(n).String()) }

func group(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	if neg {
		b.WriteString("-")
	}
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if hasFrac {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}

// dateTime shows an instant in the billing time zone ("" for the zero time).
func dateTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format("2006-01-02 15:04:05")
}

// cycleOptions lists the cycles the cycle picker offers, newest first: every
// month from the account's first cycle with anything in it (at most five
// years back) to the current one.
func cycleOptions(have []callbill.Cycle, current callbill.Cycle) []callbill.Cycle {
	first := current
	if len(have) > 0 && have[0] < first {
		first = max(have[0], current-60)
	}
	var out []callbill.Cycle
	for c := current; c >= first; c-- {
		out = append(out, c)
	}
	return out
}
