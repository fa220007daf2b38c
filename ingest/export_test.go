package ingest

import "time"

// SetGatherWait sets how long g's rounds wait for the senders they answered
// (gather); before the first request.
func SetGatherWait(g *Group, d time.Duration) { g.gatherFor = d }
