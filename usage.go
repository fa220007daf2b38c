package callbill

import (
	"strconv"
	"time"
)

// UsageCSVHeader is the usage-detail CSV header (docs/rules.md, "Usage detail and export"), column for column.
var UsageCSVHeader = []string{"阿里云账户ID（UID）", "通话开始时间", "普通固话号码呼入时长（分钟）",
	"普通固话号码呼出时长（分钟）", "400号码呼入时长（分钟）", "云呼叫中心服务实例ID", "呼叫中心平台费（按量计费）",
	"SIP线路维护费（按量计费）", "consumption.portal.export.oms.CCC.CallStartTime",
	"consumption.portal.export.oms.CCC.CallEndTime", "consumption.portal.export.oms.CCC.Caller",
	"consumption.portal.export.oms.CCC.Callee"}

// UsageCSVRow renders a rated call as a usage-detail row: the reference
// rendering of docs/rules.md, "Usage detail and export" (package export writes the same bytes without
// building rows). The minute columns hold the call's minutes (before
// package deduction) in the column of its telecom item, 0 elsewhere; the
// text columns (UID, instance, caller, callee) are neutralized
// (NeutralizeCell).
func UsageCSVRow(c *Call, loc *time.Location, row []string) []string {
	col := func(it Item) string {
		if c.Item == it {
			return strconv.FormatInt(c.TelecomMinutes, 10)
		}
		return "0"
	}
	return append(row[:0], NeutralizeCell(c.Account), time.Unix(c.Start, 0).In(loc).Format("2006-01-02 15:04:05"),
		col(ItemFixedLineInbound), col(ItemFixedLineOutbound), col(ItemInbound400), NeutralizeCell(c.InstanceID),
		strconv.FormatInt(c.PlatformMinutes, 10), strconv.FormatInt(c.SIPMinutes(), 10),
		strconv.FormatInt(c.Start, 10), strconv.FormatInt(c.End, 10), NeutralizeCell(c.Caller), NeutralizeCell(c.Callee))
}

// NeutralizeCell guards a text cell of an exported CSV against formula
// injection (OWASP "CSV Injection"): a value that begins with =, +, -, @, a
// tab or a carriage return gets a leading single quote, so that a
// spreadsheet shows it as text instead of evaluating it. Any other value
// comes back unchanged (and unallocated). Numeric columns are never passed
// through it: a negative number stays a number.
func NeutralizeCell(s string) string {
	if NeedsNeutralizing(s) {
		return "'" + s
	}
	return s
}

// NeedsNeutralizing reports whether NeutralizeCell would change s.
func NeedsNeutralizing(s string) bool {
	if s == "" {
		return false
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return true
	}
	return false
}
