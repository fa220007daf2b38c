package callbill

import (
	"strconv"
	"time"
)

// The plausibility window (docs/rating.md, "Which calls are billable"): a
// call from before the deployment's first billable cycle, from more than a
// day in the future, or longer than the longest call the deployment allows
// is an error of the call platform. Billing it would reopen years of bills
// (a call at epoch 0 would close every cycle since 1970 and charge a 400
// minimum in each), so it is rejected like any other bad row.
const (
	// DefaultMaxCallSeconds is billing.max_call_seconds when the world file
	// leaves it out: one day.
	DefaultMaxCallSeconds = 86_400
	// MaxCallSecondsLimit is the largest billing.max_call_seconds accepted:
	// 31 days. It bounds a call's minutes (44,640), and with MaxPrice every
	// per-call charge in millionths of a yuan stays below 4.5e16, far inside
	// int64.
	MaxCallSecondsLimit = 31 * 86_400
	// DefaultFirstCycleMonths is how far back the first billable cycle lies
	// when billing.first_cycle is unset: 24 months before the current one.
	DefaultFirstCycleMonths = 24
	// FutureTolerance is how far after the clock's now a call may start
	// (clocks of the call platform drift; a day is generous).
	FutureTolerance = 24 * time.Hour
)

// Window is what a deployment accepts as a billable call.
type Window struct {
	FirstCycle     Cycle // the first billable cycle
	MaxCallSeconds int64
	Latest         int64 // the latest start, epoch seconds (now + FutureTolerance)
	Loc            *time.Location
}

// NewWindow builds the window in force at now. A zero firstCycle means the
// default (DefaultFirstCycleMonths before now's cycle), a zero maxSeconds
// DefaultMaxCallSeconds.
func NewWindow(firstCycle Cycle, maxSeconds int64, now time.Time, loc *time.Location) Window {
	if firstCycle == 0 {
		firstCycle = CycleOf(now, loc) - DefaultFirstCycleMonths
	}
	if maxSeconds <= 0 {
		maxSeconds = DefaultMaxCallSeconds
	}
	return Window{FirstCycle: firstCycle, MaxCallSeconds: maxSeconds, Latest: now.Add(FutureTolerance).Unix(), Loc: loc}
}

// Reasons a call outside the window is rejected with.
const (
	ReasonBeforeFirstCycle = "starts before the first billable cycle"
	ReasonInFuture         = "starts more than a day after now"
	ReasonTooLong          = "lasts longer than billing.max_call_seconds"
)

// CheckCall returns EINVALID with the reason when c lies outside the window:
// its start before the first cycle or after Latest, or (when it does not end
// before it starts) its duration above MaxCallSeconds. So no epoch, however
// many digits it had, reaches a time computation unchecked.
func (w Window) CheckCall(c *CDR) error {
	first := w.FirstCycle.Start(w.Loc).Unix()
	switch {
	case c.Start < first:
		return Errorf(EINVALID, "%s %s (billing.first_cycle): start %s", ReasonBeforeFirstCycle, w.FirstCycle, w.show(c.Start))
	case c.Start > w.Latest:
		return Errorf(EINVALID, "%s: start %s", ReasonInFuture, w.show(c.Start))
	case c.End >= c.Start && c.End-c.Start > w.MaxCallSeconds:
		return Errorf(EINVALID, "%s (%d s): it lasts %d s", ReasonTooLong, w.MaxCallSeconds, c.End-c.Start)
	}
	return nil
}

// show prints an epoch the window has bounded, or the raw number past them.
func (w Window) show(t int64) string {
	const lo, hi = -62135596800, 253402300799 // 0001-01-01 … 9999-12-31 UTC
	if t < lo || t > hi {
		return "epoch " + strconv.FormatInt(t, 10)
	}
	return time.Unix(t, 0).In(w.Loc).Format(time.RFC3339)
}

// LastViewableCycle is the latest cycle a bill view may name: the cycle of
// the latest call the window accepts.
func (w Window) LastViewableCycle() Cycle { return CycleOf(time.Unix(w.Latest, 0), w.Loc) }

// CheckView returns EINVALID when a bill view names a cycle no bill can
// exist in: after LastViewableCycle, or before FirstCycle unless it is a
// closed cycle holding activity (a deployment's old bills stay readable when
// the default first cycle moves on). firstActivity is the earliest cycle
// holding any call, purchase or top-up (0 when none), closedThrough the
// last closed cycle.
func (w Window) CheckView(c, firstActivity, closedThrough Cycle) error {
	if last := w.LastViewableCycle(); c > last {
		return Errorf(EINVALID, "cycle %s is after %s: no bill can exist that far ahead", c, last)
	}
	if c < w.FirstCycle && (firstActivity == 0 || c < firstActivity || c > closedThrough) {
		return Errorf(EINVALID, "cycle %s is before the first billable cycle %s (billing.first_cycle): no bill exists there", c, w.FirstCycle)
	}
	return nil
}
