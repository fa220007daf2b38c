package sqlstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/callbill/callbill/ingest"
	"github.com/callbill/callbill/internal/testpg"
	"github.com/jackc/pgx/v5/pgtype"
)

// TestCopyValuesAsPgx: each value appendCopyValue encodes is the length and
// the bytes pgx encodes for its column's type; a value out of its column's
// range is an error, and a type it does not know is errCopyType.
func TestCopyValuesAsPgx(t *testing.T) {
	m := pgtype.NewMap()
	cases := []struct {
		oid uint32
		v   any
	}{
		{pgtype.TextOID, ""},
		{pgtype.TextOID, "c0000000001"},
		{pgtype.VarcharOID, "成都云帆"},
		{pgtype.ByteaOID, []byte{}},
		{pgtype.ByteaOID, []byte{0, 1, 0xff}},
		{pgtype.ByteaOID, []byte(nil)},
		{pgtype.Int8OID, int64(math.MinInt64)},
		{pgtype.Int8OID, int64(1) << 40},
		{pgtype.Int8OID, -1},
		{pgtype.Int4OID, int64(math.MaxInt32)},
		{pgtype.Int4OID, math.MinInt32},
		{pgtype.Int4OID, 24321},
		{pgtype.Int2OID, int64(math.MinInt16)},
		{pgtype.Int2OID, math.MaxInt16},
	}
	for _, c := range cases {
		got, err := appendCopyValue([]byte("x"), c.oid, c.v)
		if err != nil {
			t.Errorf("%d %#v: %v", c.oid, c.v, err)
			continue
		}
		enc, err := m.Encode(c.oid, pgtype.BinaryFormatCode, c.v, []byte{}) // nil only for NULL
		if err != nil {
			t.Fatalf("pgx %d %#v: %v", c.oid, c.v, err)
		}
		want := []byte("x")
		if enc == nil {
			want = binary.BigEndian.AppendUint32(want, math.MaxUint32)
		} else {
			want = binary.BigEndian.AppendUint32(want, uint32(len(enc)))
			want = append(want, enc...)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%d %#v: % x, pgx % x", c.oid, c.v, got, want)
		}
	}
	for _, c := range []struct {
		oid uint32
		v   any
	}{
		{pgtype.Int4OID, int64(math.MaxInt32) + 1},
		{pgtype.Int4OID, math.MinInt32 - 1},
		{pgtype.Int2OID, math.MaxInt16 + 1},
		{pgtype.Int2OID, int64(math.MinInt16) - 1},
	} {
		if _, err := appendCopyValue(nil, c.oid, c.v); err == nil || errors.Is(err, errCopyType) {
			t.Errorf("%d %#v out of range: %v", c.oid, c.v, err)
		}
	}
	for _, c := range []struct {
		oid uint32
		v   any
	}{
		{pgtype.TextOID, 3},
		{pgtype.Int8OID, "3"},
		{pgtype.Int8OID, int32(3)},
		{pgtype.ByteaOID, "b"},
		{pgtype.Float8OID, 1.5},
		{pgtype.BoolOID, true},
	} {
		if _, err := appendCopyValue(nil, c.oid, c.v); !errors.Is(err, errCopyType) {
			t.Errorf("%d %#v: %v, want errCopyType", c.oid, c.v, err)
		}
	}
	if _, err := appendCopyRow(nil, []uint32{pgtype.TextOID}, []any{"a", "b"}); err == nil {
		t.Error("two values for one column: no error")
	}
}

// TestCopyRows: rows COPY'd by callbill's encoder, over many of the
// driver's messages, read back as they were written; rows of a type it does
// not know go through pgx; a value out of its column's range mid-stream
// fails the COPY, and nothing of it is stored; a table that is not there is
// the error, not what pgx would say in the transaction it aborted.
func TestCopyRows(t *testing.T) {
	s, err := Open(context.Background(), testpg.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE copy_test (t text, b bytea, i8 bigint, i4 integer, i2 smallint, f double precision)`); err != nil {
		t.Fatal(err)
	}
	im := openImporter(t, s)
	cols := []string{"t", "b", "i8", "i4", "i2"}
	const n = 5000 // ~40 bytes a row: several of copyChunk
	row := func(i int, dst []any) []any {
		return append(dst, strings.Repeat("云", i%7), []byte{byte(i), byte(i >> 8)}, int64(i)<<33, i-2500, int64(i%300))
	}
	copyIn := func(cols []string, n int, row func(i int, dst []any) []any) error {
		return im.Write(ctx, func(tx ingest.Tx) error { return im.copyRows(ctx, "copy_test", cols, n, row) })
	}
	if err := copyIn(cols, n, row); err != nil {
		t.Fatal(err)
	}
	rs, err := s.db.QueryContext(ctx, `SELECT t, b, i8, i4, i2 FROM copy_test ORDER BY i8`)
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for rs.Next() {
		var text string
		var b []byte
		var i8, i4, i2 int64
		if err := rs.Scan(&text, &b, &i8, &i4, &i2); err != nil {
			t.Fatal(err)
		}
		want := row(i, nil)
		if text != want[0] || !bytes.Equal(b, want[1].([]byte)) || i8 != want[2] || i4 != int64(want[3].(int)) || i2 != want[4] {
			t.Fatalf("row %d: %q %x %d %d %d, want %v", i, text, b, i8, i4, i2, want)
		}
		i++
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	rs.Close()
	if i != n {
		t.Fatalf("%d rows read back, want %d", i, n)
	}

	err = copyIn([]string{"t", "f"}, 3, func(i int, dst []any) []any { return append(dst, "pgx", float64(i)/2) })
	if err != nil {
		t.Fatalf("rows pgx encodes: %v", err)
	}
	var sum float64
	if err := s.db.QueryRowContext(ctx, `SELECT SUM(f) FROM copy_test WHERE t = 'pgx'`).Scan(&sum); err != nil || sum != 1.5 {
		t.Fatalf("rows pgx encoded sum to %v, %v; want 1.5", sum, err)
	}

	err = copyIn([]string{"t", "i4"}, n, func(i int, dst []any) []any {
		v := int64(i)
		if i == n-1 {
			v = math.MaxInt32 + 1
		}
		return append(dst, "range", v)
	})
	if err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Fatalf("a value out of range in the last row: %v", err)
	}
	var left int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM copy_test WHERE t = 'range'`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d rows of the failed COPY stored (%v)", left, err)
	}

	err = im.Write(ctx, func(tx ingest.Tx) error {
		return im.copyRows(ctx, "no_such_table", []string{"t"}, 1, func(i int, dst []any) []any { return append(dst, "x") })
	})
	if err == nil || !strings.Contains(err.Error(), `"no_such_table" does not exist`) {
		t.Fatalf("a COPY into a table that is not there: %v", err)
	}
}
