package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/ccc"
	"github.com/callbill/callbill/cdr"
	"github.com/callbill/callbill/ingest"
	"github.com/callbill/callbill/sqlstore"
)

// listFlag is a flag that may be repeated, each value a comma list.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// timeFlag is an RFC 3339 time.
type timeFlag struct{ t time.Time }

func (f *timeFlag) String() string {
	if f.t.IsZero() {
		return ""
	}
	return f.t.Format(time.RFC3339)
}
func (f *timeFlag) Set(v string) error {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return fmt.Errorf("%q is not an RFC 3339 time such as 2026-12-01T00:00:00+08:00", v)
	}
	f.t = t
	return nil
}

// The access key comes from the environment, under the names of Alibaba
// Cloud's SDKs and CLI; a secret on the command line would be in ps and in
// the shell's history.
const (
	envAccessKeyID     = "ALIBABA_CLOUD_ACCESS_KEY_ID"
	envAccessKeySecret = "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
)

type pullOptions struct {
	endpoint, to, state string
	instances           listFlag
	since               timeFlag
	interval, lag       time.Duration
	overlap             time.Duration
	pageSize            int
	quiet               bool
}

func (a *app) pull(fs *flag.FlagSet) runner {
	var o pullOptions
	fs.StringVar(&o.endpoint, "endpoint", ccc.DefaultEndpoint, "`URL`: CCC's API, in the instances' region")
	fs.Var(&o.instances, "instance", "`ID`: a CCC instance to read; repeat the flag or give a comma list")
	fs.StringVar(&o.to, "to", "", "`URL`: a callbill server to post to (/api/v1/imports, with $CALLBILL_OPERATOR_KEY); without it, import into --db")
	fs.StringVar(&o.state, "state", "", "`FILE`: each instance's cursor, the end of the last window imported whole (required)")
	fs.Var(&o.since, "since", "`TIME`: where an instance without a cursor starts reading (RFC 3339)")
	fs.DurationVar(&o.interval, "interval", 0, "`DURATION`: the time between passes; 0 makes one pass and exits")
	fs.DurationVar(&o.lag, "lag", 5*time.Minute, "`DURATION`: read only calls that started at least this long ago (a call's record comes when it ends)")
	fs.DurationVar(&o.overlap, "overlap", time.Hour, "`DURATION`: read this much before the cursor again on every pass, for records CCC wrote late")
	fs.IntVar(&o.pageSize, "page-size", ccc.MaxPageSize, "`N`: records per page asked of CCC, 1–100")
	fs.BoolVar(&o.quiet, "q", false, "no line per window read; the pass summaries, rejects and errors only")
	return func(ctx context.Context, pos []string) error {
		if len(pos) > 0 {
			return usagef("pull takes no arguments (%q)", pos[0])
		}
		return a.runPull(ctx, o)
	}
}

func (a *app) runPull(ctx context.Context, o pullOptions) error {
	switch {
	case len(o.instances) == 0:
		return usagef("pull needs --instance ID (one or more)")
	case o.state == "":
		return usagef("pull needs --state FILE, where each instance's cursor is kept")
	case o.pageSize < 1 || o.pageSize > ccc.MaxPageSize:
		return usagef("--page-size %d outside 1–%d", o.pageSize, ccc.MaxPageSize)
	case o.interval < 0 || o.interval > ccc.MaxInterval:
		return usagef("--interval %s outside 0–%s", o.interval, ccc.MaxInterval)
	case o.interval > 0 && o.interval < time.Second:
		return usagef("--interval %s is shorter than a second", o.interval)
	case o.lag < 0 || o.lag > ccc.MaxLag:
		return usagef("--lag %s outside 0–%s", o.lag, ccc.MaxLag)
	case o.overlap < 0 || o.overlap > ccc.MaxOverlap:
		return usagef("--overlap %s outside 0–%s", o.overlap, ccc.MaxOverlap)
	}
	if err := ccc.CheckEndpoint(o.endpoint); err != nil {
		return usagef("--endpoint: %s", err)
	}
	instances := dedupe(o.instances)
	for _, id := range instances {
		if err := ccc.CheckInstance(id); err != nil {
			return usagef("--instance: %s", err)
		}
	}
	keyID := a.cfg.Pull.AccessKeyID.Value
	secret, err := a.cfg.ReadAccessKeySecret()
	if err != nil {
		return err
	}
	if keyID == "" || secret == "" {
		return callbill.Errorf(callbill.EINVALID, "pull signs its requests to CCC with an AccessKey: set pull.access_key_id and pull.access_key_secret_file "+
			"in the configuration, or %s and %s (a RAM user's key that may read the instances' call records)",
			envAccessKeyID, envAccessKeySecret)
	}
	st, err := ccc.LoadState(o.state)
	if err != nil {
		return err
	}
	var sink ccc.Sink
	if o.to != "" {
		hs, err := a.newHTTPSink(o.to)
		if err != nil {
			return err
		}
		sink = hs
	} else {
		s, err := a.open(ctx, sqlstore.Write)
		if err != nil {
			return err
		}
		defer s.Close()
		// As the server takes the call platform's posts: one warm rater for
		// every page.
		g := (&ingest.Service{Store: s}).NewGroup(0)
		defer g.Close()
		sink = &ingestSink{group: g}
	}
	p := &ccc.Puller{
		Client:  &ccc.Client{Endpoint: o.endpoint, AccessKeyID: keyID, AccessKeySecret: secret, PageSize: o.pageSize},
		Sink:    sink,
		Lag:     o.lag,
		Overlap: o.overlap,
		Since:   o.since.t,
		Save:    func(st *ccc.State) error { return st.Save(o.state) },
		Log:     func(line string) { fmt.Fprintln(a.stderr, line) },
		Quiet:   o.quiet,
	}
	if o.interval == 0 {
		rep, err := p.Pass(ctx, st, instances)
		if rep != nil {
			a.pullSummary(rep)
		}
		if err != nil {
			return err
		}
		if rep.Rejected > 0 {
			return exitCode(exitRejected)
		}
		return nil
	}
	// A loop runs under a service manager: SIGTERM stops it as Ctrl-C does.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first retry comes no later than the next pass would.
	err = p.Run(ctx, st, instances, o.interval, min(ccc.RetryBase, o.interval), a.pullSummary, func(err error) {
		fmt.Fprintf(a.stderr, "callbill pull: %s; trying again\n", errorText(err))
	})
	if err == nil {
		fmt.Fprintln(a.stderr, "pull stopped")
	}
	return err
}

// pullSummary is a pass's line on stderr.
func (a *app) pullSummary(rep *ccc.Report) {
	fmt.Fprintf(a.stderr, "pulled %d instance(s) up to %s: %d window(s), %d page(s), read %d, imported %d, duplicates %d, rejected %d (conflicts %d)\n",
		rep.Instances, rep.Until.UTC().Format("2006-01-02T15:04:05.000Z"), rep.Windows, rep.Pages, rep.Read, rep.Imported, rep.Duplicates, rep.Rejected, rep.Conflicts)
}

// dedupe keeps the first of each value, in order.
func dedupe(values []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range values {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// recordsJSON writes records as one JSON array, the form both the decoder
// and the API take.
func recordsJSON(records []json.RawMessage) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, r := range records {
		if i > 0 {
			b.WriteString(",\n")
		}
		b.Write(r)
	}
	b.WriteString("]\n")
	return b.Bytes()
}

// ingestSink imports pages into the database as callbill import does.
type ingestSink struct{ group *ingest.Group }

func (s *ingestSink) Import(ctx context.Context, records []json.RawMessage) (*ccc.Imported, error) {
	dec, err := cdr.NewDecoder(bytes.NewReader(recordsJSON(records)))
	if err != nil {
		return nil, err
	}
	rep, err := s.group.Import(ctx, ingest.Input{Source: cdr.Source(dec, 0)})
	if err != nil {
		return nil, err
	}
	out := &ccc.Imported{Imported: rep.Imported, Duplicates: rep.Duplicates, Rejected: rep.Rejected, Conflicts: rep.Conflicts}
	for _, r := range rep.Rejects {
		// A JSON array's records are numbered from 1.
		out.Rejects = append(out.Rejects, ccc.Rejected{Record: r.Pos.Line - 1, Reason: r.Reason})
	}
	return out, nil
}

// httpSink posts pages to a callbill server's POST /api/v1/imports.
type httpSink struct {
	url, key string
	client   *http.Client
}

// maxImportAnswer bounds the server's answer: its report lists at most
// 1,000 rejects.
const maxImportAnswer = 8 << 20

func (a *app) newHTTPSink(to string) (*httpSink, error) {
	u, err := url.Parse(to)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, usagef("--to %q is not the http(s) URL of a callbill server, such as https://billing.example.com", to)
	}
	// The server's operator key, from where serve takes it: the
	// configuration's operator_key(_file) or $CALLBILL_OPERATOR_KEY(_FILE).
	key, err := a.cfg.ReadOperatorKey()
	if err != nil {
		return nil, err
	}
	if key == "" {
		return nil, callbill.Errorf(callbill.EINVALID, "pull --to posts with the server's operator key: set operator_key_file in the configuration, or $CALLBILL_OPERATOR_KEY")
	}
	// A large import is answered after its commit (docs/operations.md).
	return &httpSink{url: strings.TrimRight(to, "/") + "/api/v1/imports", key: key, client: &http.Client{Timeout: 10 * time.Minute}}, nil
}

func (s *httpSink) Import(ctx context.Context, records []json.RawMessage) (*ccc.Imported, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(recordsJSON(records)))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.key)
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxImportAnswer+1))
	if err != nil {
		return nil, fmt.Errorf("reading the answer of %s: %w", s.url, err)
	}
	if len(body) > maxImportAnswer {
		return nil, fmt.Errorf("the answer of %s is larger than %d bytes", s.url, maxImportAnswer)
	}
	if resp.StatusCode != http.StatusOK {
		var p struct{ Detail, Code string }
		if json.Unmarshal(body, &p) == nil && p.Detail != "" {
			return nil, fmt.Errorf("%s answered %s: %s (%s)", s.url, resp.Status, p.Detail, p.Code)
		}
		return nil, fmt.Errorf("%s answered %s", s.url, resp.Status)
	}
	var rep struct {
		Imported, Duplicates, Rejected, Conflicts *int64
		Rejects                                   []struct {
			Line   int
			Reason string
		}
		RejectsFile string `json:"rejects_file"`
	}
	if err := json.Unmarshal(body, &rep); err != nil || rep.Imported == nil || rep.Duplicates == nil || rep.Rejected == nil || rep.Conflicts == nil {
		return nil, fmt.Errorf("%s answered 200 without an import report; is it a callbill server?", s.url)
	}
	out := &ccc.Imported{Imported: *rep.Imported, Duplicates: *rep.Duplicates, Rejected: *rep.Rejected, Conflicts: *rep.Conflicts,
		RejectsFile: rep.RejectsFile}
	for _, r := range rep.Rejects {
		out.Rejects = append(out.Rejects, ccc.Rejected{Record: r.Line - 1, Reason: r.Reason})
	}
	return out, nil
}
