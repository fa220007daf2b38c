package cdr_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/cdr"
)

// TestRejectLogWritesTheOriginalRows: the rejects file is written from the
// input read again beside the log: original fields, line, reason, in order;
// a logged line the input no longer has is still written (never lost).
func TestRejectLogWritesTheOriginalRows(t *testing.T) {
	input := "contact_id,instance_id,direction,caller,callee,start_time,end_time\n" +
		"c1,i,inbound,1,2,100,160\n" + // 2: imported
		"c2,i,sideways,1,2,100,160\n" + // 3: a decoder reject
		"c3,i,inbound,1,2,100,160\n" + // 4: rejected later (e.g. unknown number)
		"c4,i,inbound,1,2,100,160\n" // 5: imported
	log, err := cdr.NewRejectLog(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	for _, r := range []callbill.Reject{
		{Pos: callbill.Pos{File: 0, Line: 3}, Reason: "bad direction"},
		{Pos: callbill.Pos{File: 0, Line: 4}, Reason: "unknown service number \"2\""},
		{Pos: callbill.Pos{File: 1, Line: 2}, Reason: "another file"},
		{Pos: callbill.Pos{File: 0, Line: 9}, Reason: "a line the input lacks"},
	} {
		if err := log.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	if log.Count(0) != 3 || log.Count(1) != 1 || log.Count(2) != 0 {
		t.Fatalf("counts %d %d %d", log.Count(0), log.Count(1), log.Count(2))
	}
	var out bytes.Buffer
	n, err := log.WriteFile(0, strings.NewReader(input), &out)
	if err != nil {
		t.Fatal(err)
	}
	want := "contact_id,instance_id,direction,caller,callee,start_time,end_time,line,reason\n" +
		"c2,i,sideways,1,2,100,160,3,bad direction\n" +
		"c3,i,inbound,1,2,100,160,4,\"unknown service number \"\"2\"\"\"\n" +
		",,,,,,,9,a line the input lacks\n"
	if n != 3 || out.String() != want {
		t.Fatalf("wrote %d rows:\n%s\nwant:\n%s", n, out.String(), want)
	}
}
