package worker_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/jobs"
	"github.com/callbill/callbill/provision"
	"github.com/callbill/callbill/sqlstore"
	"github.com/callbill/callbill/worker"
	"github.com/callbill/callbill/world"
)

// TestExportsExpireAfterSevenDays: an export's file is deleted 7 days after
// it finished and its record says expired; the record stays.
func TestExportsExpireAfterSevenDays(t *testing.T) {
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	w, ps := world.Parse([]byte("accounts: [{uid: \"1001\", name: a}]"))
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	if _, err := (&provision.Service{Store: s}).Apply(ctx, provision.ApplyInput{World: w}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	n := &worker.Node{Store: s, Name: "t", ExportDir: dir, Poll: 10 * time.Millisecond, NoAutoClose: true,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return now }}
	job, _, err := (jobs.Service{Store: s}).Enqueue(ctx, callbill.JobRequest{Kind: callbill.JobExport, Key: "e1", Account: "1001", Params: `{"account":"1001","cycle":"2026-10"}`})
	if err != nil {
		t.Fatal(err)
	}
	run := func() {
		c, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		n.Run(c)
		cancel()
	}
	run()
	j, _ := s.Job(ctx, job.ID)
	if j.Status != callbill.JobDone {
		t.Fatalf("export: %+v", j)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "usage-*"))
	if len(files) != 1 {
		t.Fatalf("files %v", files)
	}
	now = now.AddDate(0, 0, 6)
	run() // not yet
	if _, err := os.Stat(files[0]); err != nil {
		t.Fatalf("deleted after 6 days: %v", err)
	}
	now = now.AddDate(0, 0, 2)
	run()
	if _, err := os.Stat(files[0]); !os.IsNotExist(err) {
		t.Fatalf("still there after 8 days: %v", err)
	}
	if j, _ := s.Job(ctx, job.ID); j.Status != callbill.JobExpired {
		t.Fatalf("record: %+v", j)
	}
}
