package main

import (
	"strings"
	"testing"
)

// hasRow reports whether a table in out has a row whose first cells are
// cells (cells are two or more spaces apart).
func hasRow(out string, cells ...string) bool {
	for _, line := range strings.Split(out, "\n") {
		var got []string
		for _, c := range strings.Split(line, "  ") {
			if c = strings.TrimSpace(c); c != "" {
				got = append(got, c)
			}
		}
		if len(got) >= len(cells) && strings.Join(got[:len(cells)], "\x00") == strings.Join(cells, "\x00") {
			return true
		}
	}
	return false
}

// TestTablePadsByDisplayWidth: a Chinese heading takes two columns a rune,
// so the columns after it line up; amount columns, their heading too, are
// aligned right; a rule spans the table.
func TestTablePadsByDisplayWidth(t *testing.T) {
	tb := newTable(right("#"), left("时间"), left("类型"), right("金额"), left("说明"))
	tb.row("1", "2026-10-01 08:00:00", "充值", "1000.00", "T-1")
	tb.row("12", "2026-11-02 12:00:00", "账单扣款", "-3736.44", "bill:2026-10 — 抹零")
	tb.rule()
	tb.row("", "合计", "", "-2736.44")
	var sb strings.Builder
	if err := tb.write(&sb); err != nil {
		t.Fatal(err)
	}
	want := " #  时间                 类型          金额  说明\n" +
		" 1  2026-10-01 08:00:00  充值       1000.00  T-1\n" +
		"12  2026-11-02 12:00:00  账单扣款  -3736.44  bill:2026-10 — 抹零\n" +
		"----------------------------------------------------------------\n" +
		"    合计                           -2736.44\n"
	if sb.String() != want {
		t.Errorf("got\n%s\nwant\n%s", sb.String(), want)
	}
}
