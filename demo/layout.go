package demo

import (
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/callbill/callbill"
)

// layout is the generated world, shared by World (which prints it) and
// WriteCalls (which uses its instances, numbers and call weights).
type layout struct {
	accounts []acct
}

type acct struct {
	n          int
	uid, name  string
	kind       callbill.AccountKind
	creditLine int64 // yuan; 0 = none
	contract   bool
	insts      []inst
	weight     float64 // relative call volume
	topups     []topup
	buys       []buy
}

type inst struct {
	id    string
	mode  callbill.Mode
	nums  []num
	share float64 // relative call volume within the account
}

type num struct {
	digits    string
	kind      callbill.NumberKind
	source    callbill.NumberSource
	tier      string  // CCC 400 only
	inW, outW float64 // relative use for inbound and outbound calls (0 for 400 outbound)
}

type topup struct {
	id   string
	yuan int64
	at   time.Time
}

type buy struct {
	id   string
	at   time.Time
	body string // the YAML of what it buys, e.g. `seats: {instance: ccc-1-2, count: 60, months: 1}`
	yuan int64  // list price, before any contract discount
}

type city struct{ name, area string }

var cities = []city{
	{"杭州", "0571"}, {"上海", "021"}, {"北京", "010"}, {"深圳", "0755"}, {"广州", "020"}, {"成都", "028"},
	{"南京", "025"}, {"武汉", "027"}, {"苏州", "0512"}, {"西安", "029"}, {"重庆", "023"}, {"天津", "022"},
}

var (
	brands = []string{"云帆", "华信", "星辰", "恒通", "睿达", "博远", "天成", "鼎盛", "汇智", "锦程", "致远", "安捷",
		"启明", "优选", "瑞丰", "嘉禾", "宏图", "易达", "新维", "正元"}
	trades = []string{"科技", "网络科技", "信息技术", "电子商务", "物流", "教育科技", "金融服务", "医疗科技",
		"保险代理", "家居", "汽车服务", "旅游"}
	people = []string{"张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强", "周杰", "吴霞", "徐涛", "孙丽"}
)

// numberType is what a number is, by source and kind.
type numberType int

const (
	cccFixed numberType = iota
	ccc400
	thirdFixed
	ownFixed
)

// build generates the layout of o (normalized).
func build(o Options) *layout {
	rng := rand.New(rand.NewPCG(uint64(o.Seed), streamWorld))
	l := &layout{accounts: make([]acct, 0, o.Accounts)}
	first := o.Cycle.Start(zone)
	topupAt := first.Add(8 * time.Hour)
	buyAt := first.Add(9 * time.Hour)
	midAt := first.AddDate(0, 0, 14).Add(10 * time.Hour)

	var fixedSeq, seq400 int
	newNumber := func(t numberType, area string) num {
		nm := num{kind: callbill.NumberFixed}
		switch t {
		case ccc400:
			seq400++
			// An affine bijection on the sequence mod 10^6: unique, but not visibly sequential.
			nm.digits = "400" + strconv.Itoa(6_000_000+(seq400*654_321+123_457)%1_000_000)
			nm.kind, nm.source = callbill.Number400, callbill.SourceCCC
			nm.tier = "普通"
			if rng.IntN(4) == 0 {
				nm.tier = "优选"
			}
			nm.inW = 2.5 * (0.5 + rng.Float64())
			return nm
		case cccFixed:
			nm.source = callbill.SourceCCC
		case thirdFixed:
			nm.source = callbill.SourceThirdParty
		case ownFixed:
			nm.source = callbill.SourceOwn
		}
		fixedSeq++
		nm.digits = area + strconv.Itoa(60_000_000+(fixedSeq*7_654_321+1_234_567)%10_000_000)
		nm.inW = 0.5 + rng.Float64()
		nm.outW = 0.5 + rng.Float64()
		return nm
	}
	// randomType draws the type of an instance's further numbers.
	randomType := func() numberType {
		switch p := rng.Float64(); {
		case p < 0.40:
			return cccFixed
		case p < 0.60:
			return ccc400
		case p < 0.85:
			return thirdFixed
		default:
			return ownFixed
		}
	}

	for n := 1; n <= o.Accounts; n++ {
		c := cities[rng.IntN(len(cities))]
		a := acct{n: n, uid: strconv.Itoa(1_000_000_000_000_000 + n), kind: callbill.AccountEnterprise}
		if n == 3 || (n > 4 && rng.IntN(12) == 0) {
			a.kind = callbill.AccountIndividual
			a.name = people[rng.IntN(len(people))]
		} else {
			a.name = c.name + brands[rng.IntN(len(brands))] + trades[rng.IntN(len(trades))] + "有限公司"
		}
		// Zipf-like volume: account n gets about 1/n, with some noise.
		a.weight = 1
		if n > 1 {
			a.weight = math.Exp(0.4*rng.NormFloat64()) / float64(n)
		}
		if a.kind == callbill.AccountIndividual {
			a.weight *= 0.15
		}

		var modes []callbill.Mode
		var types [][]numberType
		switch {
		case n == 1:
			modes = []callbill.Mode{callbill.ModePayg, callbill.ModeSubscription}
			types = [][]numberType{
				{cccFixed, ccc400, thirdFixed, ownFixed, cccFixed},
				{cccFixed, ccc400, thirdFixed, ownFixed},
			}
		default:
			k := 1
			if a.kind == callbill.AccountEnterprise && rng.IntN(5) < 2 {
				k = 2
			}
			for i := range k {
				m := callbill.ModePayg
				switch {
				case n == 4 && i == 0:
					m = callbill.ModeSubscription
				case n <= 4 || a.kind == callbill.AccountIndividual:
				case rng.IntN(100) < 27:
					m = callbill.ModeSubscription
				}
				modes = append(modes, m)
				count := 2 + rng.IntN(4) // 2–5
				if a.kind == callbill.AccountIndividual {
					count = 2 + rng.IntN(2)
				}
				// The first number is a fixed line, so that every instance can call out.
				var ts []numberType
				switch p := rng.Float64(); {
				case p < 0.7:
					ts = append(ts, cccFixed)
				case p < 0.9:
					ts = append(ts, thirdFixed)
				default:
					ts = append(ts, ownFixed)
				}
				for len(ts) < count {
					ts = append(ts, randomType())
				}
				types = append(types, ts)
			}
		}
		for i, m := range modes {
			in := inst{id: "ccc-" + strconv.Itoa(n) + "-" + strconv.Itoa(i+1), mode: m, share: 1}
			if i > 0 {
				in.share = 0.3 + 0.7*rng.Float64()
			}
			for _, t := range types[i] {
				in.nums = append(in.nums, newNumber(t, c.area))
			}
			a.insts = append(a.insts, in)
		}

		// Purchases, all at 09:00 on the 1st.
		pid := 0
		purchase := func(body string, yuan int64) {
			pid++
			a.buys = append(a.buys, buy{id: "P-" + strconv.Itoa(n) + "-" + strconv.Itoa(pid), at: buyAt, body: body, yuan: yuan})
		}
		hasCCCFixed, hasPaygCCCFixed := false, false
		for _, in := range a.insts {
			for _, nm := range in.nums {
				if nm.kind == callbill.NumberFixed && nm.source == callbill.SourceCCC {
					hasCCCFixed = true
					hasPaygCCCFixed = hasPaygCCCFixed || in.mode == callbill.ModePayg
				}
			}
		}
		if n == 1 {
			a.contract = true
			purchase("voice_package: {type: fixed_outbound, minutes: 10000}", packagePrice(callbill.PackageFixedOutbound, 10_000))
			purchase("voice_package: {type: inbound_400, minutes: 10000}", packagePrice(callbill.PackageInbound400, 10_000))
			purchase("sip_line: {instance: ccc-1-1, lines: 1, years: 1}", 30_000)
		} else if hasCCCFixed && rng.IntN(5) == 0 {
			if hasPaygCCCFixed && rng.IntN(3) == 0 {
				purchase("voice_package: {type: fixed_inbound, minutes: 10000}", packagePrice(callbill.PackageFixedInbound, 10_000))
			} else {
				purchase("voice_package: {type: fixed_outbound, minutes: 10000}", packagePrice(callbill.PackageFixedOutbound, 10_000))
			}
		}
		for i, in := range a.insts {
			if in.mode == callbill.ModeSubscription {
				seats := int64(10 + rng.IntN(111)) // 10–120
				if n == 1 && i == 1 {
					seats = 60
				}
				purchase("seats: {instance: "+in.id+", count: "+strconv.FormatInt(seats, 10)+", months: 1}", seats*seatPrice(seats))
			}
			for j, nm := range in.nums {
				if nm.kind != callbill.NumberFixed || nm.source != callbill.SourceCCC {
					continue
				}
				if (n == 1 && i == 0 && j == 0) || (n > 1 && rng.IntN(2) == 0) {
					purchase(`number_rent: {number: "`+nm.digits+`", months: 3}`, 3*35)
				}
			}
		}
		l.accounts = append(l.accounts, a)
	}

	// Money: top-ups sized from the account's expected spend, at about
	// 0.35 yuan a call (telecom and platform minutes of a 3-minute call).
	total := 0.0
	for i := range l.accounts {
		total += l.accounts[i].weight
	}
	for i := range l.accounts {
		a := &l.accounts[i]
		spend := a.weight / total * float64(o.Calls) * 0.35
		var bought int64
		for _, b := range a.buys {
			bought += b.yuan
		}
		var first int64
		switch a.n {
		case 1:
			first = bought + roundUp(spend*1.5, 100)
		case 2:
			a.creditLine = max(5000, roundUp(spend*2, 1000))
			first = bought + 200
		default:
			first = bought + max(300, roundUp(spend*(0.4+1.2*rng.Float64()), 100))
		}
		a.topups = append(a.topups, topup{id: "T-" + strconv.Itoa(a.n) + "-1", yuan: first, at: topupAt})
		if a.n != 2 && rng.IntN(10) < 3 {
			a.topups = append(a.topups, topup{id: "T-" + strconv.Itoa(a.n) + "-2", yuan: max(500, roundUp(spend*0.5, 100)), at: midAt})
		}
	}
	return l
}

func roundUp(x float64, unit int64) int64 {
	return int64(math.Ceil(x/float64(unit))) * unit
}

// seatPrice is the built-in subscription seat price per seat-month for a
// purchase of n seats (docs/rules.md, "Prepaid purchases"; the generated world overrides no price).
func seatPrice(n int64) int64 {
	switch {
	case n <= 99:
		return 199
	case n <= 299:
		return 179
	}
	return 159
}

func packagePrice(t callbill.PackageType, minutes int64) int64 {
	return callbill.PackagePrices[t][minutes].Ceil().IntPart()
}
