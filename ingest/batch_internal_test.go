package ingest

import (
	"io"
	"reflect"
	"testing"
	"time"

	"github.com/callbill/callbill"
)

// rawRowsSource gives n rows of size bytes each as read (each byte the
// line's); every bad-th row (when bad > 0) is one the decoder rejects.
type rawRowsSource struct {
	n, size, bad, line int
}

func (s *rawRowsSource) Next() (callbill.CDR, callbill.Pos, error) {
	if s.line == s.n {
		return callbill.CDR{}, callbill.Pos{}, io.EOF
	}
	s.line++
	pos := callbill.Pos{Line: s.line}
	if s.bad > 0 && s.line%s.bad == 0 {
		return callbill.CDR{}, pos, &callbill.Reject{Pos: pos, Reason: "bad", Fields: []string{"dropped: kept as read"}}
	}
	return callbill.CDR{ContactID: "c"}, pos, nil
}

func (s *rawRowsSource) AppendRaw(dst []byte, _ *callbill.CDR) []byte {
	for range s.size {
		dst = append(dst, byte(s.line))
	}
	return dst
}

func (s *rawRowsSource) RawFields(raw []byte, _ *callbill.CDR) []string { return []string{string(raw)} }

// batches decodes src in batches of size, handing each batch's raw rows
// back as merge does, and returns the rows read of each.
func batches(t *testing.T, src *rawRowsSource, size int) []int64 {
	out := make(chan decoded)
	free := make(chan *rawBatch, 4)
	stop := make(chan struct{})
	defer close(stop)
	go decodeBatches(src, src, size, out, free, nil, stop)
	var read []int64
	var raws []*rawBatch
	for d := range out {
		read = append(read, d.read)
		n := len(d.rows) + len(d.bad)
		if int64(n) != d.read || len(d.raw.rows.ends) != len(d.rows) || len(d.raw.bad.ends) != len(d.bad) ||
			len(d.raw.rows.buf)+len(d.raw.bad.buf) != n*src.size {
			t.Fatalf("a batch of %d rows kept %d+%d rows, %d+%d bytes", d.read, len(d.raw.rows.ends), len(d.raw.bad.ends), len(d.raw.rows.buf), len(d.raw.bad.buf))
		}
		for i, p := range d.rows {
			if row := d.raw.rows.row(int32(i)); len(row) != src.size || row[0] != byte(p.pos.Line) {
				t.Fatalf("row %d (line %d): raw row not kept as read", i, p.pos.Line)
			}
		}
		for _, r := range d.bad {
			if row := d.raw.bad.row(r.raw); r.Fields != nil || !r.bad || len(row) != src.size || row[0] != byte(r.Line) {
				t.Fatalf("reject %+v: raw row %d not kept as read", r.Reject, r.raw)
			}
		}
		raws = append(raws, d.raw)
		free <- d.raw
	}
	// The third batch at the latest reuses the first's (handed back before
	// the second was taken).
	distinct := map[*rawBatch]bool{}
	for _, r := range raws {
		distinct[r] = true
	}
	if len(raws) > 2 && len(distinct) > 2 {
		t.Errorf("%d batches used %d raw batches: those of batches done are not reused", len(raws), len(distinct))
	}
	return read
}

// TestBatchesEndAtRowsReadOrRawBytes: a batch ends at size rows read, good
// or bad (an input of bad rows is not one batch), or sooner when its rows
// as read pass maxRawBytes (long rows do not pile up).
func TestBatchesEndAtRowsReadOrRawBytes(t *testing.T) {
	if got := batches(t, &rawRowsSource{n: 25, size: 10, bad: 2}, 10); !reflect.DeepEqual(got, []int64{10, 10, 5}) {
		t.Errorf("rows read per batch %v, want [10 10 5]", got)
	}
	if got := batches(t, &rawRowsSource{n: 25, size: 10, bad: 1}, 10); !reflect.DeepEqual(got, []int64{10, 10, 5}) {
		t.Errorf("bad rows only: rows read per batch %v, want [10 10 5]", got)
	}
	perBatch := int64((maxRawBytes + 100<<10 - 1) / (100 << 10)) // the first to reach maxRawBytes ends it
	if got := batches(t, &rawRowsSource{n: 200, size: 100 << 10, bad: 7}, 40_000); !reflect.DeepEqual(got, []int64{perBatch, perBatch, 200 - 2*perBatch}) {
		t.Errorf("rows of 100 KiB: rows read per batch %v, want %d a batch", got, perBatch)
	}
}

// TestBatchesInFlightBounded: with a pool of rows, the decoder has at most
// rowsInFlight batches out; it reads the next only when a batch's rows come
// back, and decodes into them.
func TestBatchesInFlightBounded(t *testing.T) {
	src := &rawRowsSource{n: 10 * (rowsInFlight + 2)}
	out := make(chan decoded)
	freeRows := make(chan []pending, rowsInFlight)
	stop := make(chan struct{})
	defer close(stop)
	go decodeBatches(src, nil, 10, out, nil, freeRows, stop)
	var held []decoded
	for range rowsInFlight {
		held = append(held, <-out)
	}
	select {
	case d := <-out:
		t.Fatalf("a batch from line %d decoded with %d out", d.rows[0].pos.Line, len(held))
	case <-time.After(100 * time.Millisecond): // the decoder waits for rows back
	}
	freeRows <- held[0].rows[:0]
	d := <-out
	if d.rows[0].pos.Line != 10*rowsInFlight+1 || &d.rows[:1][0] != &held[0].rows[:1][0] {
		t.Fatalf("the batch after the rows came back starts at line %d, in rows of its own", d.rows[0].pos.Line)
	}
}
