package callbill

import "time"

// UsageFilter selects calls of an account for usage detail (docs/rules.md, "Usage detail and export"):
// by the cycle they are billed in (a late call in the later cycle, so that
// an export reconciles with its bill), or by their start time.
type UsageFilter struct {
	Cycle     Cycle     // the cycle the calls are billed in; 0 with From/To
	From, To  time.Time // start time in [From, To), when Cycle is 0
	Instance  string
	Item      Item   // "" = any; "none" = calls without a telecom item
	Number    string // the service number
	Direction Direction
	Desc      bool  // newest first
	After     int64 // keyset: calls after (Desc: before) this ingest sequence; 0 = from the start
	Limit     int
}

// Match reports whether a call passes the filter (the cycle aside).
func (f *UsageFilter) Match(c *Call) bool {
	switch {
	case !f.From.IsZero() && c.Start < f.From.Unix():
		return false
	case !f.To.IsZero() && c.Start >= f.To.Unix():
		return false
	case f.Instance != "" && c.InstanceID != f.Instance:
		return false
	case f.Number != "" && c.Number != f.Number:
		return false
	case f.Direction != "" && c.Direction != f.Direction:
		return false
	case f.Item == "none" && c.Item != "":
		return false
	case f.Item != "" && f.Item != "none" && c.Item != f.Item:
		return false
	}
	return true
}

// Valid reports whether d is a call's direction: inbound or outbound.
func (d Direction) Valid() bool { return d == Inbound || d == Outbound }

// CheckDirection is the filters' one direction rule, whoever builds the
// filter: empty (either direction), inbound or outbound.
func (f *UsageFilter) CheckDirection() error {
	if f.Direction != "" && !f.Direction.Valid() {
		return Errorf(EINVALID, "direction must be inbound or outbound")
	}
	return nil
}
