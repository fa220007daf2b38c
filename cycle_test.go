package callbill

import (
	"testing"
	"time"
)

func TestParseCycle(t *testing.T) {
	for _, tc := range []struct {
		in    string
		year  int
		month time.Month
	}{
		{"2026-10", 2026, time.October},
		{"2026-01", 2026, time.January},
		{"2026-12", 2026, time.December},
		{"2028-02", 2028, time.February},
		{"1999-07", 1999, time.July},
	} {
		t.Run(tc.in, func(t *testing.T) {
			c, err := ParseCycle(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if c.Year() != tc.year || c.Month() != tc.month {
				t.Errorf("ParseCycle(%q) = %d-%d, want %d-%d", tc.in, c.Year(), c.Month(), tc.year, tc.month)
			}
			if c != NewCycle(tc.year, tc.month) {
				t.Errorf("ParseCycle(%q) = %d, want NewCycle = %d", tc.in, c, NewCycle(tc.year, tc.month))
			}
			if c.String() != tc.in {
				t.Errorf("String = %q, want %q", c.String(), tc.in)
			}
		})
	}
}

func TestParseCycleInvalid(t *testing.T) {
	for _, in := range []string{"2026-13", "2026-00", "2026-1", "x", "", "2026", "2026-10-01", "2026/10",
		"26-10", " 2026-10", "2026-10 ", "2026-1x", "202a-10", "2026–10"} {
		t.Run(in, func(t *testing.T) {
			_, err := ParseCycle(in)
			if err == nil {
				t.Fatalf("ParseCycle(%q) accepted", in)
			}
			if ErrorCode(err) != EINVALID {
				t.Errorf("code %q, want %q", ErrorCode(err), EINVALID)
			}
		})
	}
}

func TestCycleArithmetic(t *testing.T) {
	dec26 := cyc(t, "2026-12")
	if got := (dec26 + 1).String(); got != "2027-01" {
		t.Errorf("2026-12 + 1 = %s", got)
	}
	if got := (cyc(t, "2027-01") - 1).String(); got != "2026-12" {
		t.Errorf("2027-01 − 1 = %s", got)
	}
	if !(cyc(t, "2026-09") < cyc(t, "2026-10") && cyc(t, "2026-12") < cyc(t, "2027-01")) {
		t.Errorf("cycles do not compare in time order")
	}
}

func TestCycleStartEnd(t *testing.T) {
	loc := shanghai(t)
	for _, tc := range []struct {
		cycle      string
		start, end string
	}{
		{"2026-10", "2026-10-01T00:00:00+08:00", "2026-11-01T00:00:00+08:00"},
		{"2026-12", "2026-12-01T00:00:00+08:00", "2027-01-01T00:00:00+08:00"},
		{"2028-02", "2028-02-01T00:00:00+08:00", "2028-03-01T00:00:00+08:00"},
	} {
		t.Run(tc.cycle, func(t *testing.T) {
			c := cyc(t, tc.cycle)
			if s := c.Start(loc); !s.Equal(at(t, tc.start)) {
				t.Errorf("Start = %s, want %s", s, tc.start)
			}
			if e := c.End(loc); !e.Equal(at(t, tc.end)) {
				t.Errorf("End = %s, want %s", e, tc.end)
			}
			// The start is 16:00 UTC on the previous day, whatever the machine's zone.
			if s := c.Start(loc).UTC(); s.Hour() != 16 {
				t.Errorf("Start in UTC = %s", s)
			}
			if CycleOf(c.Start(loc), loc) != c || CycleOf(c.End(loc).Add(-time.Nanosecond), loc) != c ||
				CycleOf(c.End(loc), loc) != c+1 {
				t.Errorf("CycleOf disagrees with Start/End")
			}
		})
	}
}

func TestCycleOfUsesBillingZone(t *testing.T) {
	loc := shanghai(t)
	for _, tc := range []struct {
		name, t, want string
	}{
		{"23:59 on 31 Oct in Shanghai", "2026-10-31T23:59:00+08:00", "2026-10"},
		{"15:59 UTC on 31 Oct", "2026-10-31T15:59:00Z", "2026-10"},
		{"16:30 UTC on 31 Oct", "2026-10-31T16:30:00Z", "2026-11"},
		{"New Year in Shanghai", "2026-12-31T16:00:00Z", "2027-01"},
		{"noon on 31 Oct in New York is 1 Nov in Shanghai", "2026-10-31T12:00:00-04:00", "2026-11"},
		{"11:59 on 31 Oct in New York is still October", "2026-10-31T11:59:59-04:00", "2026-10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := CycleOf(at(t, tc.t), loc).String(); got != tc.want {
				t.Errorf("CycleOf = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestCycleDays(t *testing.T) {
	for _, tc := range []struct {
		cycle string
		days  int
	}{
		{"2028-02", 29}, {"2026-02", 28}, {"2100-02", 28}, {"2000-02", 29},
		{"2026-01", 31}, {"2026-04", 30}, {"2026-10", 31}, {"2026-11", 30}, {"2026-12", 31},
	} {
		t.Run(tc.cycle, func(t *testing.T) {
			if got := cyc(t, tc.cycle).Days(); got != tc.days {
				t.Errorf("Days = %d, want %d", got, tc.days)
			}
		})
	}
}

func TestAddMonthsClamped(t *testing.T) {
	loc := shanghai(t)
	for _, tc := range []struct {
		name string
		from string
		n    int
		want string
	}{
		{"30 Nov + 3 = 28 Feb", "2026-11-30T10:00:00+08:00", 3, "2027-02-28T10:00:00+08:00"},
		{"31 Aug + 3 = 30 Nov", "2026-08-31T10:00:00+08:00", 3, "2026-11-30T10:00:00+08:00"},
		{"29 Nov + 3 = 29 Feb in a leap year", "2027-11-29T10:00:00+08:00", 3, "2028-02-29T10:00:00+08:00"},
		{"30 Nov + 3 = 29 Feb in a leap year", "2027-11-30T23:59:59+08:00", 3, "2028-02-29T23:59:59+08:00"},
		{"same day when it exists", "2026-10-01T09:00:00+08:00", 3, "2027-01-01T09:00:00+08:00"},
		{"31 Oct + 3 = 31 Jan", "2026-10-31T09:00:00+08:00", 3, "2027-01-31T09:00:00+08:00"},
		{"31 Dec + 3 = 31 Mar", "2026-12-31T00:00:00+08:00", 3, "2027-03-31T00:00:00+08:00"},
		{"31 Mar + 3 = 30 Jun", "2026-03-31T12:00:00+08:00", 3, "2026-06-30T12:00:00+08:00"},
		{"given in UTC, computed in Shanghai", "2026-11-30T02:00:00Z", 3, "2027-02-28T10:00:00+08:00"},
		// 31 Aug 16:30 UTC is 1 Sep 00:30 in Shanghai: three months later is
		// 1 Dec 00:30 there, not 30 Nov as UTC arithmetic would give.
		{"local date, not UTC date", "2026-08-31T16:30:00Z", 3, "2026-12-01T00:30:00+08:00"},
		{"keeps sub-second time", "2026-10-01T09:00:00.5+08:00", 3, "2027-01-01T09:00:00.5+08:00"},
		{"one month", "2026-01-31T08:00:00+08:00", 1, "2026-02-28T08:00:00+08:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := AddMonthsClamped(at(t, tc.from), tc.n, loc)
			if want := at(t, tc.want); !got.Equal(want) {
				t.Errorf("AddMonthsClamped(%s, %d) = %s, want %s", tc.from, tc.n, got, want)
			}
		})
	}
}
