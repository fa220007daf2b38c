package callbill

// UsageFilter selects calls of an account for usage detail (DESIGN §3.13).
type UsageFilter struct {
	Cycle     Cycle // the cycle the calls are billed in
	Instance  string
	Item      Item   // "" = any; "none" = calls without a telecom item
	Number    string // the service number
	Direction Direction
	After     int64 // keyset: calls after this ingest sequence
	Limit     int
}

// Match reports whether a call passes the filter (the cycle aside).
func (f *UsageFilter) Match(c *Call) bool {
	switch {
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
