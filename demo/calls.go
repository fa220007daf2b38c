package demo

import (
	"bufio"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/callbill/callbill"
)

// Header is the CSV header WriteCalls writes.
const Header = "contact_id,instance_id,direction,caller,callee,start_time,end_time,recording_seconds"

// halfHour is the weekday call volume per half hour of the local day
// (00:00, 00:30, …): peaks 09:00–12:00 and 13:30–18:00, a lunch dip, a long
// evening tail and a trickle at night (24-hour hotlines).
var halfHour = [48]float64{
	0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, // 00–06
	0.04, 0.04, 0.10, 0.14, 0.35, 0.60, // 06–09
	0.95, 1.05, 1.10, 1.10, 1.00, 0.90, // 09–12
	0.45, 0.35, 0.40, 0.85, // 12:00–13:30 lunch, 13:30
	1.00, 1.00, 1.05, 1.05, 1.00, 0.95, 0.90, 0.80, // 14–18
	0.45, 0.35, 0.25, 0.25, 0.18, 0.18, 0.10, 0.10, 0.05, 0.05, 0.03, 0.03, // 18–24
}

// weekendFactor scales weekend days against weekdays.
const weekendFactor = 0.2

// Mobile prefixes of the callers and callees on the far end.
var mobilePrefixes = []string{
	"130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155", "156",
	"157", "158", "159", "166", "176", "177", "180", "181", "182", "183", "185", "186", "187", "188", "189", "199",
}

// WriteCalls writes o.Calls CDRs as CSV (header contact_id,instance_id,
// direction,caller,callee,start_time,end_time,recording_seconds) to w, in
// start-time order, all starting within o.Cycle, only on numbers that
// World(o) registers, never an outbound call on a 400 number. Times are
// epoch seconds; contact ids are "c" and a 10-digit sequence number, unique
// in the file. It streams: memory stays flat whatever o.Calls. It returns
// the number of rows written; on a write error, the rows generated so far
// (not all of them need have reached w) and the error.
func WriteCalls(w io.Writer, o Options) (int, error) {
	o = o.normalized()
	g := newGen(build(o), o.Seed)
	bw := bufio.NewWriterSize(w, 256<<10)
	if _, err := bw.WriteString(Header + "\n"); err != nil {
		return 0, err
	}
	weights := minuteWeights(g.rng, o.Cycle)
	total := 0.0
	for _, x := range weights {
		total += x
	}
	start := o.Cycle.Start(zone).Unix()
	// Systematic sampling: minute m ends with floor(Calls × share so far + u)
	// calls written, so the total is exactly o.Calls and every minute gets
	// its expected count give or take one; the noise is in the weights.
	u := g.rng.Float64()
	written, acc := 0, 0.0
	for m, x := range weights {
		acc += x
		target := o.Calls
		if m < len(weights)-1 {
			target = min(o.Calls, int(float64(o.Calls)*(acc/total)+u))
		}
		k := target - written
		if k <= 0 {
			continue
		}
		var perSecond [60]int32
		for range k {
			perSecond[g.rng.IntN(60)]++
		}
		t0 := start + int64(m)*60
		for s, c := range perSecond {
			for range c {
				written++
				g.writeCall(bw, uint64(written), t0+int64(s))
			}
		}
		if _, err := bw.Write(nil); err != nil {
			return written, err
		}
	}
	return written, bw.Flush()
}

// minuteWeights returns the relative call volume of every minute of the
// cycle: the half-hour profile, weekends scaled down, a factor per day and
// noise per minute.
func minuteWeights(rng *rand.Rand, c callbill.Cycle) []float64 {
	days := c.Days()
	w := make([]float64, days*1440)
	for d := range days {
		f := 0.85 + 0.3*rng.Float64()
		switch time.Date(c.Year(), c.Month(), d+1, 12, 0, 0, 0, zone).Weekday() {
		case time.Saturday, time.Sunday:
			f *= weekendFactor
		}
		for m := range 1440 {
			w[d*1440+m] = f * halfHour[m/30] * (0.7 + 0.6*rng.Float64())
		}
	}
	return w
}

type callInst struct {
	id              string
	inNums, outNums []string
	inCum, outCum   []float64 // cumulative shares; the last is above 1
}

type gen struct {
	rng   *rand.Rand
	insts []callInst
	cum   []float64 // cumulative instance shares; the last is above 1
}

func newGen(l *layout, seed int64) *gen {
	g := &gen{rng: rand.New(rand.NewPCG(uint64(seed), streamCalls))}
	var ws []float64
	for _, a := range l.accounts {
		shares := 0.0
		for _, in := range a.insts {
			shares += in.share
		}
		for _, in := range a.insts {
			ci := callInst{id: in.id}
			var inW, outW []float64
			for _, nm := range in.nums {
				if nm.inW > 0 {
					ci.inNums, inW = append(ci.inNums, nm.digits), append(inW, nm.inW)
				}
				if nm.outW > 0 && nm.kind != callbill.Number400 {
					ci.outNums, outW = append(ci.outNums, nm.digits), append(outW, nm.outW)
				}
			}
			ci.inCum, ci.outCum = cumulative(inW), cumulative(outW)
			g.insts = append(g.insts, ci)
			ws = append(ws, a.weight*in.share/shares)
		}
	}
	g.cum = cumulative(ws)
	return g
}

// cumulative turns weights into cumulative shares, the last one set above 1
// so that any u in [0, 1) finds an entry.
func cumulative(ws []float64) []float64 {
	total := 0.0
	for _, w := range ws {
		total += w
	}
	out := make([]float64, len(ws))
	acc := 0.0
	for i, w := range ws {
		acc += w
		out[i] = acc / total
	}
	if len(out) > 0 {
		out[len(out)-1] = 2
	}
	return out
}

// pick returns the index of the first cumulative share above u.
func pick(cum []float64, u float64) int {
	lo, hi := 0, len(cum)-1
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if cum[mid] > u {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

func (g *gen) number(nums []string, cum []float64) string {
	if len(nums) == 1 {
		return nums[0]
	}
	return nums[pick(cum, g.rng.Float64())]
}

// Call length model: log-normal talk around 2.5 minutes (inbound) or 2
// minutes (outbound), about 10 % very short calls of 0–20 s (abandoned,
// unanswered), 1 % long calls of 20–75 minutes, and some lengths an exact
// multiple of 60 s.
var (
	muIn  = math.Log(150)
	muOut = math.Log(120)
)

const (
	sigma      = 0.75
	shortIn    = 0.08 // with 60 % inbound: 0.6×0.08 + 0.4×0.13 ≈ 10 % short
	shortOut   = 0.13
	longShare  = 0.01
	exactShare = 0.06
	maxSeconds = 4 * 3600
)

var longSpread = math.Log(75.0 / 20.0)

func (g *gen) duration(out bool) int64 {
	r := g.rng
	short, mu := shortIn, muIn
	if out {
		short, mu = shortOut, muOut
	}
	p := r.Float64()
	switch {
	case p < short:
		return r.Int64N(21)
	case p < short+longShare:
		return int64(1200 * math.Exp(float64(r.Float64()*longSpread)))
	}
	d := int64(math.Exp(mu + float64(sigma*r.NormFloat64())))
	d = max(1, min(d, maxSeconds))
	if r.Float64() < exactShare {
		d = max(60, (d+30)/60*60)
	}
	return d
}

func (g *gen) writeCall(bw *bufio.Writer, seq uint64, start int64) {
	r := g.rng
	in := &g.insts[pick(g.cum, r.Float64())]
	out := r.Float64() >= 0.6
	var service string
	if out {
		service = g.number(in.outNums, in.outCum)
	} else {
		service = g.number(in.inNums, in.inCum)
	}
	dur := g.duration(out)
	rec := int64(-1)
	if dur > 20 && r.Float64() < 0.78 {
		rec = dur - r.Int64N(13) // talk time: the call less 0–12 s of ringing
	}
	prefix := mobilePrefixes[r.IntN(len(mobilePrefixes))]
	mobile := r.Uint64N(100_000_000)

	b := bw.AvailableBuffer()
	b = append(b, 'c')
	b = appendPadded(b, seq, 10)
	b = append(b, ',')
	b = append(b, in.id...)
	if out {
		b = append(b, ",outbound,"...)
		b = append(b, service...)
		b = append(b, ',')
		b = append(b, prefix...)
		b = appendPadded(b, mobile, 8)
	} else {
		b = append(b, ",inbound,"...)
		b = append(b, prefix...)
		b = appendPadded(b, mobile, 8)
		b = append(b, ',')
		b = append(b, service...)
	}
	b = append(b, ',')
	b = strconv.AppendInt(b, start, 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, start+dur, 10)
	b = append(b, ',')
	if rec >= 0 {
		b = strconv.AppendInt(b, rec, 10)
	}
	b = append(b, '\n')
	bw.Write(b) // a write error is sticky: WriteCalls sees it after the minute
}

// appendPadded appends v in decimal, zero-padded to width digits.
func appendPadded(b []byte, v uint64, width int) []byte {
	var tmp [20]byte
	i := len(tmp)
	for v > 0 || i > len(tmp)-width {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, tmp[i:]...)
}
