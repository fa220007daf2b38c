package sqlstore

import (
	"strconv"
	"strings"

	"github.com/callbill/callbill"
)

// The rating result of a call is stored in one compact text column, so that
// an import writes few bytes and binds few parameters per call (row size is
// what bounds SQLite's insert speed). Layout:
//
//	<item><source><mode><late>;item_micro;covered;charge_micro;bands;packages
//
// item is I (FixedLineInbound), O (FixedLineOutbound), 4 (Inbound_400) or -
// (none); source c/t/o; mode p/s; late 1/0. bands is "band:minutes:micro"
// joined by ',' (a call has bands only when it pays the platform fee),
// packages "id:minutes" joined by ','. Telecom minutes are the call's minutes
// when it has an item; the service number follows from the direction.
var (
	itemCode   = map[callbill.Item]byte{callbill.ItemFixedLineInbound: 'I', callbill.ItemFixedLineOutbound: 'O', callbill.ItemInbound400: '4', "": '-'}
	codeItem   = map[byte]callbill.Item{'I': callbill.ItemFixedLineInbound, 'O': callbill.ItemFixedLineOutbound, '4': callbill.ItemInbound400, '-': ""}
	sourceCode = map[callbill.NumberSource]byte{callbill.SourceCCC: 'c', callbill.SourceThirdParty: 't', callbill.SourceOwn: 'o'}
	codeSource = map[byte]callbill.NumberSource{'c': callbill.SourceCCC, 't': callbill.SourceThirdParty, 'o': callbill.SourceOwn}
)

func encodeRating(buf []byte, c *callbill.Call) []byte {
	b := append(buf[:0], itemCode[c.Item], sourceCode[c.NumberSource])
	if c.Mode == callbill.ModeSubscription {
		b = append(b, 's')
	} else {
		b = append(b, 'p')
	}
	if c.Late {
		b = append(b, '1')
	} else {
		b = append(b, '0')
	}
	b = append(b, ';')
	b = strconv.AppendInt(b, c.ItemMicro, 10)
	b = append(b, ';')
	b = strconv.AppendInt(b, c.CoveredMinutes, 10)
	b = append(b, ';')
	b = strconv.AppendInt(b, c.ChargeMicro, 10)
	b = append(b, ';')
	for i, u := range c.Bands {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(u.Band), 10)
		b = append(b, ':')
		b = strconv.AppendInt(b, u.Minutes, 10)
		b = append(b, ':')
		b = strconv.AppendInt(b, u.Micro, 10)
	}
	b = append(b, ';')
	for i, u := range c.Packages {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, u.PackageID...)
		b = append(b, ':')
		b = strconv.AppendInt(b, u.Minutes, 10)
	}
	return b
}

// decodeRating fills the rating fields of c (whose CDR fields and Minutes are
// set) from the stored text.
func decodeRating(s string, c *callbill.Call) error {
	f := strings.Split(s, ";")
	if len(f) != 6 || len(f[0]) != 4 {
		return callbill.Errorf(callbill.EINTERNAL, "stored rating %q is malformed", s)
	}
	c.Item, c.NumberSource = codeItem[f[0][0]], codeSource[f[0][1]]
	c.Mode = callbill.ModePayg
	if f[0][2] == 's' {
		c.Mode = callbill.ModeSubscription
	}
	c.Late = f[0][3] == '1'
	c.Number = c.Callee
	if c.Direction == callbill.Outbound {
		c.Number = c.Caller
	}
	for i, p := range []*int64{&c.ItemMicro, &c.CoveredMinutes, &c.ChargeMicro} {
		v, err := strconv.ParseInt(f[1+i], 10, 64)
		if err != nil {
			return callbill.Errorf(callbill.EINTERNAL, "stored rating %q is malformed", s)
		}
		*p = v
	}
	c.TelecomMinutes, c.PlatformMinutes = 0, 0
	if c.Item != "" {
		c.TelecomMinutes = c.Minutes
	}
	c.Bands, c.Packages = nil, nil
	if f[4] != "" {
		c.PlatformMinutes = c.Minutes
		for _, part := range strings.Split(f[4], ",") {
			x := strings.Split(part, ":")
			if len(x) != 3 {
				return callbill.Errorf(callbill.EINTERNAL, "stored rating %q is malformed", s)
			}
			band, _ := strconv.Atoi(x[0])
			m, _ := strconv.ParseInt(x[1], 10, 64)
			micro, _ := strconv.ParseInt(x[2], 10, 64)
			c.Bands = append(c.Bands, callbill.BandUse{Band: band, Minutes: m, Micro: micro})
		}
	}
	if f[5] != "" {
		for _, part := range strings.Split(f[5], ",") {
			i := strings.LastIndexByte(part, ':')
			m, _ := strconv.ParseInt(part[i+1:], 10, 64)
			c.Packages = append(c.Packages, callbill.PackageUse{PackageID: part[:i], Minutes: m})
		}
	}
	return nil
}
