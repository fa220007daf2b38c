package export

import (
	"strconv"
	"strings"

	"github.com/callbill/callbill"
)

// col is a column of a usage file.
type col uint8

// The standard columns (docs/rules.md, "Usage detail and export"), in order, then the extra ones.
const (
	colUID col = iota
	colStart
	colFixedIn
	colFixedOut
	col400
	colInstance
	colPlatform
	colSIP
	colStartEpoch
	colEndEpoch
	colCaller
	colCallee
	nStandard

	colContactID col = iota - 1
	colDirection
	colNumber
	colItem
	colMinutes
	colCovered
	colCharge
	colLate
	colBilledCycle
)

// extras names the extra columns, in the order ExtraColumns lists them.
var extras = []struct {
	name string
	col  col
}{
	{"contact_id", colContactID},
	{"direction", colDirection},
	{"number", colNumber},
	{"item", colItem},
	{"minutes", colMinutes},
	{"covered_minutes", colCovered},
	{"charge", colCharge},
	{"late", colLate},
	{"billed_cycle", colBilledCycle},
}

// ExtraColumns returns the names Options.Extra accepts, in a stable order:
//
//	contact_id       the CDR's contact id (text)
//	direction        inbound or outbound (text)
//	number           the service number (text, digits)
//	item             the telecom billing item, empty when none (text)
//	minutes          the call's minutes (number)
//	covered_minutes  minutes a voice package covered (number)
//	charge           the call's exact list-price charge in yuan, before contract discounts (number)
//	late             true when the call was billed late, in a later cycle (true/false)
//	billed_cycle     the cycle the call is billed in, YYYY-MM (text)
func ExtraColumns() []string {
	out := make([]string, len(extras))
	for i, e := range extras {
		out[i] = e.name
	}
	return out
}

// columns returns the file's columns and header: the standard ones, then
// the named extras (names are trimmed and compared without case; an empty
// name is skipped, a repeated one refused).
func columns(extra []string) ([]col, []string, error) {
	cols := make([]col, 0, int(nStandard)+len(extra))
	for c := colUID; c < nStandard; c++ {
		cols = append(cols, c)
	}
	header := append([]string(nil), callbill.UsageCSVHeader...)
	seen := map[string]bool{}
	for _, name := range extra {
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "" {
			continue
		}
		if seen[name] {
			return nil, nil, callbill.Errorf(callbill.EINVALID, "extra column %s is named twice", name)
		}
		seen[name] = true
		found := false
		for _, e := range extras {
			if e.name == name {
				cols, header, found = append(cols, e.col), append(header, e.name), true
				break
			}
		}
		if !found {
			return nil, nil, callbill.Errorf(callbill.EINVALID, "unknown extra column %q (known: %s)", name, strings.Join(ExtraColumns(), ", "))
		}
	}
	return cols, header, nil
}

// kind is how a cell is written.
type kind uint8

const (
	kText  kind = iota // s; neutralized
	kInt               // n
	kMicro             // n millionths of a yuan, written as an exact decimal
	kBool              // n != 0
	kTime              // n epoch seconds, written as local date and time
)

// cell is one value of a row.
type cell struct {
	kind kind
	s    string
	n    int64
}

// cycles renders billed cycles, keeping the last one (a file usually holds
// one or two).
type cycles struct {
	c callbill.Cycle
	s string
}

func (cs *cycles) String(c callbill.Cycle) string {
	if c != cs.c || cs.s == "" {
		cs.c, cs.s = c, c.String()
	}
	return cs.s
}

// cellOf is column k of call c.
func cellOf(k col, c *callbill.Call, cs *cycles) cell {
	switch k {
	case colUID:
		return cell{kind: kText, s: c.Account}
	case colStart:
		return cell{kind: kTime, n: c.Start}
	case colFixedIn, colFixedOut, col400:
		if c.Item == itemOf[k] {
			return cell{kind: kInt, n: c.TelecomMinutes}
		}
		return cell{kind: kInt}
	case colInstance:
		return cell{kind: kText, s: c.InstanceID}
	case colPlatform:
		return cell{kind: kInt, n: c.PlatformMinutes}
	case colSIP:
		return cell{kind: kInt, n: c.SIPMinutes()}
	case colStartEpoch:
		return cell{kind: kInt, n: c.Start}
	case colEndEpoch:
		return cell{kind: kInt, n: c.End}
	case colCaller:
		return cell{kind: kText, s: c.Caller}
	case colCallee:
		return cell{kind: kText, s: c.Callee}
	case colContactID:
		return cell{kind: kText, s: c.ContactID}
	case colDirection:
		return cell{kind: kText, s: string(c.Direction)}
	case colNumber:
		return cell{kind: kText, s: c.Number}
	case colItem:
		return cell{kind: kText, s: string(c.Item)}
	case colMinutes:
		return cell{kind: kInt, n: c.Minutes}
	case colCovered:
		return cell{kind: kInt, n: c.CoveredMinutes}
	case colCharge:
		return cell{kind: kMicro, n: c.ChargeMicro}
	case colLate:
		if c.Late {
			return cell{kind: kBool, n: 1}
		}
		return cell{kind: kBool}
	case colBilledCycle:
		return cell{kind: kText, s: cs.String(c.Cycle)}
	}
	panic("export: unknown column")
}

// itemOf is the telecom item of each minute column.
var itemOf = [...]callbill.Item{colFixedIn: callbill.ItemFixedLineInbound, colFixedOut: callbill.ItemFixedLineOutbound,
	col400: callbill.ItemInbound400}

// appendMicro appends n millionths as an exact decimal with no trailing
// zeros ("0.0499", "15", "0"): what decimal.Decimal.String gives for
// callbill.FromMicro(n), as the API shows a call's charge.
func appendMicro(b []byte, n int64) []byte {
	u := uint64(n)
	if n < 0 {
		b = append(b, '-')
		u = uint64(-n)
	}
	b = strconv.AppendUint(b, u/1e6, 10)
	frac := u % 1e6
	if frac == 0 {
		return b
	}
	var d [7]byte
	d[0] = '.'
	for i := 6; i >= 1; i-- {
		d[i] = byte('0' + frac%10)
		frac /= 10
	}
	end := 7
	for d[end-1] == '0' {
		end--
	}
	return append(b, d[:end]...)
}
