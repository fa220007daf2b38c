package sqlstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// copyHeader opens PostgreSQL's binary COPY format: signature, flags, no
// header extension.
var copyHeader = []byte("PGCOPY\n\377\r\n\000\x00\x00\x00\x00\x00\x00\x00\x00")

// errCopyType says a value has no binary encoding here for its column's
// type; copyRows then lets pgx encode the rows.
var errCopyType = errors.New("no binary encoding for the value")

// appendCopyRow appends one row of binary COPY data: the field count, then
// each value as its length and bytes in the column's binary format. It
// knows the few types the import's COPYs carry (text, integers, bytea);
// pgx encodes any value through a plan looked up per value, and that was
// most of the time the writer spent feeding a batch's COPY
// (docs/decisions.md, "The COPY data encoded by callbill").
func appendCopyRow(buf []byte, oids []uint32, vals []any) ([]byte, error) {
	if len(vals) != len(oids) {
		return buf, fmt.Errorf("a row of %d values for %d columns", len(vals), len(oids))
	}
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(vals)))
	for i, v := range vals {
		var err error
		if buf, err = appendCopyValue(buf, oids[i], v); err != nil {
			return buf, err
		}
	}
	return buf, nil
}

func appendCopyValue(buf []byte, oid uint32, v any) ([]byte, error) {
	switch oid {
	case pgtype.TextOID, pgtype.VarcharOID:
		s, ok := v.(string)
		if !ok {
			return buf, errCopyType
		}
		if len(s) > math.MaxInt32 {
			return buf, fmt.Errorf("a text of %d bytes", len(s))
		}
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(s)))
		return append(buf, s...), nil
	case pgtype.ByteaOID:
		b, ok := v.([]byte)
		if !ok {
			return buf, errCopyType
		}
		if b == nil {
			return binary.BigEndian.AppendUint32(buf, math.MaxUint32), nil // -1: NULL
		}
		if len(b) > math.MaxInt32 {
			return buf, fmt.Errorf("a bytea of %d bytes", len(b))
		}
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(b)))
		return append(buf, b...), nil
	case pgtype.Int8OID, pgtype.Int4OID, pgtype.Int2OID:
		var n int64
		switch x := v.(type) {
		case int64:
			n = x
		case int:
			n = int64(x)
		default:
			return buf, errCopyType
		}
		switch oid {
		case pgtype.Int8OID:
			buf = binary.BigEndian.AppendUint32(buf, 8)
			return binary.BigEndian.AppendUint64(buf, uint64(n)), nil
		case pgtype.Int4OID:
			if n < math.MinInt32 || n > math.MaxInt32 {
				return buf, fmt.Errorf("%d is out of range for an integer column", n)
			}
			buf = binary.BigEndian.AppendUint32(buf, 4)
			return binary.BigEndian.AppendUint32(buf, uint32(int32(n))), nil
		default:
			if n < math.MinInt16 || n > math.MaxInt16 {
				return buf, fmt.Errorf("%d is out of range for a smallint column", n)
			}
			buf = binary.BigEndian.AppendUint32(buf, 2)
			return binary.BigEndian.AppendUint16(buf, uint16(int16(n))), nil
		}
	}
	return buf, errCopyType
}

// copyEncoded writes n rows with COPY … FROM STDIN BINARY, the data encoded
// by appendCopyRow as the driver sends it (copyReader). handled is false,
// and nothing was sent, when the first row has a value with no encoding
// here; err is then nil.
func (im *importer) copyEncoded(ctx context.Context, c *pgx.Conn, table string, cols []string, n int, row func(i int, dst []any) []any) (handled bool, err error) {
	oids, err := im.copyColumnTypes(ctx, c, table, cols)
	if err != nil {
		return true, err
	}
	r := &copyReader{oids: oids, row: row, n: n, buf: im.copyBuf[:0], vals: make([]any, 0, len(cols))}
	r.buf = append(r.buf, copyHeader...)
	if err := r.next(); err != nil { // the first row shows whether the types are known
		im.copyBuf = r.buf[:0]
		if errors.Is(err, errCopyType) {
			return false, nil
		}
		return true, err
	}
	quoted := make([]string, len(cols))
	for i, col := range cols {
		quoted[i] = pgx.Identifier{col}.Sanitize()
	}
	_, err = c.PgConn().CopyFrom(ctx, r,
		"COPY "+pgx.Identifier{table}.Sanitize()+" ("+strings.Join(quoted, ", ")+") FROM STDIN BINARY")
	im.copyBuf = r.buf[:0]
	return true, err
}

// copyReader is a COPY's data, encoded a chunk at a time as the driver reads
// it: the server takes the first rows while the next are encoded.
type copyReader struct {
	oids []uint32
	row  func(i int, dst []any) []any
	n, i int    // rows, and the next to encode
	vals []any  // row's, reused
	buf  []byte // encoded, not yet read from off on
	off  int
	done bool // the trailer is in buf
}

// copyChunk is about what the driver sends per message.
const copyChunk = 64 << 10

func (r *copyReader) Read(p []byte) (int, error) {
	for r.off == len(r.buf) {
		if r.done {
			return 0, io.EOF
		}
		r.buf, r.off = r.buf[:0], 0
		if err := r.encode(copyChunk); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.buf[r.off:])
	r.off += n
	return n, nil
}

// encode appends rows to buf until it holds size bytes or every row.
func (r *copyReader) encode(size int) error {
	for !r.done && len(r.buf) < size {
		if err := r.next(); err != nil {
			return err
		}
	}
	return nil
}

// next appends the next row to buf, or the trailer after the last.
func (r *copyReader) next() error {
	if r.i == r.n {
		r.buf = binary.BigEndian.AppendUint16(r.buf, math.MaxUint16) // the trailer: -1
		r.done = true
		return nil
	}
	r.vals = r.row(r.i, r.vals[:0])
	var err error
	if r.buf, err = appendCopyRow(r.buf, r.oids, r.vals); err != nil {
		return err
	}
	r.i++
	return nil
}

// copyColumnTypes returns the type of each of cols in table, asked of the
// server once per session and table.
func (im *importer) copyColumnTypes(ctx context.Context, c *pgx.Conn, table string, cols []string) ([]uint32, error) {
	key := table + "\x00" + strings.Join(cols, "\x00")
	if oids, ok := im.copyTypes[key]; ok {
		return oids, nil
	}
	quoted := make([]string, len(cols))
	for i, col := range cols {
		quoted[i] = pgx.Identifier{col}.Sanitize()
	}
	sd, err := c.PgConn().Prepare(ctx, "", "SELECT "+strings.Join(quoted, ", ")+" FROM "+pgx.Identifier{table}.Sanitize(), nil)
	if err != nil {
		return nil, err
	}
	if len(sd.Fields) != len(cols) {
		return nil, fmt.Errorf("%s: %d columns described for %d", table, len(sd.Fields), len(cols))
	}
	oids := make([]uint32, len(cols))
	for i, f := range sd.Fields {
		oids[i] = f.DataTypeOID
	}
	if im.copyTypes == nil {
		im.copyTypes = map[string][]uint32{}
	}
	im.copyTypes[key] = oids
	return oids, nil
}
