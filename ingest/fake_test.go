package ingest_test

import (
	"context"
	"io"
	"maps"
	"sync/atomic"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/ingest"
)

// The fake world: account A1 with payg instance i-1, whose number
// 02100000001 is a third-party line (platform minutes in bands) and
// 02100000002 a CCC line (telecom minutes).
const (
	acct   = "A1"
	inst   = "i-1"
	numTP  = "02100000001"
	numCCC = "02100000002"
)

var shanghai = time.FixedZone("CST", 8*3600)

// state is what the fake database holds.
type state struct {
	calls   map[ingest.Identity]callbill.Call
	used    map[callbill.AccountCycle]int64
	pkgs    map[string]callbill.VoicePackage
	held    map[ingest.Identity]string // reservations: the account that holds each
	imports map[int64]callbill.ImportRecord
	owner   map[ingest.Identity]int64 // each call's import
}

func (s *state) clone() *state {
	return &state{calls: maps.Clone(s.calls), used: maps.Clone(s.used), pkgs: maps.Clone(s.pkgs), held: maps.Clone(s.held),
		imports: maps.Clone(s.imports), owner: maps.Clone(s.owner)}
}

// fakeStore is an in-memory ingest.Store: a transaction works on a copy of
// the committed state, which it replaces on commit.
type fakeStore struct {
	db  *state
	gen int64
	// beforeWrite, when set, runs once before the next write transaction
	// starts: another writer committing in between.
	beforeWrite func(db *state)
	// gate, when set, holds every write transaction until it can receive;
	// atGate counts the writes that came to it.
	gate   chan struct{}
	atGate atomic.Int32

	writes, storedBefore int // write transactions; batches refused as stored before

	// failWrite, when set, fails the next write transaction (a connection
	// lost, say); opened and closed count the sessions.
	failWrite      error
	opened, closed atomic.Int32

	reservedAsked, released int // ReservedAccounts asked; calls released
}

func newFakeStore() *fakeStore {
	return &fakeStore{db: &state{calls: map[ingest.Identity]callbill.Call{}, used: map[callbill.AccountCycle]int64{},
		pkgs: map[string]callbill.VoicePackage{}, held: map[ingest.Identity]string{}, imports: map[int64]callbill.ImportRecord{}, owner: map[ingest.Identity]int64{}}}
}

func (f *fakeStore) OpenIngest(context.Context, ingest.SessionUse) (ingest.Session, error) {
	f.opened.Add(1)
	return f, nil
}
func (f *fakeStore) NewCalls(int) ingest.Calls { return &fakeCalls{} }
func (f *fakeStore) Close() error              { f.closed.Add(1); return nil }

func (f *fakeStore) Read(ctx context.Context, fn func(tx ingest.Tx) error) error {
	return fn(&fakeTx{f: f, st: f.db.clone()})
}

func (f *fakeStore) Write(ctx context.Context, fn func(tx ingest.Tx) error) error {
	if hook := f.beforeWrite; hook != nil {
		f.beforeWrite = nil
		hook(f.db)
	}
	if f.gate != nil {
		f.atGate.Add(1)
		<-f.gate
	}
	if err := f.failWrite; err != nil {
		f.failWrite = nil
		return err
	}
	f.writes++
	tx := &fakeTx{f: f, st: f.db.clone()}
	if err := fn(tx); err != nil {
		return err
	}
	f.db = tx.st
	return nil
}

type fakeCalls struct {
	calls []callbill.Call
	parts []int
}

func (c *fakeCalls) Add(call *callbill.Call, part int) {
	c.calls = append(c.calls, *call)
	c.parts = append(c.parts, part)
}
func (c *fakeCalls) Len() int { return len(c.calls) }
func (c *fakeCalls) Seal()    {}

type fakeTx struct {
	f  *fakeStore
	st *state
}

func (t *fakeTx) Generation(context.Context) (int64, error) { return t.f.gen, nil }

func (t *fakeTx) Rater(context.Context) (*callbill.Rater, error) {
	w := callbill.NewWindow(callbill.NewCycle(2020, time.January), 0, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), shanghai)
	nums := map[string]*callbill.Number{
		numTP:  {Number: numTP, Instance: inst, Kind: callbill.NumberFixed, Source: callbill.SourceThirdParty},
		numCCC: {Number: numCCC, Instance: inst, Kind: callbill.NumberFixed, Source: callbill.SourceCCC},
	}
	dir := map[string]*callbill.InstanceInfo{inst: {ID: inst, Account: acct, Mode: callbill.ModePayg, Numbers: nums}}
	return callbill.NewRater(w, callbill.NewPriceBook(nil), 0, dir), nil
}

func (t *fakeTx) LockAccounts(context.Context, []string) error { return nil }

func (t *fakeTx) RatingState(_ context.Context, accounts []string, closed callbill.Cycle) (callbill.RaterState, error) {
	st := callbill.RaterState{PlatformUsed: map[callbill.AccountCycle]int64{}}
	for _, a := range accounts {
		for k, v := range t.st.used {
			if k.Account == a && k.Cycle > closed {
				st.PlatformUsed[k] = v
			}
		}
		for _, p := range t.st.pkgs {
			if p.Account == a && p.Remaining > 0 {
				st.Packages = append(st.Packages, &p)
			}
		}
	}
	return st, nil
}

func (t *fakeTx) Stored(_ context.Context, ids []ingest.Identity) (map[ingest.Identity]callbill.CDR, error) {
	out := map[ingest.Identity]callbill.CDR{}
	for _, id := range ids {
		if c, ok := t.st.calls[id]; ok {
			out[id] = c.CDR
		}
	}
	return out, nil
}

func (t *fakeTx) StoreBatch(_ context.Context, b *ingest.Rated) error {
	fc := b.Calls.(*fakeCalls)
	for n, c := range fc.calls {
		id := ingest.Identity{Instance: c.InstanceID, Contact: c.ContactID}
		if _, ok := t.st.calls[id]; ok {
			t.f.storedBefore++
			return ingest.ErrStoredBefore
		}
		t.st.calls[id] = c
		t.st.owner[id] = b.Imports[fc.parts[n]]
	}
	if b.Running {
		rec := t.st.imports[b.Imports[0]]
		if rec.Status != callbill.ImportRunning {
			return ingest.ErrImportUndone
		}
		rec.Imported += int64(len(fc.calls))
		t.st.imports[rec.ID] = rec
	}
	maps.Copy(t.st.used, b.Changes.PlatformUsed)
	for _, p := range b.Changes.Packages {
		t.st.pkgs[p.ID] = p
	}
	return nil
}

func (t *fakeTx) ReservedAccounts(_ context.Context, accounts []string) (map[string]bool, error) {
	t.f.reservedAsked++
	out := map[string]bool{}
	for _, a := range accounts {
		for _, holder := range t.st.held {
			if holder == a {
				out[a] = true
			}
		}
	}
	return out, nil
}

func (t *fakeTx) ReleaseReservations(_ context.Context, calls []ingest.Identity) error {
	t.f.released += len(calls)
	for _, c := range calls {
		delete(t.st.held, c)
	}
	return nil
}

func (t *fakeTx) AddImports(_ context.Context, recs []*callbill.ImportRecord) error {
	for _, r := range recs {
		r.ID = int64(len(t.st.imports) + 1)
		t.st.imports[r.ID] = *r
	}
	return nil
}

func (t *fakeTx) FinishImport(_ context.Context, rec *callbill.ImportRecord) error {
	if old := t.st.imports[rec.ID]; old.Status == callbill.ImportRunning {
		t.st.imports[rec.ID] = *rec
	}
	return nil
}

// rows is a CDR source; a row with an empty contact id is a row the
// decoder could not read.
type rows struct {
	cdrs []callbill.CDR
	n    int
}

func (r *rows) Next() (callbill.CDR, callbill.Pos, error) {
	if r.n == len(r.cdrs) {
		return callbill.CDR{}, callbill.Pos{}, io.EOF
	}
	r.n++
	pos := callbill.Pos{Line: r.n + 1} // after the header
	if r.cdrs[r.n-1].ContactID == "" {
		return callbill.CDR{}, pos, &callbill.Reject{Pos: pos, Reason: "bad row"}
	}
	return r.cdrs[r.n-1], pos, nil
}

// call is an outbound call of id on number num, at 2026-10-08 10:00 in
// Shanghai plus offset minutes.
func call(id, num string, offset, seconds int64) callbill.CDR {
	start := time.Date(2026, 10, 8, 10, 0, 0, 0, shanghai).Unix() + offset*60
	return callbill.CDR{ContactID: id, InstanceID: inst, Direction: callbill.Outbound, Caller: num,
		Callee: "13800000000", Start: start, End: start + seconds}
}
