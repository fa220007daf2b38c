package ccc

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/callbill/callbill"
)

// Sink imports the records a page brought: callbill's import, on a server
// (POST /api/v1/imports) or straight into a database.
type Sink interface {
	// Import imports records (CallDetailRecord objects as CCC sent them)
	// and returns once they are committed. An error means that nothing can
	// be known about them: the window is read again, and what was imported
	// counts as duplicates then.
	Import(ctx context.Context, records []json.RawMessage) (*Imported, error)
}

// Imported is what an Import did.
type Imported struct {
	Imported, Duplicates, Rejected, Conflicts int64
	// Rejects are the first rejected records (callbill lists up to 1,000):
	// their index in the records imported and the reason.
	Rejects []Rejected
	// RejectsFile is where the server keeps every rejected record, if it
	// said (a path of its API).
	RejectsFile string
}

// Rejected is one rejected record.
type Rejected struct {
	Record int // index in the records imported
	Reason string
}

// Bounds of the durations a Puller takes.
const (
	MaxLag      = 24 * time.Hour
	MaxOverlap  = 7 * 24 * time.Hour
	MaxInterval = 24 * time.Hour
	// MaxWindow is the longest window asked at once; a longer span is read
	// as consecutive windows, the cursor moving after each.
	MaxWindow = 24 * time.Hour
)

// Puller reads the records of instances window by window and imports them,
// moving each instance's cursor only once a window is imported whole.
type Puller struct {
	Client *Client
	Sink   Sink
	// Lag keeps the pass away from the present: only records that started
	// before now − Lag are read, since CCC writes a call's record when it
	// ends.
	Lag time.Duration
	// Overlap is read again before the cursor on every pass, for records
	// that CCC wrote after their window was read (calls that lasted longer
	// than Lag). Duplicates are counted once, so reading again is safe.
	Overlap time.Duration
	// Since is where an instance without a cursor starts.
	Since time.Time
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Save writes the state after a cursor moved; the pass stops when it
	// fails.
	Save func(*State) error
	// Log gets one line per window read (unless Quiet) and per rejected
	// record; nil discards them.
	Log   func(line string)
	Quiet bool
}

// Report sums what a pass did.
type Report struct {
	Instances, Windows, Pages                       int
	Read, Imported, Duplicates, Rejected, Conflicts int64
	// Until is the end of the pass's windows (now − Lag).
	Until time.Time
}

// Check says whether the puller's settings are within their bounds.
func (p *Puller) Check() error {
	switch {
	case p.Lag < 0 || p.Lag > MaxLag:
		return callbill.Errorf(callbill.EINVALID, "lag %s outside 0–%s", p.Lag, MaxLag)
	case p.Overlap < 0 || p.Overlap > MaxOverlap:
		return callbill.Errorf(callbill.EINVALID, "overlap %s outside 0–%s", p.Overlap, MaxOverlap)
	case p.Client == nil || p.Client.PageSize < 1 || p.Client.PageSize > MaxPageSize:
		return callbill.Errorf(callbill.EINVALID, "page size outside 1–%d", MaxPageSize)
	}
	return CheckEndpoint(p.Client.Endpoint)
}

// Pass reads every instance from its cursor (less Overlap), or from Since
// for one without a cursor, up to now − Lag, and imports what it reads. It
// stops at the first error — CCC's, the import's or the state file's —
// with the cursors where the windows already imported put them.
func (p *Puller) Pass(ctx context.Context, st *State, instances []string) (*Report, error) {
	if err := p.prepare(st, instances); err != nil {
		return nil, err
	}
	return p.pass(ctx, st, instances)
}

// prepare checks the settings and that every instance can start: it has a
// cursor, or Since says where.
func (p *Puller) prepare(st *State, instances []string) error {
	if err := p.Check(); err != nil {
		return err
	}
	if len(instances) == 0 {
		return callbill.Errorf(callbill.EINVALID, "no instance to pull")
	}
	var fresh []string
	for _, id := range instances {
		if err := CheckInstance(id); err != nil {
			return err
		}
		if _, ok := st.Cursors[id]; !ok {
			fresh = append(fresh, id)
		}
	}
	if len(fresh) > 0 && p.Since.IsZero() {
		return callbill.Errorf(callbill.EINVALID,
			"instance %s has no cursor in the state file yet: give --since TIME, where its first pass starts reading", strings.Join(fresh, ", "))
	}
	return nil
}

func (p *Puller) pass(ctx context.Context, st *State, instances []string) (*Report, error) {
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	rep := &Report{Until: now().Add(-p.Lag).Truncate(time.Millisecond)}
	for _, id := range instances {
		rep.Instances++
		cur, ok := st.Cursors[id]
		from := cur.Add(-p.Overlap)
		if !ok {
			cur, from = p.Since, p.Since
		}
		if !rep.Until.After(cur) {
			continue
		}
		from = from.Truncate(time.Millisecond)
		for from.Before(rep.Until) {
			to := from.Add(MaxWindow)
			if to.After(rep.Until) {
				to = rep.Until
			}
			if err := p.window(ctx, st, rep, id, Window{from, to}); err != nil {
				return rep, err
			}
			from = to
		}
	}
	return rep, nil
}

// window reads w whole — every page, or its halves when CCC cannot page
// through it — imports it, and moves the cursor to its end.
func (p *Puller) window(ctx context.Context, st *State, rep *Report, id string, w Window) error {
	size := p.Client.PageSize
	var sum Imported
	read, pages := 0, 0
	for n := 1; ; n++ {
		if n > MaxPages {
			// Still full at the last page CCC serves: records arrived
			// while it was read. What was imported comes again as
			// duplicates.
			return p.split(ctx, st, rep, id, w)
		}
		page, err := p.Client.ListPage(ctx, id, w, n)
		if err != nil {
			return err
		}
		if n == 1 && page.Total > MaxPages*size {
			return p.split(ctx, st, rep, id, w)
		}
		rep.Pages++
		pages++
		read += len(page.Records)
		if len(page.Records) > 0 {
			res, err := p.Sink.Import(ctx, page.Records)
			if err != nil {
				return fmt.Errorf("importing instance %s, %s, page %d: %w", id, w, n, err)
			}
			add(&sum, res)
			p.logRejects(id, page.Records, res)
		}
		if len(page.Records) < size {
			break
		}
	}
	rep.Windows++
	rep.Read += int64(read)
	rep.Imported += sum.Imported
	rep.Duplicates += sum.Duplicates
	rep.Rejected += sum.Rejected
	rep.Conflicts += sum.Conflicts
	if !p.Quiet {
		p.log(fmt.Sprintf("%s %s: %d page(s), %d record(s): imported %d, duplicates %d, rejected %d (conflicts %d)",
			id, w, pages, read, sum.Imported, sum.Duplicates, sum.Rejected, sum.Conflicts))
	}
	if cur, ok := st.Cursors[id]; ok && !w.To.After(cur) {
		return nil // a window of the overlap
	}
	if st.Cursors == nil {
		st.Cursors = map[string]time.Time{}
	}
	st.Cursors[id] = w.To.UTC()
	if p.Save == nil {
		return nil
	}
	if err := p.Save(st); err != nil {
		return fmt.Errorf("saving the cursor of instance %s: %w", id, err)
	}
	return nil
}

// split reads w as two halves, one after the other.
func (p *Puller) split(ctx context.Context, st *State, rep *Report, id string, w Window) error {
	if w.To.Sub(w.From) < 2*time.Millisecond {
		return fmt.Errorf("instance %s has more than %d records starting at %s, more than CCC pages through for one query",
			id, MaxPages*p.Client.PageSize, w.From.UTC().Format(stampLayout))
	}
	mid := w.From.Add(w.To.Sub(w.From) / 2).Truncate(time.Millisecond)
	if err := p.window(ctx, st, rep, id, Window{w.From, mid}); err != nil {
		return err
	}
	return p.window(ctx, st, rep, id, Window{mid, w.To})
}

func add(sum *Imported, r *Imported) {
	sum.Imported += r.Imported
	sum.Duplicates += r.Duplicates
	sum.Rejected += r.Rejected
	sum.Conflicts += r.Conflicts
}

// logRejects names each rejected record by its ContactId and StartTime, so
// that the operator can find it in CCC.
func (p *Puller) logRejects(id string, records []json.RawMessage, res *Imported) {
	for _, r := range res.Rejects {
		var rec struct {
			ContactId any
			StartTime any
		}
		if r.Record >= 0 && r.Record < len(records) {
			json.Unmarshal(records[r.Record], &rec) // a record that is not JSON names nothing
		}
		p.log(fmt.Sprintf("%s: record ContactId %s (StartTime %s) rejected: %s", id, shown(rec.ContactId), shownTime(rec.StartTime), r.Reason))
	}
	if int64(len(res.Rejects)) < res.Rejected {
		p.log(fmt.Sprintf("%s: … and %d more rejected records", id, res.Rejected-int64(len(res.Rejects))))
	}
	if res.RejectsFile != "" {
		p.log(fmt.Sprintf("%s: every rejected record is in the server's %s", id, res.RejectsFile))
	}
}

// shown writes a record's field for a log line, at most 64 bytes of it.
func shown(v any) string {
	if v == nil {
		return "(none)"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "(unreadable)"
	}
	if len(b) > 64 {
		return strings.ToValidUTF8(string(b[:64]), "") + "…"
	}
	return string(b)
}

// shownTime writes an epoch-millisecond StartTime as a time too.
func shownTime(v any) string {
	var ms int64
	switch v := v.(type) {
	case float64:
		ms = int64(v)
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return shown(v)
		}
		ms = n
	default:
		return shown(v)
	}
	if ms < 0 || ms > 1e14 { // beyond year 5138: not a time CCC writes
		return shown(v)
	}
	return fmt.Sprintf("%d, %s", ms, time.UnixMilli(ms).UTC().Format(stampLayout))
}

func (p *Puller) log(line string) {
	if p.Log != nil {
		p.Log(line)
	}
}

// Retry delays of Run after a failed pass: RetryBase, doubling, at most
// RetryMax.
const (
	RetryBase = 5 * time.Second
	RetryMax  = 10 * time.Minute
)

// Run makes a pass, then another every interval, until ctx ends. A failed
// pass is logged (through onError) and tried again after a delay that
// doubles from retryBase up to RetryMax; the cursors keep what the windows
// already imported. It returns nil when ctx ends.
func (p *Puller) Run(ctx context.Context, st *State, instances []string, interval, retryBase time.Duration,
	onPass func(*Report), onError func(error)) error {
	if interval <= 0 || interval > MaxInterval {
		return callbill.Errorf(callbill.EINVALID, "interval %s outside 0–%s", interval, MaxInterval)
	}
	// What another pass would only repeat stops here; everything after is
	// tried again.
	if err := p.prepare(st, instances); err != nil {
		return err
	}
	delay := retryBase
	for {
		rep, err := p.pass(ctx, st, instances)
		wait := interval
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			onError(err)
			wait, delay = delay, min(2*delay, RetryMax)
		default:
			onPass(rep)
			delay = retryBase
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}
