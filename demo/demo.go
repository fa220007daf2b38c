// Package demo builds demo and benchmark data: a world file and a month of realistic call detail records.
//
// World and WriteCalls derive everything from Options alone, so the calls of
// WriteCalls(o) use exactly the instances and numbers that World(o)
// registers. Output is deterministic: the same Options give the same bytes
// (with the same Go toolchain and architecture; floating-point library
// routines are not promised to agree bit for bit across those).
//
// The layout of the world:
//
//   - account n has uid 1000000000000000+n (16 digits) and instances
//     "ccc-<n>-<k>" (1–2 per account, about 3 pay-as-you-go to 1
//     subscription), each with 2–5 numbers, at least one of them a fixed
//     line so that it can call out;
//   - account 1 is the big tenant: a payg and a subscription instance, each
//     holding a CCC fixed, a CCC 400, a third-party fixed and an own fixed
//     number, so that every source × kind × mode × direction the rules allow
//     occurs even with one account; it has the contract
//     {discount: "0.9", items: {FixedLineOutbound: "0.85"}}, voice packages,
//     seats, number rent and a SIP line;
//   - account 2 has a credit line and little cash; account 3 (and about one
//     in twelve of the others) is an individual;
//   - every account tops up at 08:00 on the 1st of the cycle, enough for all
//     its purchases, which are made at 09:00 the same day; some top up again
//     on the 15th.
//
// Calls are spread over the cycle's days with weekday business-hour peaks
// (09:00–12:00 and 13:30–18:00), few calls at night and at weekends, and over
// the accounts with a Zipf-like skew (account 1 biggest).
package demo

import (
	"time"

	"github.com/callbill/callbill"
)

// Options say what to generate.
type Options struct {
	Cycle    callbill.Cycle // the month the calls fall in (billing time zone Asia/Shanghai)
	Accounts int            // number of tenant accounts (demo: 4; benchmarks: 1000); less than 1 means 1
	Calls    int            // total calls to generate (demo: 40,000; benchmarks: 1,000,000 / 10,000,000)
	Seed     int64          // deterministic output for a seed
}

// DemoOptions are the options of `callbill demo`: 4 accounts and 40,000
// calls in cycle c, seed 1.
func DemoOptions(c callbill.Cycle) Options {
	return Options{Cycle: c, Accounts: 4, Calls: 40_000, Seed: 1}
}

// zone is the billing time zone of the generated data. Asia/Shanghai has
// kept UTC+8 without daylight saving since 1991; a fixed zone gives the same
// instants without needing the tz database on the machine.
var zone = time.FixedZone("CST", 8*3600)

// timezoneName is what the world file declares as its billing time zone.
const timezoneName = "Asia/Shanghai"

// PCG stream constants, so that the world and the calls draw from
// independent sequences of one seed.
const (
	streamWorld = 0x9e3779b97f4a7c15
	streamCalls = 0xda3e39cb94b95bdb
)

func (o Options) normalized() Options {
	if o.Accounts < 1 {
		o.Accounts = 1
	}
	if o.Calls < 0 {
		o.Calls = 0
	}
	return o
}
