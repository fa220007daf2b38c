package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/ingest"
)

// TestExecRowsBothWays writes the same rows through execRows on both
// stores: on PostgreSQL as unnest of column arrays, and through VALUES when
// a column's values are of a type unnest is not given (here a blob). The
// upsert tail works either way, and what is stored is the same.
func TestExecRowsBothWays(t *testing.T) {
	onBothStores(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if s.dialect == dialectPostgres {
			// The arrays path takes strings and integers; mixed or
			// other types are not its.
			tx, err := s.begin(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			ok, err := unnestRows(ctx, tx, "INSERT INTO call_versions (account, cycle, version) VALUES ", "", 3, []any{"a", 1, []byte("x")})
			tx.Rollback()
			if ok || err != nil {
				t.Fatalf("a blob column went to unnest: ok %v, %v", ok, err)
			}
		}
		upsert := " ON CONFLICT (account, cycle) DO UPDATE SET version = call_versions.version + excluded.version"
		err := s.inTx(ctx, func(tx *Tx) error {
			if err := execRows(ctx, tx, `INSERT INTO call_versions (account, cycle, version) VALUES `, upsert, 3,
				[]any{"a", 24321, int64(2), "b", 24321, 5}); err != nil {
				return err
			}
			// Again: the tail adds to the rows stored.
			if err := execRows(ctx, tx, `INSERT INTO call_versions (account, cycle, version) VALUES `, upsert, 3,
				[]any{"a", 24321, 1, "c", 24322, 7}); err != nil {
				return err
			}
			// A blob column: VALUES on both stores.
			return execRows(ctx, tx, `INSERT INTO call_blocks (seq, account, cycle, calls, data) VALUES `, "", 5,
				[]any{int64(1 << 20), "a", 24321, 0, []byte{}, int64(2 << 20), "b", 24321, 0, []byte{1}})
		})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		rows, err := s.db.QueryContext(ctx, `SELECT account, version FROM call_versions`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var a string
			var v int64
			if err := rows.Scan(&a, &v); err != nil {
				t.Fatal(err)
			}
			got[a] = v
		}
		if want := map[string]int64{"a": 3, "b": 5, "c": 7}; len(got) != 3 || got["a"] != want["a"] || got["b"] != want["b"] || got["c"] != want["c"] {
			t.Errorf("versions %v, want %v", got, want)
		}
		var blocks int
		if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM call_blocks`).Scan(&blocks); err != nil || blocks != 2 {
			t.Errorf("%d blocks (%v), want 2", blocks, err)
		}
	})
}

// TestIdentitiesInIndexOrder: a batch's identities go to call_keys sorted
// by (contact id, instance), whatever order they were rated in, so that
// growing contact ids append at the index's end.
func TestIdentitiesInIndexOrder(t *testing.T) {
	p := &packed{insts: []string{"inst-b", "inst-a"}, keys: []keyRow{
		{contact: "c3", inst: 0}, {contact: "c1", inst: 0}, {contact: "c2", inst: 1}, {contact: "c1", inst: 1}, {contact: "c10", inst: 0},
	}}
	var got []string
	for _, i := range p.byIdentity() {
		k := p.keys[i]
		got = append(got, k.contact+"/"+p.insts[k.inst])
	}
	want := []string{"c1/inst-a", "c1/inst-b", "c10/inst-b", "c2/inst-a", "c3/inst-b"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
}

// TestAggregatesInIndexOrder: aggRowOrder orders a batch's aggregates as
// usage_agg's key does (cycle, day, account, line), and lineKeyOrder lines
// as usage_lines_key does; each field decides only where those before it
// tie.
func TestAggregatesInIndexOrder(t *testing.T) {
	row := func(cycle callbill.Cycle, day int, account string, line int64) aggRow {
		return aggRow{key: callbill.AggKey{Account: account, Cycle: cycle, Day: day}, line: line}
	}
	// want[i] sorts after want[i-1] by one field only, and is smaller than
	// want[i-1] in every field after it.
	want := []aggRow{row(24321, 2, "a", 5), row(24321, 2, "a", 6), row(24321, 2, "b", 1), row(24321, 3, "", 0), row(24322, 1, "", 0)}
	got := slices.Clone(want)
	slices.Reverse(got)
	slices.SortFunc(got, aggRowOrder)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("order\n%v\nwant\n%v", got, want)
	}

	base := lineKey{account: "a", pd: "pd", instance: "i", item: "it", number: "n", micro: 5, priceFrom: 5, band: 1}
	lines := []lineKey{base}
	next := func(f func(k *lineKey)) {
		k := base
		f(&k)
		lines = append(lines, k)
	}
	next(func(k *lineKey) { k.band = 2 })
	next(func(k *lineKey) { k.priceFrom, k.band = 6, 0 })
	next(func(k *lineKey) { k.micro, k.priceFrom, k.band = 6, 0, 0 })
	next(func(k *lineKey) { k.number, k.micro, k.priceFrom, k.band = "o", 0, 0, 0 })
	next(func(k *lineKey) { k.item, k.number, k.micro = "iu", "", 0 })
	next(func(k *lineKey) { k.instance, k.item, k.number = "j", "", "" })
	next(func(k *lineKey) { k.pd, k.instance, k.item = "pe", "", "" })
	next(func(k *lineKey) { k.account, k.pd, k.instance = "b", "", "" })
	gotLines := slices.Clone(lines)
	slices.Reverse(gotLines)
	slices.SortFunc(gotLines, lineKeyOrder)
	if !reflect.DeepEqual(gotLines, lines) {
		t.Errorf("line order\n%v\nwant\n%v", gotLines, lines)
	}
}

// openImporter opens an import session on s, closed when the test ends.
func openImporter(t *testing.T, s *Store) *importer {
	t.Helper()
	sess, err := s.OpenIngest(context.Background(), ingest.ForFile)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sess.Close() })
	return sess.(*importer)
}

// addAggregate adds one aggregate in a transaction of im's, which ends in
// fail (rolled back) when fail is not nil.
func addAggregate(im *importer, k callbill.AggKey, calls int64, fail error) error {
	ctx := context.Background()
	return im.Write(ctx, func(tx ingest.Tx) error {
		err := im.addUsage(ctx, tx.(ingestTx).tx, map[callbill.AggKey]*callbill.AggValue{k: {Usage: calls, Calls: calls}})
		if err == nil {
			err = fail
		}
		return err
	})
}

// lineTestKey is an aggregate of account a's instance i, of item.
func lineTestKey(item callbill.Item) callbill.AggKey {
	return callbill.AggKey{Account: "a", Cycle: 24321, Day: 3, PD: "pd", Instance: "i", Item: item}
}

// TestLinesOfARolledBackBatchForgotten: a line a batch added is known to the
// session only once the batch commits. Rolled back, its id names nothing
// (PostgreSQL) or, on SQLite, the next line added; a later batch of the
// same line adds it again, and each aggregate is under its own line.
func TestLinesOfARolledBackBatchForgotten(t *testing.T) {
	onBothStores(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		im := openImporter(t, s)
		add := func(item callbill.Item, calls int64, fail error) error {
			return addAggregate(im, lineTestKey(item), calls, fail)
		}
		rolledBack := fmt.Errorf("rolled back")
		if err := add("Outbound", 1, rolledBack); err != rolledBack {
			t.Fatalf("first batch: %v", err)
		}
		if err := add("Inbound", 2, nil); err != nil {
			t.Fatal(err)
		}
		if err := add("Outbound", 3, nil); err != nil {
			t.Fatal(err)
		}
		rows, err := s.db.QueryContext(ctx, `SELECT l.item, a.calls FROM usage_agg a JOIN usage_lines l ON l.id = a.line ORDER BY l.item`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var got []string
		for rows.Next() {
			var item string
			var calls int64
			if err := rows.Scan(&item, &calls); err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprintf("%s %d", item, calls))
		}
		if want := []string{"Inbound 2", "Outbound 3"}; !reflect.DeepEqual(got, want) || rows.Err() != nil {
			t.Errorf("aggregates by line %v (%v), want %v", got, rows.Err(), want)
		}
	})
}

// TestLinesAnotherWriterAdded: a session that read an account's lines
// meets a line another session added since; its own insert of the line
// does nothing, and it reads the other's id instead of failing or keeping
// the line twice.
func TestLinesAnotherWriterAdded(t *testing.T) {
	onBothStores(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		a, b := openImporter(t, s), openImporter(t, s)
		add := func(im *importer, item callbill.Item, calls int64) {
			t.Helper()
			if err := addAggregate(im, lineTestKey(item), calls, nil); err != nil {
				t.Fatal(err)
			}
		}
		add(a, "Outbound", 1) // a has read account a's lines
		add(b, "Inbound", 2)
		add(a, "Inbound", 3)
		var lines, calls int64
		if err := s.db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM usage_lines), (SELECT SUM(a.calls) FROM usage_agg a
			JOIN usage_lines l ON l.id = a.line WHERE l.item = 'Inbound')`).Scan(&lines, &calls); err != nil {
			t.Fatal(err)
		}
		if lines != 2 || calls != 5 {
			t.Errorf("%d lines, %d inbound calls; want 2 lines, 5 calls", lines, calls)
		}
	})
}

// TestUsageDaysBounded: an aggregate of a day outside 1–31 is refused, since
// one account's bill reads days 1–31 and would not see it.
func TestUsageDaysBounded(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "d.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() }) // after the session's
	im := openImporter(t, s)
	add := func(day int) error {
		return im.Write(ctx, func(tx ingest.Tx) error {
			k := callbill.AggKey{Account: "a", Cycle: 24321, Day: day, PD: "pd", Instance: "i", Item: "item", Number: "n"}
			return im.addUsage(ctx, tx.(ingestTx).tx, map[callbill.AggKey]*callbill.AggValue{k: {Usage: 1, Calls: 1}})
		})
	}
	for _, day := range []int{0, 32, -1} {
		if err := add(day); callbill.ErrorCode(err) != callbill.EINTERNAL {
			t.Errorf("day %v: %v, want EINTERNAL", day, err)
		}
	}
	if err := add(31); err != nil {
		t.Errorf("day 31: %v", err)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM usage_agg`).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d aggregates stored (%v), want 1", n, err)
	}
}

// TestSealLaysBlocksOut: calls packed back to back as they come, accounts
// interleaved and an account switching cycles, come out of seal as one
// block per run of an account and cycle, each holding its calls in order.
func TestSealLaysBlocksOut(t *testing.T) {
	s := &Store{}
	p := s.NewCalls(8).(*packed)
	oct, nov := callbill.NewCycle(2026, time.October), callbill.NewCycle(2026, time.November)
	add := func(acct string, c callbill.Cycle, contact string) {
		p.Add(&callbill.Call{CDR: callbill.CDR{ContactID: contact, InstanceID: "i-" + acct, Direction: callbill.Inbound,
			Caller: "13800000000", Callee: "02100000000", Start: 1790000000, End: 1790000060}, Account: acct, Cycle: c}, 0)
	}
	add("a", oct, "1")
	add("b", oct, "2")
	add("a", oct, "3")
	add("a", nov, "4")
	add("b", oct, "5")
	add("a", oct, "6")
	p.Seal()
	want := []struct {
		acct     string
		cycle    callbill.Cycle
		contacts string
	}{{"a", oct, "1,3"}, {"b", oct, "2,5"}, {"a", nov, "4"}, {"a", oct, "6"}}
	if len(p.blocks) != len(want) {
		t.Fatalf("%d blocks, want %d", len(p.blocks), len(want))
	}
	for i, b := range p.blocks {
		var got []string
		err := decodeBlock(b.data, b.account, b.cycle, 0, func(c *callbill.Call) error {
			got = append(got, c.ContactID)
			return nil
		})
		if err != nil || b.account != want[i].acct || b.cycle != want[i].cycle || strings.Join(got, ",") != want[i].contacts {
			t.Errorf("block %d: %s %v %v (%v), want %+v", i, b.account, b.cycle, got, err, want[i])
		}
	}
}

// TestNoteActivityOnlyLowers: the first cycle with activity only moves down,
// and noting one no earlier locks nothing: on PostgreSQL a second writer
// noting it meanwhile does not wait for the first to commit (an upsert
// locked the row it met, even left as it was, so concurrent importers
// waited on each other's commits).
func TestNoteActivityOnlyLowers(t *testing.T) {
	onBothStores(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		first := func() int64 {
			tx, err := s.begin(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			n, err := getMetaInt(ctx, tx, "first_cycle")
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		note := func(c callbill.Cycle) {
			tx, err := s.begin(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := noteActivity(ctx, tx, c); err != nil {
				t.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		for _, step := range []struct {
			note callbill.Cycle
			want int64
		}{{24321, 24321}, {24323, 24321}, {24320, 24320}, {24321, 24320}} {
			note(step.note)
			if got := first(); got != step.want {
				t.Fatalf("after noting %d: first cycle %d, want %d", step.note, got, step.want)
			}
		}
		if s.dialect != dialectPostgres {
			return // one writer at a time: nothing to wait on
		}
		held, err := s.begin(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer held.Rollback()
		if err := noteActivity(ctx, held, 24322); err != nil {
			t.Fatal(err)
		}
		other, err := s.begin(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Rollback()
		if _, err := other.ExecContext(ctx, `SET LOCAL lock_timeout = '2s'`); err != nil {
			t.Fatal(err)
		}
		if err := noteActivity(ctx, other, 24325); err != nil {
			t.Fatalf("a second writer waited on the first: %v", err)
		}
	})
}

// TestAccountsInBothWays reads rows by lists of accounts through accountsIn
// on both stores (an array on PostgreSQL, lists of at most 500 on SQLite):
// the accounts listed and no other, each once, also from a list longer than
// one of SQLite's, and nothing for an empty list.
func TestAccountsInBothWays(t *testing.T) {
	onBothStores(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		err := s.inTx(ctx, func(tx *Tx) error {
			return execRows(ctx, tx, `INSERT INTO call_versions (account, cycle, version) VALUES `, "", 3,
				[]any{"a", 24321, int64(1), "b", 24321, int64(2), "c", 24321, int64(3)})
		})
		if err != nil {
			t.Fatal(err)
		}
		long := []string{"a"} // a, 1,200 accounts without rows, then c
		for i := range 1200 {
			long = append(long, fmt.Sprintf("n%04d", i))
		}
		long = append(long, "c")
		for _, tc := range []struct {
			accounts []string
			want     string
		}{{[]string{"a", "c"}, "a c"}, {[]string{"b"}, "b"}, {[]string{"x"}, ""}, {nil, ""}, {long, "a c"}, {[]string{"c", "a", "c"}, "a c"}} {
			var got []string
			err := s.accountsIn("account", tc.accounts, func(in string, args []any) error {
				rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT account FROM call_versions WHERE `+in+` ORDER BY account`), args...)
				if err != nil {
					return err
				}
				defer rows.Close()
				for rows.Next() {
					var a string
					if err := rows.Scan(&a); err != nil {
						return err
					}
					got = append(got, a)
				}
				return rows.Err()
			})
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(got)
			if strings.Join(got, " ") != tc.want {
				t.Errorf("%d accounts: got %q, want %q", len(tc.accounts), got, tc.want)
			}
		}
		if s.dialect != dialectPostgres {
			return
		}
		// The plan PostgreSQL keeps for a prepared statement, whatever the
		// array: a join with the array's set, not each row compared with
		// every element (docs/decisions.md, "Import").
		err = s.accountsIn("account", long, func(in string, _ []any) error {
			conn, err := s.db.Conn(ctx)
			if err != nil {
				return err
			}
			defer conn.Close()
			if _, err := conn.ExecContext(ctx, `SET plan_cache_mode = force_generic_plan`); err != nil {
				return err
			}
			defer conn.ExecContext(ctx, `RESET plan_cache_mode`)
			if _, err := conn.ExecContext(ctx, `PREPARE by_accounts(text[]) AS SELECT account FROM call_versions WHERE `+strings.Replace(in, "?", "$1", 1)); err != nil {
				return err
			}
			defer conn.ExecContext(ctx, `DEALLOCATE by_accounts`)
			rows, err := conn.QueryContext(ctx, `EXPLAIN EXECUTE by_accounts('{`+strings.Join(long, ",")+`}')`) // plain names: no quoting needed
			if err != nil {
				return err
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var line string
				if err := rows.Scan(&line); err != nil {
					return err
				}
				plan = append(plan, line)
			}
			if p := strings.Join(plan, "\n"); strings.Contains(p, "ANY") {
				t.Errorf("a generic plan compares with the array's elements:\n%s", p)
			}
			return rows.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// TestImportRowsInChunks writes, through an import's session, more rows
// than a statement holds, with what is left more than a small chunk: every
// row is written once, the upsert adds to each row written before, and the
// statements kept prepared are the full and the small chunk's only. Values
// that do not make whole rows are refused.
func TestImportRowsInChunks(t *testing.T) {
	onBothStores(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		im := openImporter(t, s)
		const width = 3
		rows := maxParams/width + 3*smallChunk + 5 // a full chunk, three small ones and five rows
		head := `INSERT INTO call_versions (account, cycle, version) VALUES `
		tail := ` ON CONFLICT (account, cycle) DO UPDATE SET version = call_versions.version + excluded.version`
		write := func(version int64) error {
			return im.Write(ctx, func(tx ingest.Tx) error {
				args := make([]any, 0, rows*width)
				for i := range rows {
					args = append(args, "a", 24000+i, version)
				}
				return im.execRows(ctx, tx.(ingestTx).tx, head, tail, width, args)
			})
		}
		if err := write(1); err != nil {
			t.Fatal(err)
		}
		if err := write(2); err != nil {
			t.Fatal(err)
		}
		var n, sum int64
		if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*), SUM(version) FROM call_versions`).Scan(&n, &sum); err != nil {
			t.Fatal(err)
		}
		if n != int64(rows) || sum != 3*int64(rows) {
			t.Errorf("%d rows summing to %d, want %d summing to %d", n, sum, rows, 3*rows)
		}
		if s.dialect == dialectSQLite && len(im.direct) != 2 {
			t.Errorf("%d statements kept prepared, want 2 (a full chunk and a small one)", len(im.direct))
		}
		err := im.Write(ctx, func(tx ingest.Tx) error {
			return im.execRows(ctx, tx.(ingestTx).tx, `INSERT INTO meta (key, value) VALUES `, "", 2, []any{"k", "v", "x"})
		})
		if err == nil {
			t.Error("three values as rows of two: no error")
		}
	})
}

// TestImportJournalsInMemory: on SQLite, a group's session keeps its
// statements' journals in memory (temp_store MEMORY), a file import's
// session leaves them as SQLite keeps them, and either connection goes back
// to the pool as the pool made it.
func TestImportJournalsInMemory(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.db.SetMaxOpenConns(1) // the session's connection is the one the pool gives next
	tempStore := func(q interface {
		QueryRowContext(context.Context, string, ...any) *sql.Row
	}) int {
		t.Helper()
		var n int
		if err := q.QueryRowContext(ctx, `PRAGMA temp_store`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := tempStore(s.db); n != 0 {
		t.Fatalf("the pool's connection: temp_store %d, want 0 (the default)", n)
	}
	for _, tc := range []struct {
		use  ingest.SessionUse
		want int
	}{{ingest.ForRounds, 2}, {ingest.ForFile, 0}} {
		sess, err := s.OpenIngest(ctx, tc.use)
		if err != nil {
			t.Fatal(err)
		}
		if n := tempStore(sess.(*importer).conn); n != tc.want {
			t.Errorf("a session for %d: temp_store %d, want %d", tc.use, n, tc.want)
		}
		if err := sess.Close(); err != nil {
			t.Fatal(err)
		}
		if n := tempStore(s.db); n != 0 {
			t.Errorf("the connection given back: temp_store %d, want 0 (the default)", n)
		}
	}
}
