package callbill

import "testing"

func TestNeutralizeCell(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"1000000000000001", "1000000000000001"},
		{"ccc-hz-001", "ccc-hz-001"},
		{"057188880001", "057188880001"},
		{"=1+2", "'=1+2"},
		{"=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"},
		{"+1", "'+1"},
		{"-ccc", "'-ccc"},
		{"-1", "'-1"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\tx", "'\tx"},
		{"\rx", "'\rx"},
		{"\nx", "\nx"}, // a line feed is quoted by the CSV writer, not a formula trigger
		{" =1", " =1"}, // only the first character counts
		{"a=1", "a=1"},
		{"'=1", "'=1"},
		{"＝1", "＝1"}, // full-width equals sign: not a formula in any spreadsheet
		{"杭州", "杭州"},
	} {
		if got := NeutralizeCell(tc.in); got != tc.want {
			t.Errorf("NeutralizeCell(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := NeedsNeutralizing(tc.in); got != (tc.in != tc.want) {
			t.Errorf("NeedsNeutralizing(%q) = %v", tc.in, got)
		}
	}
}

func TestNeutralizeCellDoesNotAllocate(t *testing.T) {
	s := "ccc-hz-001"
	if n := testing.AllocsPerRun(100, func() { _ = NeutralizeCell(s) }); n != 0 {
		t.Errorf("NeutralizeCell allocates %v times on a clean value", n)
	}
}
