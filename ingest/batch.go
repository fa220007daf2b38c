package ingest

import (
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/callbill/callbill"
)

// decoded is one batch as the decoder goroutine hands it over.
type decoded struct {
	rows []pending
	bad  []rejected // the decoder's rejects
	raw  *rawBatch  // the rows as read; nil when not kept
	read int64
	err  error
}

type pending struct {
	cdr callbill.CDR
	pos callbill.Pos
}

// rejected is a reject on its way to OnReject, with where its row as read
// is: row raw of the batch's raw rows, or of its bad ones when bad (the
// decoder's); -1 when not kept.
type rejected struct {
	callbill.Reject
	raw int32
	bad bool
}

// maxRawBytes bounds the bytes of raw rows a batch keeps: a batch of long
// rows (up to cdr.MaxRecordBytes each) ends sooner. Ordinary rows stay far
// below it (CSV rows keep little more than what their CDR does not hold;
// CCC JSON records of a kilobyte or two come near it at 40,000).
const maxRawBytes = 8 << 20

// rawBatch keeps the rows of a batch as read until the batch is done, so
// that a row rejected after it was decoded (screening, a conflict) goes to
// OnReject with its fields: rows those of decoded.rows (row i is rows[i]),
// bad those of the decoder's rejects. It is reused from batch to batch.
type rawBatch struct {
	rows, bad rawRows
}

// rawRows are rows as read (callbill.RawSource.AppendRaw), one after the
// other in one buffer: a row costs at most a copy of its bytes and an
// offset.
type rawRows struct {
	buf  []byte
	ends []int32 // where each row ends in buf
}

// add appends the row src.Next last returned, whose CDR is c (nil for a
// reject), and returns its index.
func (r *rawRows) add(src callbill.RawSource, c *callbill.CDR) int32 {
	r.buf = src.AppendRaw(r.buf, c)
	r.ends = append(r.ends, int32(len(r.buf)))
	return int32(len(r.ends) - 1)
}

// row returns row i as AppendRaw appended it.
func (r *rawRows) row(i int32) []byte {
	var start int32
	if i > 0 {
		start = r.ends[i-1]
	}
	return r.buf[start:r.ends[i]]
}

func (r *rawRows) reset() { r.buf, r.ends = r.buf[:0], r.ends[:0] }

// decodeBatches reads src into batches until EOF, an error, or stop. A
// batch holds size rows read, good or bad. With freeRows set, at most
// rowsInFlight batches are out at once: past that, a batch's rows are those
// of a batch done, returned to freeRows (merge). When raw is set (the
// source of an import that keeps its rejects), the batch keeps its rows as
// read too, in a rawBatch taken from free when there is one, and ends
// sooner when those pass maxRawBytes.
func decodeBatches(src callbill.CDRSource, raw callbill.RawSource, size int, out chan<- decoded, free <-chan *rawBatch, freeRows <-chan []pending, stop <-chan struct{}) {
	defer close(out)
	made := 0
	for {
		var d decoded
		switch {
		case freeRows == nil:
			d.rows = make([]pending, 0, size)
		case made < rowsInFlight:
			select {
			case d.rows = <-freeRows:
			default:
				d.rows = make([]pending, 0, size)
				made++
			}
		default:
			select {
			case d.rows = <-freeRows:
			case <-stop:
				return
			}
		}
		if raw != nil {
			select {
			case d.raw = <-free:
				d.raw.rows.reset()
				d.raw.bad.reset()
			default:
				d.raw = &rawBatch{}
			}
		}
		eof := false
		for d.read < int64(size) && (d.raw == nil || len(d.raw.rows.buf)+len(d.raw.bad.buf) < maxRawBytes) {
			c, pos, err := src.Next()
			if err == io.EOF {
				eof = true
				break
			}
			d.read++
			if bad := asReject(err); bad != nil {
				r := rejected{Reject: *bad, raw: -1, bad: true}
				if d.raw != nil {
					r.raw, r.Fields = d.raw.bad.add(raw, nil), nil // kept as read until OnReject
				}
				d.bad = append(d.bad, r)
				continue
			}
			if err != nil {
				d.err = err
				eof = true
				break
			}
			d.rows = append(d.rows, pending{c, pos})
			if d.raw != nil {
				d.raw.rows.add(raw, &d.rows[len(d.rows)-1].cdr)
			}
		}
		select {
		case out <- d:
		case <-stop:
			return
		}
		if eof {
			return
		}
	}
}

// rowsInFlight is how many batches an import holds at once: one being
// written and the next, decoded and rated meanwhile. The next but one is
// read when the first is done, not ahead: decoding it sooner gained no
// time, since the writer sets the pace, while its rows took memory and its
// decoding took cores the writer and the database's server needed
// (docs/decisions.md, "Two batches in flight").
const rowsInFlight = 2

// asReject returns the bad row err reports, or nil. Only an error pays for
// the check: errors.As moves its target to the heap, and the check runs on
// every row read.
func asReject(err error) *callbill.Reject {
	if err == nil {
		return nil
	}
	var bad *callbill.Reject
	if errors.As(err, &bad) {
		return bad
	}
	return nil
}

// work is one batch on its way: the rows, what screening kept of them and
// what rating made of them.
type work struct {
	rows     []pending
	gen      int64          // the world it was rated against
	closed   callbill.Cycle // the last closed cycle in that world
	accounts []string       // the accounts it touches, sorted
	rep      batchReport

	// The touched accounts' rating state before the batch, to check under
	// their locks that nobody else changed it meanwhile (pipeline only).
	start callbill.RaterState

	cand  []found // the rows to rate, in input order
	rated *Rated

	followers []follower            // rows repeating an identity earlier in the batch
	storedAs  map[int]*callbill.CDR // candidates found stored before: the stored call, by row
	// The rows whose calls the batch stores, and the directory they were
	// rated against: what releases their reservations (release).
	stored []int32
	insts  map[string]*callbill.InstanceInfo
	// A Group round's requests (a row's Pos.File is its request's index):
	// each is its own import. nil for a file's batch.
	reqs []*groupRequest
}

// follower is a row whose identity an earlier row of the batch has.
type follower struct{ row, first int }

// found is a row to rate and what its lookup found: each row is looked up
// once.
type found struct {
	row  int
	inst *callbill.InstanceInfo
	num  *callbill.Number
}

// batchReport counts one batch until it is committed.
type batchReport struct {
	imported, duplicates, rejected, conflicts int64
	rejects                                   []rejected
	dupByFile                                 map[int]int64 // duplicates per input file (a Group's requests)
}

func (w *work) reject(row int, reason string, conflict bool) {
	w.rep.rejected++
	if conflict {
		w.rep.conflicts++
	}
	w.rep.rejects = append(w.rep.rejects, rejected{callbill.Reject{Pos: w.rows[row].pos, Reason: reason, Conflict: conflict}, int32(row), false})
}

// dupOrConflict counts row, whose call was met before (first): a duplicate
// when it says the same, else a conflict, and the first stays.
func (w *work) dupOrConflict(row int, first *callbill.CDR) {
	again := &w.rows[row].cdr
	if first.SameContent(again) {
		w.rep.duplicates++
		if w.rep.dupByFile == nil {
			w.rep.dupByFile = map[int]int64{}
		}
		w.rep.dupByFile[w.rows[row].pos.File]++
		return
	}
	w.reject(row, fmt.Sprintf("conflict: contact %s on instance %s was imported before with different content; the first stays",
		again.ContactID, again.InstanceID), true)
}

// merge records a batch that is done: its counts, and its rejects — the
// decoder's (d.bad) and the later stages' together, in input order, so
// that OnReject sees every reject of the import in order, each with its
// fields from the batch's raw rows, and the report keeps the first
// MaxReportedRejects (without fields). The raw rows then serve another
// batch.
func (im *importer) merge(d *decoded, b *batchReport) error {
	bad := d.bad
	im.rep.Imported += b.imported
	im.rep.Duplicates += b.duplicates
	im.rep.Rejected += b.rejected + int64(len(bad))
	im.rep.Conflicts += b.conflicts
	rejects := b.rejects
	if len(bad) > 0 {
		rejects = append(bad[:len(bad):len(bad)], b.rejects...)
	}
	sort.SliceStable(rejects, func(i, j int) bool {
		x, y := rejects[i].Pos, rejects[j].Pos
		return x.File < y.File || (x.File == y.File && x.Line < y.Line)
	})
	for i := range rejects {
		r := rejects[i].Reject
		if im.opts.OnReject != nil {
			if n := rejects[i].raw; d.raw != nil && n >= 0 {
				if rejects[i].bad {
					r.Fields = im.raw.RawFields(d.raw.bad.row(n), nil)
				} else {
					r.Fields = im.raw.RawFields(d.raw.rows.row(n), &d.rows[n].cdr)
				}
			}
			if err := im.opts.OnReject(r); err != nil {
				return err
			}
		}
		if len(im.rep.Rejects) < callbill.MaxReportedRejects {
			r.Fields = nil
			im.rep.Rejects = append(im.rep.Rejects, r)
		}
	}
	if d.raw != nil {
		select {
		case im.free <- d.raw:
		default:
		}
	}
	if im.freeRows != nil && d.rows != nil {
		// Merged: nothing holds the rows any more. Reusing them spares
		// allocating and faulting in a fresh batch's 5 MB each time;
		// cleared, so that a spare does not keep the old rows' strings.
		clear(d.rows)
		select {
		case im.freeRows <- d.rows[:0]:
		default:
		}
	}
	return nil
}
