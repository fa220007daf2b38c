package callbill

import (
	"fmt"
	"time"
)

// Cycle is a billing cycle, a calendar month in the billing time zone, stored
// as months since year 0 so that arithmetic and comparison are plain integers.
type Cycle int32

// NewCycle returns the cycle of the given year and month.
func NewCycle(year int, month time.Month) Cycle { return Cycle(year*12 + int(month) - 1) }

// CycleOf returns the cycle that t falls in, in the billing time zone loc.
func CycleOf(t time.Time, loc *time.Location) Cycle {
	lt := t.In(loc)
	return NewCycle(lt.Year(), lt.Month())
}

// ParseCycle parses YYYY-MM.
func ParseCycle(s string) (Cycle, error) {
	t, err := time.Parse("2006-01", s)
	if err != nil || len(s) != 7 {
		return 0, Errorf(EINVALID, "billing cycle %q must be YYYY-MM", s)
	}
	return NewCycle(t.Year(), t.Month()), nil
}

// Year returns the cycle's year.
func (c Cycle) Year() int { return int(c) / 12 }

// Month returns the cycle's month.
func (c Cycle) Month() time.Month { return time.Month(int(c)%12 + 1) }

func (c Cycle) String() string { return fmt.Sprintf("%04d-%02d", c.Year(), int(c.Month())) }

// Start is the first instant of the cycle in loc.
func (c Cycle) Start(loc *time.Location) time.Time {
	return time.Date(c.Year(), c.Month(), 1, 0, 0, 0, 0, loc)
}

// End is the first instant after the cycle in loc.
func (c Cycle) End(loc *time.Location) time.Time { return (c + 1).Start(loc) }

// AutoCloseAt is when a running server closes the cycle by itself: 12:00 on
// the 2nd of the next month in loc (docs/rules.md, "Closing a cycle").
func (c Cycle) AutoCloseAt(loc *time.Location) time.Time {
	n := c + 1
	return time.Date(n.Year(), n.Month(), 2, 12, 0, 0, 0, loc)
}

// Days is the number of days of the cycle.
func (c Cycle) Days() int {
	return time.Date(c.Year(), c.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// DefaultTimezone is the billing time zone unless the world file sets one.
const DefaultTimezone = "Asia/Shanghai"

// AddMonthsClamped returns the same local date and time n months later; a day
// the target month lacks becomes its last day (30 Nov + 3 months = 28 Feb).
func AddMonthsClamped(t time.Time, n int, loc *time.Location) time.Time {
	lt := t.In(loc)
	y, m, d := lt.Date()
	target := time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, loc)
	last := time.Date(target.Year(), target.Month()+1, 0, 0, 0, 0, 0, loc).Day()
	if d > last {
		d = last
	}
	return time.Date(target.Year(), target.Month(), d, lt.Hour(), lt.Minute(), lt.Second(), lt.Nanosecond(), loc)
}
