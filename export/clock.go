package export

import "time"

// clock formats epoch seconds as "YYYY-MM-DD HH:MM:SS" in a time zone
// without going through time.Time for every call: it keeps the local date
// and the zone offset of the span it last looked up — the intersection of
// one local day and one zone period (time.Time.ZoneBounds), so a daylight
// saving change is looked up again — and works out the clock from the
// seconds since that day's local midnight.
type clock struct {
	loc      *time.Location
	lo, hi   int64 // [lo, hi): the instants the cached date and offset hold for
	midnight int64 // the instant the cached local day's clock reads 00:00:00 (offset held)
	date     [11]byte
}

// The instants the cache handles: years 1000 to 9998 in any zone.
const (
	minClock = -30610224000 // 1000-01-01T00:00:00Z
	maxClock = 253370764800 // 9999-01-01T00:00:00Z
)

// append appends t (epoch seconds) as local date and time to b.
func (k *clock) append(b []byte, loc *time.Location, t int64) []byte {
	if loc != k.loc || t < k.lo || t >= k.hi {
		if t < minClock || t >= maxClock { // never for a stored call
			return time.Unix(t, 0).In(loc).AppendFormat(b, "2006-01-02 15:04:05")
		}
		k.look(loc, t)
	}
	b = append(b, k.date[:]...)
	s := t - k.midnight
	b = append2(b, s/3600)
	b = append(b, ':')
	b = append2(b, s/60%60)
	b = append(b, ':')
	return append2(b, s%60)
}

func (k *clock) look(loc *time.Location, t int64) {
	tm := time.Unix(t, 0).In(loc)
	y, mo, d := tm.Date()
	h, mi, s := tm.Clock()
	k.loc = loc
	k.midnight = t - int64(h*3600+mi*60+s)
	k.lo, k.hi = k.midnight, k.midnight+86400
	zs, ze := tm.ZoneBounds()
	if !zs.IsZero() && zs.Unix() > k.lo {
		k.lo = zs.Unix()
	}
	if !ze.IsZero() && ze.Unix() < k.hi {
		k.hi = ze.Unix()
	}
	b := k.date[:0]
	b = append2(b, int64(y/100))
	b = append2(b, int64(y%100))
	b = append(b, '-')
	b = append2(b, int64(mo))
	b = append(b, '-')
	b = append2(b, int64(d))
	b = append(b, ' ')
	_ = b
}

// append2 appends 0 ≤ v < 100 as two digits.
func append2(b []byte, v int64) []byte {
	return append(b, byte('0'+v/10), byte('0'+v%10))
}
