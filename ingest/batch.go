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
	bad  []callbill.Reject
	read int64
	err  error
}

type pending struct {
	cdr callbill.CDR
	pos callbill.Pos
}

// decodeBatches reads src into batches until EOF, an error, or stop.
func decodeBatches(src callbill.CDRSource, size int, out chan<- decoded, stop <-chan struct{}) {
	defer close(out)
	for {
		d := decoded{rows: make([]pending, 0, size)}
		eof := false
		for len(d.rows) < size {
			c, pos, err := src.Next()
			if err == io.EOF {
				eof = true
				break
			}
			d.read++
			var bad *callbill.Reject
			if errors.As(err, &bad) {
				d.bad = append(d.bad, *bad)
				continue
			}
			if err != nil {
				d.err = err
				eof = true
				break
			}
			d.rows = append(d.rows, pending{c, pos})
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
}

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
	rejects                                   []callbill.Reject
	dupByFile                                 map[int]int64 // duplicates per input file (a Group's requests)
}

func (w *work) reject(pos callbill.Pos, reason string, conflict bool) {
	w.rep.rejected++
	if conflict {
		w.rep.conflicts++
	}
	w.rep.rejects = append(w.rep.rejects, callbill.Reject{Pos: pos, Reason: reason, Conflict: conflict})
}

// dupOrConflict counts a call met again: a duplicate when it says the same,
// else a conflict, and the first stays.
func (w *work) dupOrConflict(pos callbill.Pos, first, again *callbill.CDR) {
	if first.SameContent(again) {
		w.rep.duplicates++
		if w.rep.dupByFile == nil {
			w.rep.dupByFile = map[int]int64{}
		}
		w.rep.dupByFile[pos.File]++
		return
	}
	w.reject(pos, fmt.Sprintf("conflict: contact %s on instance %s was imported before with different content; the first stays",
		again.ContactID, again.InstanceID), true)
}

// merge records a batch that is done: its counts, and its rejects — the
// decoder's (bad) and the later stages' together, in input order, so that
// OnReject sees every reject of the import in order and the report keeps the
// first MaxReportedRejects.
func (im *importer) merge(bad []callbill.Reject, b *batchReport) error {
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
	for _, r := range rejects {
		if im.opts.OnReject != nil {
			if err := im.opts.OnReject(r); err != nil {
				return err
			}
		}
		if len(im.rep.Rejects) < callbill.MaxReportedRejects {
			im.rep.Rejects = append(im.rep.Rejects, r)
		}
	}
	return nil
}
