package ingest_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/cdr"
	"github.com/callbill/callbill/ingest"
)

// once is an input that may be read to its end once: a read after it said
// io.EOF fails the test.
type once struct {
	t   *testing.T
	r   io.Reader
	eof bool
}

func (o *once) Read(p []byte) (int, error) {
	if o.eof {
		o.t.Errorf("input read again after its end")
		return 0, errors.New("read again")
	}
	n, err := o.r.Read(p)
	if err == io.EOF {
		o.eof = true
	}
	return n, err
}

// chain is the CLI's way of importing several inputs: their decoders one
// after the other, as one callbill.RawSource.
type chain struct {
	decs    []cdr.Decoder
	cur     int
	src     callbill.RawSource
	headers [][]string
}

func (c *chain) Next() (callbill.CDR, callbill.Pos, error) {
	for c.cur < len(c.decs) {
		if c.src == nil {
			c.src = cdr.Source(c.decs[c.cur], c.cur)
		}
		cdr, pos, err := c.src.Next()
		if err != io.EOF {
			return cdr, pos, err
		}
		c.src = nil
		c.cur++
	}
	return callbill.CDR{}, callbill.Pos{}, io.EOF
}

func (c *chain) AppendRaw(dst []byte, cdr *callbill.CDR) []byte { return c.src.AppendRaw(dst, cdr) }
func (c *chain) RawFields(raw []byte, r *callbill.CDR) []string { return cdr.RawFields(raw, r) }

const (
	csvHeader = "contact_id,instance_id,direction,caller,callee,start_time,end_time"
	at        = "2026-10-08T10:00:00+08:00"
	at1       = "2026-10-08T10:01:00+08:00"
	at2       = "2026-10-08T10:02:00+08:00"
)

// rejectsInputs are three inputs whose rejects come from every stage: the
// decoder, screening, and conflicts met in the same batch, in an earlier
// batch, in an earlier file and in the store (c1 is stored before the
// import). want names the rejected lines of each input.
func rejectsInputs() (inputs []string, want [][]int) {
	jsonRec := func(id, instance, caller string, end int64) string {
		return fmt.Sprintf(`{"ContactId": "%s", "InstanceId": "%s", "ContactType": "Outbound", "CallingNumber": "%s", "CalledNumber": "13800000000", "StartTime": 1791424800000, "ReleaseTime": %d, "Extra": [1, 2]}`,
			id, instance, caller, end)
	}
	inputs = []string{
		csvHeader + "\n" +
			"c1,i-1,outbound," + numTP + ",13800000000," + at + "," + at1 + "\n" + // 2: stored before, same: a duplicate
			"c2,i-1,outbound," + numTP + ",13800000000," + at + "," + at1 + "\n" + // 3
			"c3,i-1,sideways," + numTP + ",13800000000," + at + "," + at1 + "\n" + // 4: the decoder's
			"c2,i-1,outbound," + numTP + ",13800000000," + at + "," + at2 + "\n" + // 5: conflict, an earlier batch
			"c4,i-1,outbound,02199999999,13800000000," + at + "," + at1 + "\n" + // 6: screening
			"c5,i-1,outbound," + numTP + ",13800000000," + at + "," + at1 + "\n" + // 7
			"c5,i-1,outbound," + numTP + ",13800000000," + at + "," + at2 + "\n", // 8: conflict, maybe the same batch
		jsonRec("c6", "i-1", numTP, 1791424860000) + "\n" + // 1
			`{"ContactId": oops}` + "\n" + // 2: the decoder's (not JSON)
			jsonRec("c1", "i-1", numTP, 1791424920000) + "\n" + // 3: conflict with the store
			"\n" +
			jsonRec("c7", "i-x", numTP, 1791424860000) + "\n" + // 5: screening (unknown instance)
			jsonRec("c2", "i-1", numTP, 1791424920000) + "\n", // 6: conflict, an earlier file
		"note,contact_id,instance_id,direction,caller,callee,start_time,end_time\n" +
			"\"a, quoted \"\"note\"\"\",c8,i-1,outbound," + numTP + ",13800000000," + at + "," + at1 + "\n" + // 2
			"x,c9,i-1,outbound," + numCCC + ",13800000000," + at + ",2026-10-08T09:00:00+08:00\n" + // 3: screening (negative)
			"x,c10,i-1,outbound\n" + // 4: the decoder's (too few fields)
			"\"multi\nline\",c8,i-1,outbound," + numTP + ",13800000000," + at + "," + at2 + "\n" + // 5: conflict, in batch or before
			"y,c11,i-1,outbound," + numTP + ",13800000000," + at + "," + at1 + "\n", // 7
	}
	return inputs, [][]int{{4, 5, 6, 8}, {2, 3, 5, 6}, {3, 4, 5}}
}

// inputRows splits an input into its rows by line, as the rejects file
// must repeat them: CSV fields, or a JSON record's compact JSON.
func inputRows(t *testing.T, in string) map[int][]string {
	rows := map[int][]string{}
	if strings.HasPrefix(in, "{") {
		for i, line := range strings.Split(in, "\n") {
			var b bytes.Buffer
			if json.Compact(&b, []byte(line)) != nil {
				b.Reset()
				b.WriteString(strings.TrimSpace(line))
			}
			rows[i+1] = []string{b.String()}
		}
		return rows
	}
	r := csv.NewReader(strings.NewReader(in))
	r.FieldsPerRecord = -1
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return rows
		}
		if err != nil {
			t.Fatal(err)
		}
		line, _ := r.FieldPos(0)
		rows[line] = rec
	}
}

// TestRejectsFilesHoldTheRowsAsRead: the rejects files, written from the
// rows as they stream, one per input that has rejects, hold each rejected
// row as read — whatever stage rejected it and whatever batch it was in —
// with its line and reason, in input order, each input read once.
func TestRejectsFilesHoldTheRowsAsRead(t *testing.T) {
	inputs, want := rejectsInputs()
	var first []byte
	for _, size := range []int{1, 2, 3, 0} {
		t.Run("batch"+strconv.Itoa(size), func(t *testing.T) {
			f := newFakeStore()
			if rep, _ := run(t, f, callbill.ImportOptions{}, call("c1", numTP, 0, 60)); rep.Imported != 1 {
				t.Fatalf("c1 first: %+v", rep)
			}
			dir := t.TempDir()
			src := &chain{}
			readers := make([]*once, len(inputs))
			for i, in := range inputs {
				readers[i] = &once{t: t, r: strings.NewReader(in)}
				d, err := cdr.NewDecoder(readers[i])
				if err != nil {
					t.Fatal(err)
				}
				src.decs = append(src.decs, d)
				src.headers = append(src.headers, d.RejectHeader())
			}
			path := func(file int) string { return filepath.Join(dir, strconv.Itoa(file)+".rejects.csv") }
			files := cdr.NewRejectsFiles(path, func(file int) []string { return src.headers[file] })
			defer files.Close()
			rep, err := (&ingest.Service{Store: f}).Import(context.Background(), ingest.Input{Source: src,
				ImportOptions: callbill.ImportOptions{BatchSize: size, OnReject: files.Add}})
			if err != nil {
				t.Fatal(err)
			}
			if got := counts(rep); got != [4]int64{5, 1, 11, 5} {
				t.Errorf("imported, duplicates, rejected, conflicts = %v, want [5 1 11 5]", got)
			}
			for _, r := range readers {
				if !r.eof {
					t.Errorf("an input was not read to its end")
				}
			}
			var all []byte
			reported := rep.Rejects
			for file, in := range inputs {
				written, err := files.Commit(file)
				if err != nil || !written {
					t.Fatalf("input %d: written %v, %v", file, written, err)
				}
				b, err := os.ReadFile(path(file))
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, b...)
				r := csv.NewReader(bytes.NewReader(b))
				r.FieldsPerRecord = -1
				got, err := r.ReadAll()
				if err != nil {
					t.Fatal(err)
				}
				header := src.headers[file]
				if !reflect.DeepEqual(got[0], header) {
					t.Errorf("input %d: header %q, want %q", file, got[0], header)
				}
				rows := inputRows(t, in)
				var lines []int
				for _, row := range got[1:] {
					n := len(row)
					line, _ := strconv.Atoi(row[n-2])
					lines = append(lines, line)
					fields := row[:n-2]
					if w := rows[line]; len(w) < len(header)-2 {
						fields = fields[:len(w)] // padded to the header
					}
					if !reflect.DeepEqual(fields, rows[line]) {
						t.Errorf("input %d line %d: rejects row %q, the input's %q", file, line, fields, rows[line])
					}
					if len(reported) == 0 || reported[0].Pos != (callbill.Pos{File: file, Line: line}) || reported[0].Reason != row[n-1] || reported[0].Fields != nil {
						t.Errorf("input %d line %d: reason %q, reported %+v", file, line, row[n-1], reported[:min(1, len(reported))])
					} else {
						reported = reported[1:]
					}
				}
				if !reflect.DeepEqual(lines, want[file]) {
					t.Errorf("input %d: rejected lines %v, want %v", file, lines, want[file])
				}
			}
			if first == nil {
				first = all
			} else if !bytes.Equal(all, first) {
				t.Errorf("batches of %d rows wrote other rejects files:\n%s\nthan batches of one:\n%s", size, all, first)
			}
		})
	}
}

// TestRejectsFilesOnlyForInputsWithRejects: an input without rejects gets
// no file, a failed import leaves none, and nothing stays in memory but the
// batch (a thousand bad rows in batches of ten).
func TestRejectsFilesOnlyForInputsWithRejects(t *testing.T) {
	good := csvHeader + "\nc1,i-1,outbound," + numTP + ",13800000000," + at + "," + at1 + "\n"
	var bad strings.Builder
	bad.WriteString(csvHeader + "\n")
	for i := range 1000 {
		fmt.Fprintf(&bad, "b%d,i-1,sideways,%s,13800000000,%s,%s\n", i, numTP, at, at1)
	}
	dir := t.TempDir()
	path := func(file int) string { return filepath.Join(dir, strconv.Itoa(file)+".rejects.csv") }
	for _, fail := range []bool{true, false} { // failing first, in an empty folder
		src := &chain{}
		for _, in := range []string{good, bad.String(), good} {
			d, err := cdr.NewDecoder(strings.NewReader(in))
			if err != nil {
				t.Fatal(err)
			}
			src.decs = append(src.decs, d)
			src.headers = append(src.headers, d.RejectHeader())
		}
		files := cdr.NewRejectsFiles(path, func(file int) []string { return src.headers[file] })
		n := 0
		onReject := func(r callbill.Reject) error {
			if n++; fail && n == 500 {
				return errors.New("disk full")
			}
			return files.Add(r)
		}
		rep, err := (&ingest.Service{Store: newFakeStore()}).Import(context.Background(), ingest.Input{Source: src,
			ImportOptions: callbill.ImportOptions{BatchSize: 10, OnReject: onReject}})
		if fail {
			files.Close()
			if err == nil || err.Error() != "disk full" {
				t.Fatalf("import with a failing OnReject: %v", err)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Fatalf("a failed import left %v", entries)
			}
			continue
		}
		if err != nil || rep.Rejected != 1000 || len(rep.Rejects) != 1000 {
			t.Fatalf("import: %v %+v", err, rep)
		}
		for file, want := range []bool{false, true, false} {
			written, err := files.Commit(file)
			if err != nil || written != want {
				t.Errorf("input %d: written %v (%v), want %v", file, written, err, want)
			}
		}
		files.Close()
		b, err := os.ReadFile(path(1))
		if err != nil {
			t.Fatal(err)
		}
		if lines := strings.Count(string(b), "\n"); lines != 1001 || !strings.HasSuffix(string(b), "b999,i-1,sideways,"+numTP+",13800000000,"+at+","+at1+",1001,\"direction \"\"sideways\"\" is not inbound or outbound\"\n") {
			t.Errorf("rejects file of %d lines, ending %q", lines, b[max(0, len(b)-120):])
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Errorf("files %v, want only 1.rejects.csv", entries)
		}
	}
}
