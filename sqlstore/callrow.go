package sqlstore

import (
	"strconv"
	"strings"

	"github.com/callbill/callbill"
)

// The rating result of a call is stored in one compact text column, so that
// an import binds few parameters per call. Layout, fields separated by ';':
//
//	late;item;number;source;mode;item_micro;item_from;telecom;covered;platform;platform_from;charge;bands;packages
//
// bands is "band:minutes:micro" joined by ',', packages "id:minutes" joined by ','.
func encodeRating(buf []byte, c *callbill.Call) []byte {
	b := buf[:0]
	if c.Late {
		b = append(b, '1')
	} else {
		b = append(b, '0')
	}
	b = append(b, ';')
	b = append(b, c.Item...)
	b = append(b, ';')
	b = append(b, c.Number...)
	b = append(b, ';')
	b = append(b, c.NumberSource...)
	b = append(b, ';')
	b = append(b, c.Mode...)
	for _, v := range []int64{c.ItemMicro, c.ItemPriceFrom, c.TelecomMinutes, c.CoveredMinutes, c.PlatformMinutes, c.PlatformPriceFrom, c.ChargeMicro} {
		b = append(b, ';')
		b = strconv.AppendInt(b, v, 10)
	}
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

// decodeRating fills the rating fields of c from the stored text.
func decodeRating(s string, c *callbill.Call) error {
	f := strings.Split(s, ";")
	if len(f) != 14 {
		return callbill.Errorf(callbill.EINTERNAL, "stored rating %q has %d fields", s, len(f))
	}
	c.Late = f[0] == "1"
	c.Item, c.Number = callbill.Item(f[1]), f[2]
	c.NumberSource, c.Mode = callbill.NumberSource(f[3]), callbill.Mode(f[4])
	ints := []*int64{&c.ItemMicro, &c.ItemPriceFrom, &c.TelecomMinutes, &c.CoveredMinutes, &c.PlatformMinutes, &c.PlatformPriceFrom, &c.ChargeMicro}
	for i, p := range ints {
		v, err := strconv.ParseInt(f[5+i], 10, 64)
		if err != nil {
			return err
		}
		*p = v
	}
	c.Bands, c.Packages = nil, nil
	if f[12] != "" {
		for _, part := range strings.Split(f[12], ",") {
			x := strings.Split(part, ":")
			band, _ := strconv.Atoi(x[0])
			m, _ := strconv.ParseInt(x[1], 10, 64)
			micro, _ := strconv.ParseInt(x[2], 10, 64)
			c.Bands = append(c.Bands, callbill.BandUse{Band: band, Minutes: m, Micro: micro})
		}
	}
	if f[13] != "" {
		for _, part := range strings.Split(f[13], ",") {
			i := strings.LastIndexByte(part, ':')
			m, _ := strconv.ParseInt(part[i+1:], 10, 64)
			c.Packages = append(c.Packages, callbill.PackageUse{PackageID: part[:i], Minutes: m})
		}
	}
	return nil
}
